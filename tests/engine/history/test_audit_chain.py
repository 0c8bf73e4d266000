"""The tamper-evident history: every event is sealed with the audit key and chained to the one before it, and
the worker anchors each case's head outside the database. Verification names the first event that was altered,
deleted or inserted behind the app's back, and the events removed since the anchored checkpoint, even by
someone who can write the database and recompute every seal without the key (on SQLite and on PostgreSQL,
where the database also refuses to change or remove events itself).
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from conftest import AUDIT_KEY, make_company, tamper
from db import utcnow
from engine.errors import Conflict
from engine.history.audit import Auditor, ChainReport
from engine.history.sealing import Sealer
from engine.records import Event, InboxTask, Instance
from engine.runtime.steps import Engine, Step
from test_migrations import empty_database_url  # a fixture
from test_numbering import engine_at, register_complaint

VALID = {"valid": True, "validity_note": "产品确有结块，批次 E-51/0311"}
OTHER_KEY = bytes.fromhex("0f" * 32)


def case_with_history(database, engine, company, complaint_data) -> int:
    """A registered complaint whose first task was claimed and completed: four steps, several events."""
    instance_id = register_complaint(database, engine, company, complaint_data).instance_id
    service = company.actor("service")
    with database.session() as s:
        task_id = s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == instance_id))
        engine.claim(s, task_id, service)
    with database.session() as s:
        engine.release(s, task_id, service)
    with database.session() as s:
        engine.complete(s, task_id, service, VALID)
    return instance_id


def verify(database, auditor: Auditor, **scope) -> list[ChainReport]:
    with database.session() as s:
        return auditor.verify(s, **scope)


def verdict(database, auditor: Auditor, instance_id: int) -> tuple[int | None, str | None]:
    """(first seq that does not match, what happened there) for one instance; (None, None) when intact."""
    [report] = verify(database, auditor, instance_id=instance_id)
    return report.broken_at, report.problem


def event_count(database, instance_id: int) -> int:
    with database.session() as s:
        return s.get(Instance, instance_id).event_count


def events_of(database, instance_id: int) -> list[dict]:
    with database.session() as s:
        return [dict(row._mapping) for row in s.execute(
            sa.select(Event.__table__).where(Event.instance_id == instance_id).order_by(Event.seq))]


def checkpoint(database, engine) -> int:
    return engine.auditor.checkpoint(database.sessionmaker, utcnow())


def cut_back(database, instance_id: int, keep: int) -> None:
    """Delete a case's events after `keep` and move its count and head back to the last one kept, as someone
    with write access to the database would to make the history look shorter."""
    head = events_of(database, instance_id)[keep - 1]["hash"]
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq > :keep",
           "UPDATE instances SET event_count = :keep, event_head = :head WHERE id = :i",
           i=instance_id, keep=keep, head=head)


def test_a_complaints_history_verifies_intact(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    events = events_of(database, instance_id)
    with database.session() as s:
        head = s.get(Instance, instance_id).event_head
    assert len(events) >= 5
    assert [e["prev_hash"] for e in events] == [None, *(e["hash"] for e in events[:-1])]
    assert head == events[-1]["hash"]
    [report] = verify(database, engine.auditor)
    assert report.intact and (report.instance_id, report.events) == (instance_id, len(events))


def test_seals_match_what_is_read_back_for_a_local_clock_with_microseconds(database, engine, acme, complaint_data):
    shanghai = engine_at(engine, datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai")))
    instance_id = case_with_history(database, shanghai, acme, complaint_data)
    assert verdict(database, engine.auditor, instance_id) == (None, None)


def test_events_are_sealed_with_the_audit_key_not_a_plain_hash(database, engine, acme, complaint_data):
    [first, *_] = events_of(database, case_with_history(database, engine, acme, complaint_data))
    assert first["hash"] == Sealer([bytes.fromhex(AUDIT_KEY)]).mac(None, first)
    assert first["hash"] not in (hashlib.sha256(unkeyed(None, first)).hexdigest(), Sealer([OTHER_KEY]).mac(None, first))


@pytest.mark.parametrize("change", ["data = '{\"submitted\": {\"valid\": false}}'", "actor_id = NULL",
                                    "type = 'forged'", "element_id = 'approve_manager'"])
def test_an_event_altered_in_the_database_is_reported_at_its_seq(database, engine, acme, complaint_data, change):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    tamper(database, f"UPDATE events SET {change} WHERE instance_id = :i AND seq = 3", i=instance_id)
    [report] = verify(database, engine.auditor, instance_id=instance_id)
    assert (report.broken_at, report.problem, report.events) == (3, "altered", 2)


def unkeyed(prev_hash: str | None, event: dict) -> bytes:
    """The canonical content the unkeyed SHA-256 chain hashed (before migration 0008), written out here."""
    content = {name: event[name] for name in ("company_id", "instance_id", "seq", "type", "actor_id",
                                               "element_id", "task_id", "data")}
    content["at"] = event["at"].astimezone(UTC).isoformat(timespec="microseconds")
    content["prev_hash"] = prev_hash
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


FORMULAS = {"plain SHA-256": lambda prev, event: hashlib.sha256(unkeyed(prev, event)).hexdigest(),
            "a wrong key": Sealer([OTHER_KEY]).mac}


def reseal_all(database, instance_id: int, seal, first_changed: dict | None = None) -> None:
    """Recompute every seal of a case and its head with `seal`, after changing event 3's data if asked."""
    events, head = events_of(database, instance_id), None
    for event in events:
        if first_changed and event["seq"] == 3:
            event["data"] = first_changed
        event["prev_hash"], event["hash"] = head, seal(head, event)
        head = event["hash"]
    tamper(database, *(Event.__table__.update().where(Event.id == e["id"])
                       .values(data=e["data"], prev_hash=e["prev_hash"], hash=e["hash"]) for e in events),
           sa.update(Instance).where(Instance.id == instance_id).values(event_head=head))


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_history_rewritten_and_resealed_without_the_key_is_reported(database, engine, acme, complaint_data,
                                                                      formula):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    reseal_all(database, instance_id, FORMULAS[formula], first_changed={"submitted": {"valid": False}})
    assert verdict(database, engine.auditor, instance_id) == (1, "altered")  # not one seal is ours any more


def test_an_event_resealed_with_the_key_still_breaks_the_link_to_the_next(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    row = events_of(database, instance_id)[1]
    row["data"] = {"note": "forged"}
    forged = engine.auditor.sealer.mac(row["prev_hash"], row)
    tamper(database, Event.__table__.update().where(Event.id == row["id"]).values(data=row["data"], hash=forged))
    assert verdict(database, engine.auditor, instance_id) == (3, "inserted")


def test_a_deleted_middle_event_is_reported_as_deleted(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = 2", i=instance_id)
    assert verdict(database, engine.auditor, instance_id) == (2, "deleted")


def test_deleting_the_newest_event_is_reported_as_truncated(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    last = event_count(database, instance_id)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = :s", i=instance_id, s=last)
    assert verdict(database, engine.auditor, instance_id) == (last, "truncated")


def test_an_inserted_event_is_reported_even_when_correctly_linked(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        row = {"company_id": acme.id, "instance_id": instance_id, "seq": instance.event_count + 1,
               "type": "task_completed", "actor_id": acme.users["manager"].id, "element_id": "approve_manager",
               "task_id": None, "at": instance.updated_at, "data": {"submitted": {"approved": True}}}
        engine.auditor.sealer.chain(instance.event_head, [row])
    with database.engine.begin() as connection:  # INSERT is what an append-only table allows
        connection.execute(Event.__table__.insert(), row)
    assert verdict(database, engine.auditor, instance_id) == (row["seq"], "inserted")


def test_two_cases_swapping_their_events_and_heads_are_both_reported(database, engine, acme, complaint_data):
    first = case_with_history(database, engine, acme, complaint_data)
    second = case_with_history(database, engine, acme, complaint_data)
    tamper(database,
           "UPDATE events SET instance_id = CASE WHEN instance_id = :a THEN :b ELSE :a END, seq = seq + 1000 "
           "WHERE instance_id IN (:a, :b)",
           "UPDATE events SET seq = seq - 1000 WHERE seq > 1000",
           "UPDATE instances SET event_head = CASE WHEN id = :a THEN :head_b ELSE :head_a END, "
           "event_count = CASE WHEN id = :a THEN :count_b ELSE :count_a END WHERE id IN (:a, :b)",
           a=first, b=second, head_a=events_of(database, first)[-1]["hash"],
           head_b=events_of(database, second)[-1]["hash"], count_a=event_count(database, first),
           count_b=event_count(database, second))
    assert [(r.instance_id, r.broken_at, r.problem) for r in verify(database, engine.auditor)] == [
        (first, 1, "altered"), (second, 1, "altered")]  # each seal names the case it was made for


def test_verification_is_per_case_and_scoped_to_a_company(database, engine, acme, rival, complaint_data):
    tampered = case_with_history(database, engine, acme, complaint_data)
    untouched = case_with_history(database, engine, acme, complaint_data)
    other = case_with_history(database, engine, rival, complaint_data)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = 1", i=tampered)
    assert {r.instance_id: r.problem for r in verify(database, engine.auditor)} == {
        tampered: "deleted", untouched: None, other: None}
    assert [(r.instance_id, r.intact) for r in verify(database, engine.auditor, company_id=rival.id)] == [(other, True)]


# -- the anchor ----------------------------------------------------------------------------------------------

def test_deleting_the_newest_events_and_moving_the_head_back_is_caught_by_the_anchor(database, engine, acme,
                                                                                     complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    events = event_count(database, instance_id)
    assert checkpoint(database, engine) == 1
    cut_back(database, instance_id, keep=events - 2)
    [report] = verify(database, engine.auditor, instance_id=instance_id)
    assert (report.broken_at, report.problem, report.events) == (events - 1, "truncated", events - 2)
    assert report.anchored.events == events


def test_a_cut_before_the_first_checkpoint_goes_unseen(database, engine, acme, complaint_data):
    """The limit of the anchor: what happened since the last checkpoint (a minute by default) is not anchored."""
    instance_id = case_with_history(database, engine, acme, complaint_data)
    cut_back(database, instance_id, keep=event_count(database, instance_id) - 2)
    assert verdict(database, engine.auditor, instance_id) == (None, None)


def test_a_history_cut_back_and_continued_is_reported_and_not_anchored_again(database, engine, acme,
                                                                             complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    anchored = event_count(database, instance_id)
    checkpoint(database, engine)
    cut_back(database, instance_id, keep=anchored - 1)
    with database.session() as s:  # the case goes on: a note sealed with the key, numbered as the removed event
        engine.note(s, s.get(Instance, instance_id), "note", None, utcnow(), text="after the cut")
        engine.note(s, s.get(Instance, instance_id), "note", None, utcnow(), text="and another")
    assert verdict(database, engine.auditor, instance_id) == (anchored, "replaced")
    assert checkpoint(database, engine) == 0  # the evidence stays: the cut history is not anchored
    assert verdict(database, engine.auditor, instance_id) == (anchored, "replaced")


def test_a_case_deleted_from_the_database_is_reported_missing_with_what_was_anchored(database, engine, acme,
                                                                                      complaint_data):
    gone = case_with_history(database, engine, acme, complaint_data)
    kept = case_with_history(database, engine, acme, complaint_data)
    events, key = event_count(database, gone), register_key(database, gone)
    checkpoint(database, engine)
    tamper(database, *(f"DELETE FROM {table} WHERE instance_id = :i" for table in ("complaints", "case_views",
                                                                                    "inbox_tasks", "events")),
           "DELETE FROM instances WHERE id = :i", i=gone)
    reports = verify(database, engine.auditor, company_id=acme.id)
    assert [(r.instance_id, r.business_key, r.problem, r.anchored and r.anchored.events) for r in reports] == [
        (gone, key, "missing", events), (kept, register_key(database, kept), None, None)]
    assert verify(database, engine.auditor, company_id=acme.id + 1000) == []  # another company's scope does not see it


def register_key(database, instance_id: int) -> str:
    with database.session() as s:
        return s.get(Instance, instance_id).business_key


def test_only_cases_whose_head_moved_are_anchored_again(database, engine, acme, complaint_data):
    first = case_with_history(database, engine, acme, complaint_data)
    case_with_history(database, engine, acme, complaint_data)
    assert checkpoint(database, engine) == 2
    assert checkpoint(database, engine) == 0
    with database.session() as s:
        engine.note(s, s.get(Instance, first), "note", None, utcnow(), text="moved on")
    assert checkpoint(database, engine) == 1
    assert [r.intact for r in verify(database, engine.auditor)] == [True, True]


# -- keys --------------------------------------------------------------------------------------------------------

def test_a_retired_key_listed_after_the_new_one_still_verifies_what_it_sealed(database, engine, acme,
                                                                             complaint_data, tmp_path):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    checkpoint(database, engine)
    anchor = engine.auditor.anchor.path
    rotated = Auditor([bytes.fromhex("ab" * 32), bytes.fromhex(AUDIT_KEY)], anchor)
    with database.session() as s:  # the new key seals from now on
        Engine(rotated).note(s, s.get(Instance, instance_id), "note", None, utcnow(), text="after the rotation")
    rotated.checkpoint(database.sessionmaker, utcnow())
    with database.session() as s:
        assert rotated.verify(s)[0].intact and rotated.anchor_problems(s) == []
    forgotten = Auditor([bytes.fromhex("ab" * 32)], anchor)
    assert verdict(database, forgotten, instance_id) == (1, "altered")


# -- the database's own guard and the chain head's lock ---------------------------------------------------------

def noted(engine, session, instance: Instance, actor) -> Step:
    """A step with one event, not yet saved."""
    step = Step(engine, session, instance, actor)
    step.record("note", text="checked")
    return step


def test_a_stale_step_cannot_extend_the_chain_from_an_old_head(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    admin = acme.actor("admin")
    stale_session = database.sessionmaker()
    stale = stale_session.get(Instance, instance_id)
    stale_session.commit()  # keeps the loaded row (and the head it read) but holds no lock
    with database.session() as s:
        noted(engine, s, s.get(Instance, instance_id), admin).save()
    with pytest.raises(Conflict):
        noted(engine, stale_session, stale, admin).save()
    stale_session.close()
    assert verdict(database, engine.auditor, instance_id) == (None, None)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'forged'", "DELETE FROM events", "TRUNCATE events"])
def test_postgresql_refuses_to_change_or_remove_events(database, engine, acme, complaint_data, statement):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with pytest.raises(sa.exc.DBAPIError, match="events are append-only"), database.engine.begin() as connection:
        connection.execute(sa.text(statement))
    assert verdict(database, engine.auditor, instance_id) == (None, None)


# -- migrations --------------------------------------------------------------------------------------------------

def migrated_app(url: str, tmp_path):
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "AUDIT_KEY": AUDIT_KEY,
                       "AUDIT_ANCHOR": str(tmp_path / "audit-anchor.jsonl")})


def test_upgrading_a_database_chains_the_events_it_already_has(empty_database_url, complaint_data,
                                                               tmp_path):
    app = migrated_app(empty_database_url, tmp_path)
    database, engine = app.extensions["kesu.db"], app.extensions["kesu.engine"]
    with app.app_context():
        upgrade()
        company = make_company(database, "Legacy 化工", "legacy.test")
        instance_id = case_with_history(database, engine, company, complaint_data)
        downgrade(revision="0002")  # back to events without hashes
        upgrade()
    [report] = verify(database, engine.auditor)
    expected = (instance_id, True, event_count(database, instance_id))
    database.dispose()
    assert (report.instance_id, report.intact, report.events) == expected


def write_unkeyed_history(database, instance_id: int) -> None:
    """Seal a case's events as Kesu did before the key: SHA-256 over the content and the previous hash."""
    reseal_all(database, instance_id, FORMULAS["plain SHA-256"])


def test_upgrading_reseals_an_unkeyed_history_with_the_key_and_keeps_a_broken_one_broken(
        empty_database_url, complaint_data, tmp_path):
    app = migrated_app(empty_database_url, tmp_path)
    database, engine = app.extensions["kesu.db"], app.extensions["kesu.engine"]
    with app.app_context():
        upgrade()
        company = make_company(database, "Legacy 化工", "legacy.test")
        intact, broken = (case_with_history(database, engine, company, complaint_data) for _ in range(2))
        downgrade(revision="0006")
        for case in (intact, broken):
            write_unkeyed_history(database, case)
        tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = 3", i=broken)
        upgrade()
    reports = verify(database, engine.auditor)
    keyed = [e["hash"] == engine.auditor.sealer.mac(e["prev_hash"], e) for e in events_of(database, broken)]
    refused = _update_refused(database)
    database.dispose()
    assert [(r.instance_id, r.intact, r.broken_at, r.problem) for r in reports] == [
        (intact, True, None, None), (broken, False, 3, "deleted")]  # the same event as before the upgrade
    assert keyed[:2] == [True, True] and not any(keyed[2:])  # re-sealed up to the break, the rest as it was
    assert refused


def _update_refused(database) -> bool:
    """Whether the database still refuses to change events after the migration (PostgreSQL's trigger is back)."""
    if database.engine.dialect.name != "postgresql":
        return True
    try:
        with database.engine.begin() as connection:
            connection.execute(sa.text("UPDATE events SET type = 'forged'"))
    except sa.exc.DBAPIError:
        return True
    return False

