"""The admin CLI (`flask --app app kesu ...`): companies, users with groups, and the idempotent demo loader."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts.models import Company, Group, User
from complaints import sla
from complaints.models import Complaint
from complaints.registration import register
from complaints.sla import SlaClock
from conftest import AUDIT_KEY, ROOT, count, tamper
from db import Database
from demo import DECISION_TABLES, SHIPPED, SLA_POLICIES
from engine.history.rerun import rerun
from engine.records import DecisionVersion, Event, Instance, ProcessVersion

PASSWORD = "cli-password-2026"


@pytest.fixture()
def kesu(app, database):
    """Run `flask --app app kesu ARGS...` against the test database."""
    runner = app.test_cli_runner()

    def run(*args: str):
        with app.app_context():  # `flask --app app` pushes one (FlaskGroup); app.cli alone does not
            return runner.invoke(args=["kesu", *args])
    return run


def create_user(kesu, email: str, *extra: str, company: str = "Neu 化工"):
    return kesu("user", "create", "--company", company, "--email", email, "--password", PASSWORD, *extra)


def user_row(database, email: str) -> tuple[str, str, list[str]]:
    """(company name, role, group names) of a user."""
    with database.session() as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        return user.company.name, user.role, sorted(user.group_names)


def test_company_create_adds_a_company(database, kesu):
    result = kesu("company", "create", "Neu 化工")
    assert result.exit_code == 0, result.output
    assert "Neu 化工" in result.output
    with database.session() as s:
        assert s.scalars(sa.select(Company.name)).all() == ["Neu 化工"]


def test_duplicate_company_is_refused_with_a_clear_error(database, kesu):
    kesu("company", "create", "Neu 化工")
    result = kesu("company", "create", "Neu 化工")
    assert result.exit_code != 0
    assert "already exists" in result.output and "Neu 化工" in result.output
    assert count(database, Company) == 1


def test_user_create_adds_a_user_with_role_and_groups_creating_missing_groups(database, kesu, browser):
    kesu("company", "create", "Neu 化工")
    result = create_user(kesu, "Lead@Neu.test", "--role", "employee", "--group", "Quality", "--group", "Management")
    assert result.exit_code == 0, result.output
    assert user_row(database, "lead@neu.test") == ("Neu 化工", "employee", ["Management", "Quality"])
    assert browser.login("lead@neu.test", PASSWORD).status_code == 302


def test_user_create_reuses_an_existing_group(database, kesu):
    kesu("company", "create", "Neu 化工")
    create_user(kesu, "a@neu.test", "--role", "employee", "--group", "Quality")
    result = create_user(kesu, "b@neu.test", "--role", "employee", "--group", "Quality")
    assert result.exit_code == 0, result.output
    with database.session() as s:
        assert s.scalars(sa.select(Group.name)).all() == ["Quality"]
    assert user_row(database, "b@neu.test")[2] == ["Quality"]


def test_same_group_name_in_two_companies_is_two_groups(database, kesu):
    for name in ("Neu 化工", "Alt 电气"):
        kesu("company", "create", name)
        assert create_user(kesu, f"q@{name[:3].lower()}.test", "--role", "employee", "--group", "Quality",
                           company=name).exit_code == 0
    assert count(database, Group) == 2


def test_duplicate_email_is_refused_with_a_clear_error(database, kesu):
    kesu("company", "create", "Neu 化工")
    create_user(kesu, "a@neu.test", "--role", "employee")
    result = create_user(kesu, "A@neu.test", "--role", "admin")
    assert result.exit_code != 0
    assert "already exists" in result.output and "a@neu.test" in result.output
    assert user_row(database, "a@neu.test")[1] == "employee"


def test_unknown_company_is_refused_with_a_clear_error(database, kesu):
    result = create_user(kesu, "a@nowhere.test", "--role", "employee", company="Nowhere Ltd")
    assert result.exit_code != 0
    assert "no company called 'Nowhere Ltd'" in result.output
    assert count(database, User) == 0


def test_unknown_role_is_refused(database, kesu):
    kesu("company", "create", "Neu 化工")
    result = create_user(kesu, "a@neu.test", "--role", "superuser")
    assert result.exit_code != 0
    assert "superuser" in result.output
    assert count(database, User) == 0


def test_short_password_is_refused(database, kesu):
    kesu("company", "create", "Neu 化工")
    result = kesu("user", "create", "--company", "Neu 化工", "--email", "a@neu.test", "--role", "employee",
                  "--password", "short")
    assert result.exit_code != 0
    assert "8 characters" in result.output
    assert count(database, User) == 0


def test_demo_is_idempotent(database, kesu):
    first = kesu("demo")
    assert first.exit_code == 0, first.output
    models = (Company, User, Complaint, ProcessVersion, DecisionVersion)
    loaded = tuple(count(database, model) for model in models)
    assert loaded[0] == 2 and loaded[1] >= 8 and loaded[2] > 0
    assert loaded[3:] == (2 * len(SHIPPED), 2 * len(DECISION_TABLES))  # every shipped procedure and table, per company
    second = kesu("demo")
    assert second.exit_code == 0, second.output
    assert tuple(count(database, model) for model in models) == loaded
    assert second.output == first.output


def test_demo_has_a_closed_complaint_reopened_once_that_re_runs(database, kesu, engine):
    assert kesu("demo").exit_code == 0
    with database.session() as s:
        closed = s.scalars(sa.select(Instance).where(Instance.status == "completed").order_by(Instance.id)).all()
        assert len(closed) == 2  # one per company
        callbacks = s.scalars(sa.select(Event.data).where(Event.instance_id == closed[0].id,
                                                          Event.element_id == "gw_satisfied").order_by(Event.seq)).all()
        assert [data["flow"] for data in callbacks] == ["flow_satisfied_no", "flow_satisfied_yes"]
        assert rerun(s, engine, closed[0]).confirmed


def test_demo_sets_sla_policies_and_its_open_complaints_run_their_clocks(database, kesu):
    assert kesu("demo").exit_code == 0
    with database.session() as s:
        for company in s.scalars(sa.select(Company)):
            assert len(sla.current_policies(s, company.id)) == len(SLA_POLICIES)
        running = s.scalars(sa.select(Instance.id).where(Instance.status == "running")).all()
        clocked = set(s.scalars(sa.select(SlaClock.instance_id).where(SlaClock.kind == "resolution")))
        assert running and set(running) <= clocked


def test_demo_prints_logins_that_work(database, kesu, browser):
    output = kesu("demo").output
    logins = [word for word in output.split() if "@" in word]
    password = output.split("password for all:")[1].split(")")[0].strip()
    assert logins and password
    assert browser.login(logins[0], password).status_code == 302


def test_commands_work_from_the_shell(tmp_path):
    """The real `flask --app app kesu ...` command line, in a fresh process on a fresh database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shell_db = Database(url)
    shell_db.create_all()
    env = {**os.environ, "KESU_DATABASE_URL": url, "KESU_AUDIT_KEY": AUDIT_KEY}
    flask = [str(Path(sys.executable).with_name("flask")), "--app", "app"]
    result = subprocess.run([*flask, "kesu", "company", "create", "Shell Co"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with shell_db.session() as s:
        assert s.scalars(sa.select(Company.name)).all() == ["Shell Co"]
    shell_db.dispose()


def registered_case(database, engine, company, complaint_data) -> tuple[int, str]:
    """A complaint registered through the engine: its instance id and number."""
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        complaint = register(s, engine, version, company.actor("service"), complaint_data, company.timezone)
        return complaint.instance_id, complaint.number


def slip_in_event(database, instance_id: int) -> int:
    """An event inserted behind the app's back (INSERT is what even PostgreSQL's append-only trigger allows);
    returns its seq."""
    with database.engine.begin() as connection:
        instance = connection.execute(sa.select(Instance).where(Instance.id == instance_id)).one()
        connection.execute(Event.__table__.insert(), {
            "company_id": instance.company_id, "instance_id": instance_id, "seq": instance.event_count + 1,
            "type": "task_completed", "at": instance.updated_at, "data": {}, "hash": "0" * 64})
    return instance.event_count + 1


def test_audit_verify_reports_intact_histories_and_exits_0(database, engine, acme, rival, complaint_data, kesu):
    for company in (acme, rival):
        registered_case(database, engine, company, complaint_data)
    result = kesu("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output == f"2 cases, {count(database, Event)} events: intact\n"


def test_audit_verify_names_the_broken_case_and_exits_1(database, engine, acme, rival, complaint_data, kesu):
    instance_id, number = registered_case(database, engine, acme, complaint_data)
    registered_case(database, engine, rival, complaint_data)
    seq = slip_in_event(database, instance_id)
    result = kesu("audit", "verify")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [f"instance {instance_id} ({number}): event {seq} inserted",
                                          f"2 cases, {count(database, Event) - 1} events: 1 broken"]
    assert kesu("audit", "verify", "--instance", str(instance_id)).exit_code == 1
    scoped = kesu("audit", "verify", "--company", "Rival 电气")
    assert (scoped.exit_code, scoped.output.startswith("1 cases, ")) == (0, True), scoped.output


def test_audit_verify_refuses_an_unknown_company_or_instance(database, kesu):
    assert "no company called 'Nowhere Ltd'" in kesu("audit", "verify", "--company", "Nowhere Ltd").output
    result = kesu("audit", "verify", "--instance", "999999")
    assert (result.exit_code, "no instance 999999" in result.output) == (1, True)


CHECKPOINT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def anchored_then_cut(database, engine, company, complaint_data, removed: int) -> tuple[int, str, int]:
    """A case anchored at CHECKPOINT, then its newest `removed` events deleted and its head and count moved back
    behind the app's back: its id, number and how many events it had."""
    instance_id, number = registered_case(database, engine, company, complaint_data)
    with database.session() as s:
        for n in range(3):
            engine.note(s, s.get(Instance, instance_id), "note", None, CHECKPOINT, n=n)
    with database.session() as s:
        events = s.scalars(sa.select(Event.hash).where(Event.instance_id == instance_id).order_by(Event.seq)).all()
    engine.auditor.checkpoint(database.sessionmaker, CHECKPOINT)
    keep = len(events) - removed
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq > :keep",
           "UPDATE instances SET event_count = :keep, event_head = :head WHERE id = :i",
           i=instance_id, keep=keep, head=events[keep - 1])
    return instance_id, number, len(events)


@pytest.mark.parametrize("removed", [1, 2])
def test_audit_verify_names_the_events_removed_after_the_anchored_checkpoint_and_exits_1(
        database, engine, acme, complaint_data, kesu, removed):
    instance_id, number, events = anchored_then_cut(database, engine, acme, complaint_data, removed)
    result = kesu("audit", "verify")
    assert result.exit_code == 1, result.output
    what = f"events {events - 1}–{events} are" if removed == 2 else f"event {events} is"
    assert result.output.splitlines() == [
        f"instance {instance_id} ({number}): {what} missing after the anchored checkpoint of 2026-12-07 10:00 UTC "
        f"(the case had {events} events then)",
        f"1 cases, {events - removed} events: 1 broken"]


def test_audit_checkpoint_anchors_now_and_verify_names_a_case_deleted_since(database, engine, acme, complaint_data,
                                                                           kesu):
    instance_id, number = registered_case(database, engine, acme, complaint_data)
    events = count(database, Event)
    result = kesu("audit", "checkpoint")
    assert result.output == f"anchored 1 cases in {engine.auditor.anchor.path}\n"
    tamper(database, *(f"DELETE FROM {table} WHERE instance_id = :i" for table in ("complaints", "inbox_tasks",
                                                                                    "events")),
           "DELETE FROM instances WHERE id = :i", i=instance_id)
    result = kesu("audit", "verify", "--instance", str(instance_id))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0].startswith(
        f"instance {instance_id} ({number}) is missing from the database but was anchored with {events} events on ")


def test_audit_verify_reports_damage_to_the_anchor_file(database, engine, acme, complaint_data, kesu):
    registered_case(database, engine, acme, complaint_data)
    kesu("audit", "checkpoint")
    path = engine.auditor.anchor.path
    line = json.loads(path.read_bytes())
    line["cases"][0][3] += 1  # one event more than the case had
    path.write_text(json.dumps(line) + "\n")
    result = kesu("audit", "verify")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [f"anchor {path}: line 1 not what was signed",
                                          f"1 cases, {count(database, Event)} events: intact; "
                                          f"the anchor file is damaged"]
