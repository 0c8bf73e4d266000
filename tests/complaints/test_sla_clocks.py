"""SLA clocks on a fake clock: policies chosen by grade and category, deadlines and warnings in working time over
mainland China's holidays, pauses while the customer is waited for, warnings, breaches, escalation, reopen.

The diagram (diagrams/sla_case.bpmn): grade (Customer Service) → ask_customer (marked `sla: pause`) → handle
(Handling Department) → callback (Customer Service) → satisfied: end, else a flow marked `reopen: true` → handle.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions import timer

from complaints import sla
from complaints.sla import SlaClock, SlaPolicy
from conftest import DIAGRAMS, GROUPS
from engine.history.replay import replay
from engine.history.rerun import rerun
from engine.records import Event, InboxTask, Instance
from engine.repository.publishing import publish
from engine.runtime.steps import Engine
from notifications.models import Notification

DIAGRAM = DIAGRAMS / "sla_case.bpmn"
SHANGHAI = timezone(timedelta(hours=8))
# Wednesday 30 September 2026, 10:00 in Shanghai: the National Day holiday runs from 1 to 7 October, and
# Saturday 10 October is an adjusted working day.
BEFORE_HOLIDAY = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(monkeypatch) -> Clock:
    fake = Clock(BEFORE_HOLIDAY)

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return fake.now.astimezone(tz or UTC)

    monkeypatch.setattr(timer, "datetime", FakeDatetime)
    return fake


@pytest.fixture()
def engine(app, clock) -> Engine:
    """The app's engine (with its SLA and notification observers) on the fake clock."""
    base = app.extensions["kesu.engine"]
    return Engine(base.auditor, specs=base.specs, script_time_limit=1.0, form_resolver=base.form_resolver,
                  directory=base.directory, clock=clock, calendars=base.calendars, observers=base.observers)


def policy(database, acme, grade: str = "", category: str = "", **values) -> SlaPolicy:
    values = {"resolution_target": "5 working days", "warn_fraction": 0.8, **values}
    with database.session() as s:
        saved = sla.save_policy(s, acme.id, acme.users["owner"].id, grade=grade, category=category, **values)
        s.expunge(saved)
        return saved


def register(database, engine, acme, category: str = "product_quality", number: str = "C-1") -> int:
    with database.session() as s:
        version = publish(s, acme.id, DIAGRAM.read_bytes(), None, groups=GROUPS)
        return engine.start(s, version, acme.actor("service"), {"category": category}, business_key=number).id


def complete(database, engine, acme, key: str, case: int, element: str, data: dict | None = None) -> None:
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == case, InboxTask.element_id == element))
        if row.assignee_id is None:
            engine.claim(s, row.id, acme.actor(key))
        engine.complete(s, row.id, acme.actor(key), data or {})


def clocks(database, case: int) -> dict[str, SlaClock]:
    with database.session() as s:
        found = {c.kind: c for c in s.scalars(sa.select(SlaClock).where(SlaClock.instance_id == case))}
        for c in found.values():
            s.expunge(c)
        return found


def notified(database, case: int) -> list[tuple[str, str]]:
    """(kind, user e-mail) of the case's notifications about deadlines and reopening."""
    from accounts.models import User
    with database.session() as s:
        rows = s.execute(sa.select(Notification.kind, User.email).join(User, User.id == Notification.user_id)
                         .where(Notification.instance_id == case,
                                Notification.kind.in_(("sla_warning", "sla_breached", "reopened")))
                         )
        return sorted((kind, email.split("@")[0]) for kind, email in rows)


def shanghai(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI).replace(tzinfo=None)


# -- policies -----------------------------------------------------------------------------------------------------

def test_the_most_specific_policy_in_force_is_chosen():
    default, level_1, quality, level_1_quality = (
        SlaPolicy(grade=g, category=c) for g, c in (("", ""), ("level:1", ""), ("", "product_quality"),
                                                   ("level:1", "product_quality")))
    policies = [default, level_1, quality, level_1_quality]
    assert sla.policy_for(policies, "level:1", "product_quality") is level_1_quality
    assert sla.policy_for(policies, "level:1", "delivery") is level_1
    assert sla.policy_for(policies, "level:5", "product_quality") is quality
    assert sla.policy_for(policies, "", "delivery") is default
    assert sla.policy_for([level_1], "level:5", "delivery") is None


def test_saving_a_policy_adds_a_version_and_retiring_ends_it(database, acme, rival):
    policy(database, acme, "level:1", resolution_target="3 working days")
    policy(database, acme, "level:1", resolution_target="2 working days")
    policy(database, rival, "level:1", resolution_target="9 working days")
    with database.session() as s:
        [current] = sla.current_policies(s, acme.id)
        assert (current.version, current.resolution_target) == (2, "2 working days")
        assert [p.version for p in sla.history(s, acme.id, "level:1", "")] == [2, 1]
    policy(database, acme, "level:1", retired=True)
    with database.session() as s:
        assert sla.current_policies(s, acme.id) == []
        assert [p.resolution_target for p in sla.current_policies(s, rival.id)] == ["9 working days"]


@pytest.mark.parametrize("target", ["5 working days", "4 working hours", "next working day 15:00", "3个工作日",
                                    "PT24H", "P3D", ""])
def test_targets_are_business_time_or_iso_durations(target):
    assert sla.target_problem(target) is None


@pytest.mark.parametrize("target", ["five days", "5 days", "next working day 25:00", "PT", "tomorrow"])
def test_a_target_that_cannot_be_counted_is_refused(target):
    assert sla.target_problem(target)


# -- clocks -------------------------------------------------------------------------------------------------------

def test_the_resolution_clock_counts_five_working_days_over_the_national_day_holiday(database, engine, acme, clock):
    policy(database, acme)
    case = register(database, engine, acme)
    resolution = clocks(database, case)["resolution"]
    # 30 Sep → 8, 9, 10 (an adjusted Saturday), 12, 13 October; the warning after 32 of the 40 working hours
    assert shanghai(resolution.due_at) == datetime(2026, 10, 13, 10, 0)
    assert shanghai(resolution.warn_at) == datetime(2026, 10, 12, 10, 0)
    assert (resolution.status, resolution.check_at) == ("running", resolution.warn_at)
    assert "response" not in clocks(database, case)  # the policy sets no response target


def test_a_case_left_alone_over_the_holiday_warns_then_breaches_and_escalates_at_the_exact_moments(
        database, engine, acme, clock):
    policy(database, acme, escalate_to="Management")
    case = register(database, engine, acme)
    resolution = clocks(database, case)["resolution"]
    sessions = database.sessionmaker

    assert sla.check_clocks(sessions, engine, resolution.warn_at - timedelta(seconds=1)) == 0
    assert sla.check_clocks(sessions, engine, resolution.warn_at) == 1
    assert clocks(database, case)["resolution"].status == "warning"
    assert notified(database, case) == [("sla_warning", "service"), ("sla_warning", "service2")]

    assert sla.check_clocks(sessions, engine, resolution.due_at - timedelta(seconds=1)) == 0
    assert sla.check_clocks(sessions, engine, resolution.due_at) == 1
    assert sla.check_clocks(sessions, engine, resolution.due_at + timedelta(days=1)) == 0  # breached once
    breached = clocks(database, case)["resolution"]
    assert (breached.status, breached.breached_at, breached.check_at) == ("breached", resolution.due_at, None)
    assert notified(database, case) == [("sla_breached", "manager"), ("sla_breached", "service"),
                                        ("sla_breached", "service2"), ("sla_warning", "service"),
                                        ("sla_warning", "service2")]
    with database.session() as s:
        [escalation] = sla.escalations_for(s, acme.id, ["Management"])
        assert escalation.instance_id == case
        assert sla.escalations_for(s, acme.id, ["Quality"]) == []


def test_the_warning_the_breach_and_its_acknowledgement_are_sealed_in_the_history_that_re_runs_and_replays(
        database, engine, acme, clock):
    policy(database, acme, escalate_to="Management")
    case = register(database, engine, acme)
    resolution = clocks(database, case)["resolution"]
    sla.check_clocks(database.sessionmaker, engine, resolution.warn_at)
    sla.check_clocks(database.sessionmaker, engine, resolution.due_at)
    with database.session() as s:
        sla.acknowledge(s, engine, s.get(SlaClock, resolution.id), acme.users["manager"].id, "换货已安排",
                        resolution.due_at)
    clock.now = resolution.due_at + timedelta(hours=1)
    complete(database, engine, acme, "service", case, "grade", {"level": "5"})  # the case goes on after them

    with database.session() as s:
        events = s.scalars(sa.select(Event).where(Event.instance_id == case).order_by(Event.seq)).all()
        notes = [(e.type, e.at, e.actor_id, e.data.get("clock")) for e in events if e.type in sla.EVENT_TYPES]
        assert notes == [("sla_warned", resolution.warn_at, None, "resolution"),
                         ("sla_breached", resolution.due_at, None, "resolution"),
                         ("sla_acknowledged", resolution.due_at, acme.users["manager"].id, "resolution")]
        breached = next(e for e in events if e.type == "sla_breached")
        assert breached.data == {"clock": "resolution", "target": "5 working days", "policy_version": 1,
                                 "due_at": resolution.due_at.isoformat(), "escalated_to": "Management"}
        instance = s.get(Instance, case)
        assert engine.auditor.verify(s, acme.id, case)[0].intact
        assert rerun(s, engine, instance).confirmed
        steps = replay(s, engine, instance)
        assert steps.divergence is None
        assert [step.events[0].type for step in steps.steps] == [
            "instance_started", "sla_warned", "sla_breached", "sla_acknowledged", "task_claimed", "task_completed"]


def test_grading_moves_the_clock_to_the_policy_for_the_grade(database, engine, acme, clock):
    policy(database, acme)
    policy(database, acme, "level:1", resolution_target="1 working day", response_target="4 working hours")
    case = register(database, engine, acme)
    clock.now += timedelta(hours=1)
    complete(database, engine, acme, "service", case, "grade", {"level": "1"})
    found = clocks(database, case)
    assert shanghai(found["resolution"].due_at) == datetime(2026, 10, 8, 10, 0)  # the next working day
    assert found["resolution"].policy.grade == "level:1"
    # the response clock started at registration and stopped at once: grading was the first task completed
    assert shanghai(found["response"].due_at) == datetime(2026, 9, 30, 15, 0)
    assert (found["response"].status, found["response"].met_at) == ("met", clock.now)


def test_clocks_stop_while_the_customer_is_waited_for_and_the_deadline_moves_by_the_working_time_it_took(
        database, engine, acme, clock):
    policy(database, acme, resolution_target="2 working days")
    case = register(database, engine, acme)
    assert shanghai(clocks(database, case)["resolution"].due_at) == datetime(2026, 10, 9, 10, 0)
    complete(database, engine, acme, "service", case, "grade", {"level": "5"})
    paused = clocks(database, case)["resolution"]
    assert (paused.status, paused.check_at) == ("paused", None)
    assert sla.check_clocks(database.sessionmaker, engine, paused.due_at + timedelta(days=3)) == 0  # not while paused

    clock.now = datetime(2026, 10, 8, 11, 0, tzinfo=SHANGHAI).astimezone(UTC)  # 9 working hours later
    complete(database, engine, acme, "service", case, "ask_customer")
    resumed = clocks(database, case)["resolution"]
    assert resumed.status == "running"
    assert resumed.paused_seconds == 9 * 3600
    assert shanghai(resumed.due_at) == datetime(2026, 10, 10, 11, 0)  # 9 working hours after 9 Oct 10:00


def test_closing_the_case_meets_the_clock_and_a_reopen_tells_everyone_who_worked_on_it(
        database, engine, acme, clock):
    policy(database, acme)
    case = register(database, engine, acme)
    complete(database, engine, acme, "service", case, "grade", {"level": "5"})
    complete(database, engine, acme, "service2", case, "ask_customer")
    complete(database, engine, acme, "handler", case, "handle")
    complete(database, engine, acme, "service", case, "callback", {"satisfied": False})
    assert notified(database, case) == [("reopened", "handler"), ("reopened", "service2")]  # not the caller
    assert clocks(database, case)["resolution"].status == "running"

    clock.now = datetime(2026, 10, 14, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)  # after the deadline
    complete(database, engine, acme, "handler", case, "handle")
    complete(database, engine, acme, "service", case, "callback", {"satisfied": True})
    closed = clocks(database, case)["resolution"]
    assert (closed.status, closed.met_at, closed.check_at) == ("late", clock.now, None)
    with database.session() as s:
        assert s.get(Instance, case).status == "completed"


def test_a_policy_saved_while_cases_run_applies_to_the_next_registered_case(database, engine, acme):
    policy(database, acme, "level:1")
    first = register(database, engine, acme)  # ungraded: no policy fits, and the policies in force are now cached
    policy(database, acme)  # a default saved afterwards, as by another process
    second = register(database, engine, acme, number="C-2")
    assert clocks(database, first) == {}
    assert clocks(database, second)["resolution"].policy.grade == ""


def test_a_policy_save_that_was_rolled_back_leaves_nothing_behind(database, engine, acme):
    with database.session() as s:  # a save and a registration in one transaction that does not commit
        sla.save_policy(s, acme.id, None, grade="", category="", resolution_target="5 working days")
        version = publish(s, acme.id, DIAGRAM.read_bytes(), None, groups=GROUPS)
        engine.start(s, version, acme.actor("service"), {"category": "product_quality"}, business_key="C-0")
        s.rollback()
    policy(database, acme, category="delivery")  # may get the id the rolled-back save had (SQLite)
    case = register(database, engine, acme, category="product_quality")
    assert clocks(database, case) == {}


@pytest.mark.postgres
def test_policies_committed_out_of_order_all_apply(database, engine, acme):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    slow = database.sessionmaker()
    sla.save_policy(slow, acme.id, None, grade="", category="", resolution_target="5 working days")  # the lower id
    policy(database, acme, "level:1")  # the higher id, committed first
    register(database, engine, acme)  # reads (and caches) the policies in force: level 1 only
    slow.commit()
    slow.close()
    case = register(database, engine, acme, number="C-2")
    assert clocks(database, case)["resolution"].policy.grade == ""


@pytest.mark.postgres
def test_the_worker_leaves_a_clock_alone_while_a_step_holds_its_case(database, engine, acme):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    policy(database, acme)
    case = register(database, engine, acme)
    due = clocks(database, case)["resolution"].due_at
    step = database.sessionmaker()
    step.scalar(sa.select(Instance).where(Instance.id == case).with_for_update(of=Instance.__table__))  # as a step
    assert sla.check_clocks(database.sessionmaker, engine, due) == 0  # skipped, not waiting: no deadlock with the step
    step.rollback()
    step.close()
    assert sla.check_clocks(database.sessionmaker, engine, due) == 1
    assert clocks(database, case)["resolution"].status == "breached"


def test_cases_without_a_policy_run_no_clocks(database, engine, acme):
    case = register(database, engine, acme)
    assert clocks(database, case) == {}
