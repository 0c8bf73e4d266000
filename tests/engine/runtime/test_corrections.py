"""An admin's corrections are events too: editing a case's data, retrying it after an error, skipping a task and
rewinding it each record one event with the reason and the values before and after, leave every earlier event as
it was, keep the hash chain intact, and the corrected case still re-runs and replays without divergence.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from complaints.registration import register
from engine import queries
from engine.dto import Actor
from engine.errors import Conflict, ProcessError, Refused
from engine.history.replay import replay
from engine.history.rerun import rerun
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.repository.publishing import publish
from engine.runtime.corrections import correct_data, retry, rewind, skip
from test_loops import INTAKE, REOPEN_ROUND, SATISFIED, complete
from test_rerun import alter, history, reopened_twice
from test_shipped_procedures import START, clock, engine  # fixtures: the engine on a fake clock
from test_timers import GROUPS, timers_diagram

REASON = "The customer sent the invoice by e-mail"


# -- helpers ------------------------------------------------------------------------------------------------------

def registered(database, engine, company, complaint_data, steps=INTAKE[:2]) -> int:
    """A standard complaint with `steps` done (by default: valid, graded; `assign` is open)."""
    with database.session() as s:
        instance_id = register(s, engine, s.get(ProcessVersion, company.version.id), company.actor("service"),
                               complaint_data, company.timezone).instance_id
        for element, key, data in steps:
            complete(s, engine, company, instance_id, element, key, data)
    return instance_id


def correct(database, engine, company, instance_id: int, operation, reason: str = REASON,
            **arguments) -> list[Event]:
    """Apply one correction as the admin in its own transaction; the events it appended."""
    before = len(history(database, instance_id))
    with database.session() as s:
        operation(s, engine, s.get(Instance, instance_id), actor=company.actor("admin"), reason=reason, **arguments)
    return history(database, instance_id)[before:]


def state(database, instance_id: int) -> tuple:
    """Everything a correction could change: the instance row, its inbox and its events."""
    with database.session() as s:
        i = s.get(Instance, instance_id)
        inbox = sorted(s.execute(sa.select(InboxTask.id, InboxTask.element_id)
                                 .where(InboxTask.instance_id == instance_id)).all())
        return (i.state, i.status, i.lock_version, i.event_count, i.event_head), inbox


def inbox(database, instance_id: int) -> list[str]:
    with database.session() as s:
        return sorted(s.scalars(sa.select(InboxTask.element_id).where(InboxTask.instance_id == instance_id)))


def data(database, engine, instance_id: int) -> dict:
    with database.session() as s:
        return queries.instance_view(s, engine, s.get(Instance, instance_id)).data


def proven(database, engine, instance_id: int):
    """The chain verifies, the recorded inputs re-run without divergence, and every step replays; the replay."""
    with database.session() as s:
        case = s.get(Instance, instance_id)
        [chain] = engine.auditor.verify(s, case.company_id, case.id)
        report = rerun(s, engine, case)
        replayed = replay(s, engine, case)
    assert chain.intact
    assert report.divergence is None, report.divergence
    assert replayed.divergence is None and all(step.reproduced for step in replayed.steps)
    return replayed


def step_end(database, engine, instance_id: int, first_type: str, element: str | None, nth: int = 0) -> int:
    """The seq of the last event of the nth replay step that begins with (first_type, element)."""
    steps = [step for step in proven(database, engine, instance_id).steps
             if (step.events[0].type, step.events[0].element_id) == (first_type, element)]
    return steps[nth].events[-1].seq


def refused(database, engine, company, instance_id: int, operation, reason: str = REASON, **arguments) -> str:
    """The code of the correction's refusal, after checking it changed nothing."""
    before = state(database, instance_id)
    with pytest.raises(Refused) as error:
        correct(database, engine, company, instance_id, operation, reason, **arguments)
    assert state(database, instance_id) == before
    return error.value.code


# -- editing the data ---------------------------------------------------------------------------------------------

def test_data_correction_records_reason_and_before_after_sets_typed_values_and_the_case_still_reproduces(
        database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data)
    earlier = [(e.seq, e.hash) for e in history(database, case)]
    [event] = correct(database, engine, acme, case, correct_data,
                      values={"handling_cost": " 25000 ", "lawsuit": "yes", "contact": "021-5555 0102"})

    assert (event.type, event.actor_id) == ("data_corrected", acme.users["admin"].id)
    assert event.data == {"reason": REASON, "changes": {
        "contact": {"from": complaint_data["contact"], "to": "021-5555 0102"},
        "handling_cost": {"from": 20000, "to": 25000}, "lawsuit": {"from": False, "to": True}}}
    now = data(database, engine, case)
    assert (now["handling_cost"], now["lawsuit"], now["contact"]) == (25000, True, "021-5555 0102")
    assert inbox(database, case) == ["assign"]
    assert [(e.seq, e.hash) for e in history(database, case)][:len(earlier)] == earlier  # nothing rewritten

    with database.session() as s:
        for element, key, values in [INTAKE[2], *REOPEN_ROUND[:2]]:
            complete(s, engine, acme, case, element, key, values)
    steps = proven(database, engine, case).steps
    [corrected] = [step for step in steps if step.events[0].type == "data_corrected"]
    assert corrected.changes["handling_cost"] == {"from": 20000, "to": 25000}
    assert corrected.active == ("assign",)


@pytest.mark.parametrize("values, reason, code", [
    ({"contact": "021-5555 0102"}, "   ", "reason_required"),
    ({"no_such_field": "1"}, REASON, "unknown_field"),
    ({"handling_cost": "25000.5"}, REASON, "not_whole_number"),
    ({"lawsuit": "perhaps"}, REASON, "not_yes_no"),
    ({"handling_cost": "20000", "lawsuit": "no"}, REASON, "nothing_changed"),
], ids=["blank-reason", "unknown-field", "not-a-whole-number", "not-yes-or-no", "unchanged"])
def test_data_correction_is_refused_without_changing_anything(database, engine, acme, complaint_data, values,
                                                              reason, code):
    case = registered(database, engine, acme, complaint_data)
    assert refused(database, engine, acme, case, correct_data, reason, values=values) == code


def test_data_of_a_closed_case_cannot_be_corrected(database, engine, acme, complaint_data):
    case = reopened_twice(database, engine, acme, complaint_data)
    assert refused(database, engine, acme, case, correct_data, values={"contact": "x"}) == "case_closed"


# -- retrying a stopped case --------------------------------------------------------------------------------------

def stopped_by_a_timer(database, engine, clock, acme) -> int:
    """A case whose one-hour timer fired into a task with a priority of `100 // divisor`, divisor 0: stopped."""
    escalate = b'<bpmn:userTask id="escalate" name="Escalate"'
    xml = timers_diagram("PT1H").replace(escalate, escalate + b' camunda:priority="100 // divisor"')
    with database.session() as s:
        case = engine.start(s, publish(s, acme.id, xml, None, groups=GROUPS), acme.actor("service"),
                            {"divisor": 0}, business_key="T-1").id
    clock.now += timedelta(hours=1, minutes=1)
    with pytest.raises(ProcessError) as failed, database.session() as s:
        engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))
    with database.session() as s:
        engine.record_error(s, failed.value, Actor(company_id=acme.id))
    return case


def test_retry_after_the_data_is_corrected_fires_the_timer_again_and_the_case_reproduces(
        database, engine, clock, acme):
    case = stopped_by_a_timer(database, engine, clock, acme)
    with database.session() as s:
        message = s.get(Instance, case).error
    assert "escalate" in message

    [fixed] = correct(database, engine, acme, case, correct_data, values={"divisor": "2"})
    assert fixed.data["changes"] == {"divisor": {"from": 0, "to": 2}}
    retried = correct(database, engine, acme, case, retry)

    assert [(e.type, e.element_id) for e in retried] == [("case_retried", None), ("timer_fired", "handle_overdue")]
    assert retried[0].data == {"reason": REASON, "error": message, "status": {"from": "error", "to": "running"}}
    with database.session() as s:
        instance = s.get(Instance, case)
        assert (instance.status, instance.error, instance.error_element) == ("running", None, None)
    assert inbox(database, case) == ["escalate"]
    with database.session() as s:
        notes = rerun(s, engine, s.get(Instance, case)).notes
    assert len(notes) == 1 and "the error at escalate was not re-executed" in notes[0]
    proven(database, engine, case)


def test_retry_that_fails_again_stops_the_case_again(database, engine, clock, acme):
    case = stopped_by_a_timer(database, engine, clock, acme)
    with pytest.raises(ProcessError) as failed:
        correct(database, engine, acme, case, retry)
    with database.session() as s:
        engine.record_error(s, failed.value, acme.actor("admin"))
    assert [e.type for e in history(database, case)] == ["instance_started", "error", "error"]
    proven(database, engine, case)


def test_a_running_case_has_nothing_to_retry(database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data)
    assert refused(database, engine, acme, case, retry) == "not_stopped"


# -- skipping a task ------------------------------------------------------------------------------------------------

def test_skipped_task_is_completed_without_its_form_and_the_case_moves_on(database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data)
    with database.session() as s:
        task_id = s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == case))
    [event] = correct(database, engine, acme, case, skip, task_id=task_id)

    assert (event.type, event.element_id, event.task_id) == ("task_skipped", "assign", task_id)
    assert event.data == {"reason": REASON, "changes": {}}
    assert inbox(database, case) == ["analyse_cause"]
    with database.session() as s:
        complete(s, engine, acme, case, *REOPEN_ROUND[0])
    steps = proven(database, engine, case).steps
    assert "assign" in next(step for step in steps if step.events[0].type == "task_skipped").ran


def test_skip_the_next_gateway_cannot_decide_without_the_form_is_refused_and_the_case_stays_running(
        database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data, steps=[])
    with database.session() as s:
        task_id = s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == case))
        before = s.get(Instance, case).status
    assert refused(database, engine, acme, case, skip, task_id=task_id) == "skip_failed"
    assert before == "running"


def test_skip_needs_a_ready_task_of_the_case(database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data)
    with pytest.raises(Conflict) as error:
        correct(database, engine, acme, case, skip, task_id="00000000-0000-0000-0000-000000000000")
    assert error.value.code == "not_ready"


# -- rewinding --------------------------------------------------------------------------------------------------

def test_rewind_restores_the_open_tasks_inbox_and_data_of_that_moment_and_the_case_goes_on_from_there(
        database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data, steps=[*INTAKE, *REOPEN_ROUND])
    graded = step_end(database, engine, case, "task_completed", "grade_complaint")
    earlier = [(e.seq, e.hash) for e in history(database, case)]
    [event] = correct(database, engine, acme, case, rewind, to_seq=graded)

    assert (event.type, event.data["reason"], event.data["to_seq"]) == ("case_rewound", REASON, graded)
    assert (event.data["open_before"], event.data["open_after"]) == (["analyse_cause"], ["assign"])
    changes = event.data["changes"]
    assert changes["responsible_person"] == {"from": "handler@acme.test", "to": None}
    assert changes["satisfied"] == {"from": False, "to": None}
    assert inbox(database, case) == ["assign"]
    assert "responsible_person" not in data(database, engine, case)
    assert [(e.seq, e.hash) for e in history(database, case)][:len(earlier)] == earlier  # nothing removed

    with database.session() as s:
        for element, key, values in [INTAKE[-1], REOPEN_ROUND[0], REOPEN_ROUND[1], SATISFIED]:
            instance = complete(s, engine, acme, case, element, key, values)
        assert (instance.status, instance.end_element) == ("completed", "end_closed")
    steps = proven(database, engine, case).steps
    rewound = next(step for step in steps if step.events[0].type == "case_rewound")
    assert rewound.active == ("assign",) and rewound.changes["responsible_person"]["to"] is None


def test_rewind_of_a_closed_case_reopens_it_at_that_moment(database, engine, acme, complaint_data):
    case = reopened_twice(database, engine, acme, complaint_data)
    before_last_callback = step_end(database, engine, case, "task_completed", "reply_customer_caused", nth=2)
    correct(database, engine, acme, case, rewind, to_seq=before_last_callback)
    with database.session() as s:
        instance = s.get(Instance, case)
        assert (instance.status, instance.end_element, instance.completed_at) == ("running", None, None)
    assert inbox(database, case) == ["callback"]
    with database.session() as s:
        complete(s, engine, acme, case, *SATISFIED)
    proven(database, engine, case)


def test_rewound_timer_keeps_its_recorded_due_time_so_a_past_one_fires_at_the_next_tick(
        database, engine, clock, acme):
    case = stopped_by_a_timer(database, engine, clock, acme)
    correct(database, engine, acme, case, correct_data, values={"divisor": "4"})
    retried = correct(database, engine, acme, case, retry)[0].seq
    clock.now += timedelta(hours=2)
    [event] = correct(database, engine, acme, case, rewind, to_seq=retried)

    assert (event.data["open_before"], event.data["open_after"]) == (["escalate"], ["handle", "handle_overdue"])
    with database.session() as s:
        instance = s.get(Instance, case)
        assert (instance.status, instance.next_timer_at) == ("running", START + timedelta(hours=1))
    assert inbox(database, case) == ["handle"]
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))
    assert inbox(database, case) == ["escalate"]
    proven(database, engine, case)


def test_rewind_is_refused_to_the_last_event_inside_a_step_and_to_a_moment_it_cannot_reproduce(
        database, engine, acme, complaint_data):
    case = registered(database, engine, acme, complaint_data)
    validity, decision, graded = history(database, case)[1:]
    assert (validity.element_id, decision.type, graded.element_id) == ("check_validity", "gateway_taken",
                                                                        "grade_complaint")
    assert refused(database, engine, acme, case, rewind, to_seq=graded.seq) == "rewind_to_last"
    assert refused(database, engine, acme, case, rewind, to_seq=validity.seq) == "not_a_step_end"  # gw_valid follows
    assert refused(database, engine, acme, case, rewind, to_seq=0) == "not_a_step_end"
    assert refused(database, engine, acme, case, rewind, "", to_seq=decision.seq) == "reason_required"

    alter(database, validity, element_id="assign")
    assert refused(database, engine, acme, case, rewind, to_seq=decision.seq) == "rewind_diverges"
