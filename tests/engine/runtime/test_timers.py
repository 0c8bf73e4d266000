"""Timers: a boundary timer that interrupts a user task, an intermediate timer that holds the case, the
instance's next_timer_at for the worker, and Engine.fire_timers moving the case on once they are due.

The diagram (diagrams/timers.bpmn): handle (Customer Service) with the interrupting boundary timer
handle_overdue → escalate (Management) → end_escalated; handle → pause (timer) → follow_up → end_done.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime, timezone

import pytest
import sqlalchemy as sa

from conftest import DIAGRAMS, GROUPS
from engine.dto import Actor
from engine.records import Event, InboxTask, Instance
from engine.repository.publishing import publish
from engine.runtime import serializer


def timers_diagram(handle_timer: str, pause_timer: str = "PT1H") -> bytes:
    text = (DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8")
    return text.replace("HANDLE_TIMER", handle_timer).replace("PAUSE_TIMER", pause_timer).encode("utf-8")


def start(database, engine, acme, handle_timer: str, pause_timer: str = "PT1H") -> int:
    with database.session() as s:
        version = publish(s, acme.id, timers_diagram(handle_timer, pause_timer), None, groups=GROUPS)
        return engine.start(s, version, acme.actor("service"), {}, business_key="T-1").id


def inbox(database, instance_id: int) -> list[tuple[str, tuple[str, ...]]]:
    """(element, offered groups) of the instance's open tasks."""
    with database.session() as s:
        rows = s.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
        return sorted((r.element_id, tuple(r.principals("group"))) for r in rows)


def events(database, instance_id: int) -> list[tuple[str, str | None]]:
    with database.session() as s:
        return [(e.type, e.element_id) for e in s.scalars(
            sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))]


def instance(database, instance_id: int) -> Instance:
    with database.session() as s:
        return s.get(Instance, instance_id)


def pending_timers(database, engine, instance_id: int) -> dict[str, datetime]:
    """The workflow's own view of its waiting timers: name -> due time."""
    with database.session() as s:
        row = s.get(Instance, instance_id)
        workflow = serializer.loads(row.state, engine.compiled(row.version), engine.script_engine)
    return {e.name: datetime.fromisoformat(e.value) for e in workflow.waiting_events()}


def wait_until(due: datetime) -> None:
    """Sleep until a short timer is due (the tests use one-second timers)."""
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)


def fire(database, engine, acme, instance_id: int) -> None:
    """What the timer worker does: fire the instance's due timers as the system."""
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, instance_id), Actor(company_id=acme.id))


def complete(database, engine, acme, key: str, instance_id: int, element: str) -> None:
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id,
                                                  InboxTask.element_id == element))
        engine.complete(s, row.id, acme.actor(key), {})


@pytest.mark.parametrize("written", ["PT0S", "'PT0S'"], ids=["literal", "expression"])
def test_zero_duration_boundary_timer_fires_within_the_start(database, engine, acme, written):
    instance_id = start(database, engine, acme, written)
    assert events(database, instance_id) == [("instance_started", "timers"), ("timer_fired", "handle_overdue")]
    assert inbox(database, instance_id) == [("escalate", ("Management",))]
    assert instance(database, instance_id).next_timer_at is None


def test_timer_not_yet_due_is_not_fired(database, engine, acme):
    instance_id = start(database, engine, acme, "PT1H")
    fire(database, engine, acme, instance_id)
    assert [t for t, _ in events(database, instance_id)] == ["instance_started"]
    assert inbox(database, instance_id) == [("handle", ("Customer Service",))]
    assert set(pending_timers(database, engine, instance_id)) == {"Overdue"}


@pytest.mark.parametrize("written", ["PT1S", "'PT1S'"], ids=["literal", "expression"])
def test_due_boundary_timer_interrupts_the_task_and_escalates(database, engine, acme, written):
    instance_id = start(database, engine, acme, written)
    assert inbox(database, instance_id) == [("handle", ("Customer Service",))]
    wait_until(pending_timers(database, engine, instance_id)["Overdue"])

    fire(database, engine, acme, instance_id)
    assert events(database, instance_id)[-1] == ("timer_fired", "handle_overdue")
    assert inbox(database, instance_id) == [("escalate", ("Management",))]
    assert pending_timers(database, engine, instance_id) == {}
    assert instance(database, instance_id).next_timer_at is None

    complete(database, engine, acme, "manager", instance_id, "escalate")
    done = instance(database, instance_id)
    assert (done.status, done.end_element) == ("completed", "end_escalated")


def test_intermediate_timer_holds_the_case_until_fired(database, engine, acme):
    instance_id = start(database, engine, acme, "PT1H", pause_timer="PT1S")
    complete(database, engine, acme, "service", instance_id, "handle")
    assert inbox(database, instance_id) == []
    assert instance(database, instance_id).status == "running"
    pending = pending_timers(database, engine, instance_id)
    assert set(pending) == {"Wait before following up"}  # the boundary timer went with its task

    wait_until(pending["Wait before following up"])
    fire(database, engine, acme, instance_id)
    assert events(database, instance_id)[-1] == ("timer_fired", "pause")
    assert inbox(database, instance_id) == [("follow_up", ("Customer Service",))]

    complete(database, engine, acme, "service", instance_id, "follow_up")
    done = instance(database, instance_id)
    assert (done.status, done.end_element) == ("completed", "end_done")
    assert [t for t, _ in events(database, instance_id)].count("timer_fired") == 1


def test_next_timer_at_is_the_boundary_timer_due_time_after_start(database, engine, acme):
    instance_id = start(database, engine, acme, "PT1H")
    assert instance(database, instance_id).next_timer_at == pending_timers(database, engine, instance_id)["Overdue"]


def test_next_timer_at_moves_to_the_intermediate_timer_when_the_task_is_done(database, engine, acme):
    instance_id = start(database, engine, acme, "PT1H", pause_timer="PT2H")
    complete(database, engine, acme, "service", instance_id, "handle")
    due = pending_timers(database, engine, instance_id)["Wait before following up"]
    assert instance(database, instance_id).next_timer_at == due
