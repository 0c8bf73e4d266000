"""The tamper-evident history: every event is chained to the one before it, and verification names the first
event that was altered, deleted or inserted behind the app's back (on SQLite and on PostgreSQL, where the
database also refuses to change or remove events itself).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from conftest import make_company
from engine import audit
from engine.errors import Conflict
from engine.records import Event, InboxTask, Instance
from engine.runtime import Step
from test_migrations import empty_database_url  # noqa: F401 - a fixture
from test_numbering import engine_at, register_complaint

VALID = {"valid": True, "validity_note": "产品确有结块，批次 E-51/0311"}


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


def verify(database, **scope) -> list[audit.ChainReport]:
    with database.session() as s:
        return audit.verify(s, **scope)


def verdict(database, instance_id: int) -> tuple[int | None, str | None]:
    """(first seq that does not match, what happened there) for one instance; (None, None) when intact."""
    [report] = verify(database, instance_id=instance_id)
    return report.broken_at, report.problem


def event_count(database, instance_id: int) -> int:
    with database.session() as s:
        return s.get(Instance, instance_id).event_count


def tamper(database, statement: str | sa.Executable, **params) -> None:
    """Change the events table behind the app's back; on PostgreSQL past its trigger (the test user is superuser)."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text(statement) if isinstance(statement, str) else statement, params)


def test_a_complaints_history_verifies_intact(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with database.session() as s:
        events = s.scalars(sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)).all()
        head = s.get(Instance, instance_id).event_head
    assert len(events) >= 5
    assert [e.prev_hash for e in events] == [None, *(e.hash for e in events[:-1])]
    assert head == events[-1].hash
    [report] = verify(database)
    assert report.intact and (report.instance_id, report.events) == (instance_id, len(events))


def test_hashes_match_what_is_read_back_for_a_local_clock_with_microseconds(database, engine, acme, complaint_data):
    shanghai = engine_at(engine, datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai")))
    instance_id = case_with_history(database, shanghai, acme, complaint_data)
    assert verdict(database, instance_id) == (None, None)


@pytest.mark.parametrize("change", ["data = '{\"submitted\": {\"valid\": false}}'", "actor_id = NULL",
                                    "type = 'forged'", "element_id = 'approve_manager'"])
def test_an_event_altered_in_the_database_is_reported_at_its_seq(database, engine, acme, complaint_data, change):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    tamper(database, f"UPDATE events SET {change} WHERE instance_id = :i AND seq = 3", i=instance_id)
    [report] = verify(database, instance_id=instance_id)
    assert (report.broken_at, report.problem, report.events) == (3, "altered", 2)


def test_a_replaced_event_with_a_recomputed_hash_breaks_the_link_to_the_next(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with database.session() as s:
        row = dict(s.execute(sa.select(Event.__table__).where(Event.instance_id == instance_id, Event.seq == 2))
                   .one()._mapping)
    row["data"] = {"note": "forged"}
    forged = audit.event_hash(row["prev_hash"], row)
    tamper(database, Event.__table__.update().where(Event.id == row["id"]).values(data=row["data"], hash=forged))
    assert verdict(database, instance_id) == (3, "inserted")


def test_a_deleted_event_is_reported_as_missing(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = 2", i=instance_id)
    assert verdict(database, instance_id) == (2, "deleted")


def test_deleting_the_newest_event_is_reported_as_truncated(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    last = event_count(database, instance_id)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = :s", i=instance_id, s=last)
    assert verdict(database, instance_id) == (last, "truncated")


def test_an_inserted_event_is_reported_even_when_correctly_linked(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        row = {"company_id": acme.id, "instance_id": instance_id, "seq": instance.event_count + 1,
               "type": "task_completed", "actor_id": acme.users["manager"].id, "element_id": "approve_manager",
               "task_id": None, "at": instance.updated_at, "data": {"submitted": {"approved": True}}}
        audit.chain(instance.event_head, [row])
    with database.engine.begin() as connection:  # INSERT is what an append-only table allows
        connection.execute(Event.__table__.insert(), row)
    assert verdict(database, instance_id) == (row["seq"], "inserted")


def test_verification_is_per_case_and_scoped_to_a_company(database, engine, acme, rival, complaint_data):
    tampered = case_with_history(database, engine, acme, complaint_data)
    untouched = case_with_history(database, engine, acme, complaint_data)
    other = case_with_history(database, engine, rival, complaint_data)
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq = 1", i=tampered)
    assert {r.instance_id: r.problem for r in verify(database)} == {tampered: "deleted", untouched: None,
                                                                     other: None}
    assert [(r.instance_id, r.intact) for r in verify(database, company_id=rival.id)] == [(other, True)]


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
    assert verdict(database, instance_id) == (None, None)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'forged'", "DELETE FROM events", "TRUNCATE events"])
def test_postgresql_refuses_to_change_or_remove_events(database, engine, acme, complaint_data, statement):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    instance_id = case_with_history(database, engine, acme, complaint_data)
    with pytest.raises(sa.exc.DBAPIError, match="events are append-only"):
        with database.engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert verdict(database, instance_id) == (None, None)


def test_upgrading_a_database_chains_the_events_it_already_has(empty_database_url, complaint_data):  # noqa: F811
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database_url, "SECRET_KEY": "x"})
    database = app.extensions["kesu.db"]
    with app.app_context():
        upgrade()
        company = make_company(database, "Legacy 化工", "legacy.test")
        instance_id = case_with_history(database, app.extensions["kesu.engine"], company, complaint_data)
        downgrade(revision="0002")  # back to events without hashes
        upgrade()
    [report] = verify(database)
    expected = (instance_id, True, event_count(database, instance_id))
    database.dispose()
    assert (report.instance_id, report.intact, report.events) == expected
