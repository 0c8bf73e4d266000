"""Re-running a case: its recorded inputs, re-executed on a scratch copy from the start, reproduce every recorded
step (loops, a fired timer, a migration, a stop by an error), and a history altered afterwards is caught at the
event that was altered or at the first step it changes.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from complaints.registration import register
from engine.dto import Actor
from engine.errors import ProcessError
from engine.history.rerun import rerun
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.repository.publishing import publish
from test_instance_migration import complete as complete_element, move, publish_version, start
from test_loops import INTAKE, REOPEN_ROUND, SATISFIED, complete
from test_procedure_deadlines import DAY, HANDLED, graded, to_handling
from test_sandbox import scripted, start_scripted
from test_shipped_procedures import (  # fixtures: the engine
    MANAGEMENT,
    PATHS,
    S,
    Tick,
    clock,
    drive,
    engine,  # on a fake clock
)

ANALYSE, REPLY, _ = REOPEN_ROUND


def reopened_twice(database, engine, company, complaint_data) -> int:
    """A standard complaint whose callback finds the customer unsatisfied twice before closing; one task is
    claimed and released on the way."""
    with database.session() as s:
        instance_id = register(s, engine, s.get(ProcessVersion, company.version.id), company.actor("service"),
                               complaint_data, company.timezone).instance_id
        for element, key, data in INTAKE[:1]:
            complete(s, engine, company, instance_id, element, key, data)
        grade = s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == instance_id))
        engine.claim(s, grade, company.actor("quality"))
        engine.release(s, grade, company.actor("quality"))
        for element, key, data in [*INTAKE[1:], *REOPEN_ROUND, *REOPEN_ROUND, ANALYSE, REPLY, SATISFIED]:
            complete(s, engine, company, instance_id, element, key, data)
    return instance_id


def rerun_case(database, engine, instance_id: int):
    with database.session() as s:
        return rerun(s, engine, s.get(Instance, instance_id))


def history(database, instance_id: int) -> list[Event]:
    with database.session() as s:
        return list(s.scalars(sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)))


def alter(database, event: Event, **columns) -> None:
    """Change a recorded event in place, as someone with write access to the database could."""
    if database.engine.dialect.name == "postgresql":
        pytest.skip("events are append-only on PostgreSQL (a trigger refuses the UPDATE)")
    with database.session() as s:
        s.execute(sa.update(Event).where(Event.id == event.id).values(**columns))


# -- histories that reproduce -----------------------------------------------------------------------------------

def test_complaint_reopened_twice_reproduces_every_recorded_event_and_writes_nothing(
        database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    events = history(database, instance_id)
    assert [e.data["flow"] for e in events if e.element_id == "gw_satisfied"] == \
        ["flow_satisfied_no", "flow_satisfied_no", "flow_satisfied_yes"]
    assert {"task_claimed", "task_released"} <= {e.type for e in events}

    with database.session() as s:
        case = s.get(Instance, instance_id)
        before = (case.lock_version, case.event_count, case.state)
        report = rerun(s, engine, case)
        assert not s.new and not s.dirty and not s.deleted
        assert (case.lock_version, case.event_count, case.state) == before

    assert (report.instance_id, report.divergence, report.notes) == (instance_id, None, ())
    assert report.steps_checked == len(events)


def test_ecommerce_complaint_whose_week_ran_out_reproduces_the_timer_and_the_alert(
        database, engine, clock, acme, complaint_data):
    instance_id, _ = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce",
                           PATHS["ecommerce_week_passes_case_goes_on"][1])
    events = history(database, instance_id)
    assert [e.element_id for e in events if e.type == "timer_fired"] == ["week_overdue"]

    report = rerun_case(database, engine, instance_id)
    assert (report.divergence, report.steps_checked) == (None, len(events))


def test_class_b_complaint_followed_up_on_two_days_records_each_day_and_reproduces(
        database, engine, clock, acme, complaint_data):
    follow_up = S("follow_up", MANAGEMENT, {"follow_up_note": "已督促"}, also_open=("handle", "progress_feedback"))
    instance_id, _ = graded(database, engine, clock, acme, complaint_data, [
        *to_handling("B"), Tick(DAY + timedelta(minutes=1)), follow_up, Tick(DAY), follow_up, *HANDLED])
    events = history(database, instance_id)
    fired = [i for i, e in enumerate(events) if e.type == "timer_fired"]
    assert [events[i].element_id for i in fired] == ["daily_follow_up", "daily_follow_up"]
    assert [(events[i + 1].element_id, events[i + 1].data["flow"]) for i in fired] == \
        [("gw_follow_up", "flow_follow_up_yes")] * 2  # each day's firing comes before the branch it starts

    report = rerun_case(database, engine, instance_id)
    assert (report.divergence, report.steps_checked) == (None, len(events))


REMINDERS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs_reminders" targetNamespace="http://kesu.test">
  <bpmn:process id="reminders" name="Reminders" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_cs" name="Customer Service">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>work</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef><bpmn:flowNodeRef>hourly</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>remind</bpmn:flowNodeRef><bpmn:flowNodeRef>end_reminded</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="hourly" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/PT1H</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="remind" name="Remind"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_reminded"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="hourly" targetRef="remind" />
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="end_reminded" />
  </bpmn:process>
</bpmn:definitions>"""


def test_cycle_timer_opening_a_task_each_hour_records_each_firing_and_reproduces(database, engine, clock, acme):
    with database.session() as s:
        version = publish(s, acme.id, REMINDERS, None, groups=("Customer Service",))
        case = engine.start(s, version, acme.actor("service"), {}, business_key="R-1").id
    for _hour in range(2):
        clock.now += timedelta(hours=1, minutes=1)
        with database.session() as s:
            engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))
        complete_element(database, engine, acme, case, "remind", "service")
    complete_element(database, engine, acme, case, "work", "service")
    events = history(database, case)
    assert [(e.type, e.element_id) for e in events if e.type in ("timer_fired", "task_completed")] == [
        ("timer_fired", "hourly"), ("task_completed", "remind"), ("timer_fired", "hourly"),
        ("task_completed", "remind"), ("task_completed", "work")]

    report = rerun_case(database, engine, case)
    assert (report.divergence, report.steps_checked) == (None, len(events))


def test_case_migrated_midway_reproduces_on_the_version_it_started_on_then_the_new_one(
        database, engine, clock, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    move(database, engine, acme, case, publish_version(database, acme, "v2_compatible"))
    for element, key in (("register", "service"), ("check", "quality"), ("review", "quality")):  # check: v2 only
        complete_element(database, engine, acme, case, element, key)
    clock.now += timedelta(hours=3, minutes=1)
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))
    complete_element(database, engine, acme, case, "callback", "service")
    events = history(database, case)
    assert [e.type for e in events if e.type in ("instance_migrated", "timer_fired", "instance_completed")] == \
        ["instance_migrated", "timer_fired", "instance_completed"]

    report = rerun_case(database, engine, case)
    assert (report.divergence, report.steps_checked) == (None, len(events))


def test_case_stopped_by_an_error_reproduces_up_to_the_stop_and_says_the_failed_input_is_not_recorded(
        database, engine, acme):
    instance_id, task_id = start_scripted(database, engine, acme, scripted("total = amount * undefined_rate"), True)
    with pytest.raises(ProcessError) as failed, database.session() as s:
        engine.complete(s, task_id, acme.actor("quality"), {"amount": 3})
    with database.session() as s:
        engine.record_error(s, failed.value, acme.actor("quality"))
    assert [e.type for e in history(database, instance_id)] == ["instance_started", "error"]

    report = rerun_case(database, engine, instance_id)
    assert (report.divergence, report.steps_checked) == (None, 2)
    assert len(report.notes) == 1 and report.notes[0].startswith("seq 2: the error at compute was not re-executed")


# -- histories altered afterwards ---------------------------------------------------------------------------------

def test_altered_submission_is_reported_at_the_event_that_was_altered(database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    first_callback = next(e for e in history(database, instance_id)
                          if e.type == "task_completed" and e.element_id == "callback")
    submitted = {**first_callback.data["submitted"], "satisfied": True}
    alter(database, first_callback, data={**first_callback.data, "submitted": submitted})

    report = rerun_case(database, engine, instance_id)
    divergence = report.divergence
    assert (divergence.seq, report.steps_checked) == (first_callback.seq, first_callback.seq - 1)
    assert divergence.reason == "the re-execution produced a different event"
    assert divergence.expected["changes"]["satisfied"] == {"from": None, "to": False}
    assert divergence.actual["changes"]["satisfied"] == {"from": None, "to": True}


def test_submission_altered_with_its_recorded_changes_is_caught_at_the_gateway_it_turns(
        database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    events = history(database, instance_id)
    first_callback = next(e for e in events if e.type == "task_completed" and e.element_id == "callback")
    submitted = {**first_callback.data["submitted"], "satisfied": True}
    changes = {**first_callback.data["changes"], "satisfied": {"from": None, "to": True}}
    alter(database, first_callback, data={"submitted": submitted, "changes": changes})
    turned = next(e for e in events if e.seq > first_callback.seq and e.element_id == "gw_satisfied")

    divergence = rerun_case(database, engine, instance_id).divergence
    assert divergence.seq == turned.seq
    assert (divergence.expected["flow"], divergence.actual["flow"]) == ("flow_satisfied_no", "flow_satisfied_yes")


def test_submission_to_a_task_that_was_not_open_is_reported_as_not_applicable(database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    assign = next(e for e in history(database, instance_id) if e.element_id == "assign")
    alter(database, assign, element_id="implement")

    divergence = rerun_case(database, engine, instance_id).divergence
    assert (divergence.seq, divergence.actual, divergence.reason) == (assign.seq, None, "task implement was not ready")


def test_stored_state_no_recorded_step_leads_to_is_reported_after_the_last_event(
        database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    with database.session() as s:
        s.execute(sa.update(Instance.__table__).where(Instance.__table__.c.id == instance_id)
                  .values(end_element="end_abnormal"))

    report = rerun_case(database, engine, instance_id)
    assert (report.divergence.seq, report.steps_checked) == (None, len(history(database, instance_id)))
    assert (report.divergence.expected["end_element"], report.divergence.actual["end_element"]) == \
        ("end_abnormal", "end_closed")
