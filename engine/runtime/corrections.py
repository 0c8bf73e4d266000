"""An admin's corrections to a case: edit its data, retry it after an error, skip a task, rewind it.

Corrections are events too. Each one is a runtime Step in the caller's transaction (so the optimistic lock, the
hash chain and the inbox sync apply), needs a reason, and appends one event with the reason and the values before
and after; nothing already recorded is changed or removed. A re-run re-applies each correction from its event
(engine.history.rerun), so a corrected case still proves every step of its history.
"""
from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import queries
from engine.dto import Actor
from engine.errors import Conflict, ProcessError, Refused
from engine.history.rerun import OUTPUTS, Moment, Scratch, overwrite, rewound
from engine.records import Event, InboxTask, Instance
from engine.runtime import serializer
from engine.runtime.steps import Engine, Step, current_data

_YES, _NO = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def correct_data(session: Session, engine: Engine, instance: Instance, actor: Actor, values: dict[str, Any],
                 reason: str) -> dict[str, Any]:
    """Set fields of the case's data to new values, each read as the type of its current value.

    Event `data_corrected` {reason, changes: {field: {from, to}}}; returns its data.
    """
    reason = _reason(reason)
    if instance.status == "completed":
        raise Refused("case_closed")
    step = Step(engine, session, instance, actor)
    current = current_data(step.workflow)
    changes = overwrite(step.workflow, {field: _typed(field, current, value) for field, value in values.items()})
    if not changes:
        raise Refused("nothing_changed")
    event = step.record("data_corrected", reason=reason, changes=changes)
    step.save()
    return _data(event)


def retry(session: Session, engine: Engine, instance: Instance, actor: Actor, reason: str) -> dict[str, Any]:
    """Let a case stopped by an error run again and fire its due timers, as Engine.fire_timers does.

    The input that failed was rolled back with its step, so a failed form submission must be made again. If the
    timers fail again, the ProcessError stops the case again like any step. Event `case_retried`
    {reason, error (the old message), status {from, to}}; returns its data.
    """
    reason = _reason(reason)
    if instance.status != "error":
        raise Refused("not_stopped")
    step = Step(engine, session, instance, actor)
    event = step.record("case_retried", reason=reason, error=instance.error,
                        status={"from": instance.status, "to": "running"})
    instance.status, instance.error, instance.error_element = "running", None, None
    step.run(step.workflow.refresh_timers)
    step.save()
    return _data(event)


def skip(session: Session, engine: Engine, instance: Instance, task_id: str, actor: Actor,
         reason: str) -> dict[str, Any]:
    """Complete a ready user task without its form, so the case moves on.

    The elements after it may need values the form would have given: if they fail, the skip is refused and
    rolled back (the case is not stopped). Event `task_skipped` (element, task id) {reason, changes}; returns its data.
    """
    reason = _reason(reason)
    if instance.status == "error":
        raise Conflict("case_stopped", error=instance.error)
    step = Step(engine, session, instance, actor)
    task = next((t for t in step.ready_user_tasks() if str(t.id) == task_id), None)
    if task is None:
        raise Conflict("not_ready")
    try:
        step.submit(task, {})
        skipped = step.events[0]  # the submission's event, recorded as what it was: a skip
        skipped.update(type="task_skipped", data={"reason": reason, "changes": skipped["data"]["changes"]})
        step.save()
    except ProcessError as error:
        element = task.task_spec.bpmn_id
        name = step.process.element_names.get(element, {}).get("")
        raise Refused("skip_failed", task=f"“{name}” ({element})" if name else element, error=str(error)) from None
    return _data(skipped)


def rewind(session: Session, engine: Engine, instance: Instance, actor: Actor, to_seq: int,
           reason: str) -> dict[str, Any]:
    """Put the case back into the state it had just after recorded event `to_seq`, the end of a step.

    That state is re-executed from the history (engine.history.rerun), so the rewind is refused if the history does not
    reproduce up to there. The open tasks and inbox rows become those of that moment (the rows are rebuilt, as a
    migration does); waiting timers keep the due times they had then, so those already past fire at the worker's
    next tick. Event `case_rewound` {reason, to_seq, open_before, open_after, changes}; returns its data.
    """
    reason = _reason(reason)
    moment = _moment_after(session, engine, instance, to_seq)
    before = serializer.loads(instance.state, engine.compiled(instance.version), engine.script_engine)
    after = moment.restore(instance, engine)
    _due_as_recorded(after, moment)
    step = Step(engine, session, instance, actor, after)
    event = step.record("case_rewound", reason=reason, to_seq=to_seq, **rewound(before, after))
    for row in session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance.id)):
        session.delete(row)  # rebuilt from the restored workflow by the save (deleted in its flush, after the lock)
    step.ready_before = set()
    step.save()
    return _data(event)


# -- rewinding --------------------------------------------------------------------------------------------------

def _moment_after(session: Session, engine: Engine, instance: Instance, to_seq: int) -> Moment:
    """The case as it stood after event `to_seq`, re-executed; refused unless that event ends a step."""
    events = queries.events(session, instance.id, instance.company_id)
    seqs = [event.seq for event in events]
    if to_seq not in seqs:
        raise Refused("not_a_step_end", seq=to_seq)
    if to_seq == seqs[-1]:
        raise Refused("rewind_to_last", seq=to_seq)
    scratch = Scratch(session, engine, instance, events)
    at = seqs.index(to_seq)
    for event in events[:at + 1]:
        divergence = scratch.check(event)
        if divergence is not None:
            raise Refused("rewind_diverges", seq=to_seq, at=divergence.seq, reason=divergence.reason)
    if scratch.pending or not _starts_step(events[at + 1]) or scratch.settled is None:
        raise Refused("not_a_step_end", seq=to_seq)
    return scratch.moment(scratch.settled)


def _starts_step(event: Event) -> bool:
    """Whether a recorded event begins a step (the replay's rule, once every output before it is matched)."""
    return event.type not in OUTPUTS or event.type == "timer_fired"


def _due_as_recorded(workflow: BpmnWorkflow, moment: Moment) -> None:
    """Give the restored waiting timers the due times the case had then, not those of the re-execution."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if str(task.id) in moment.due:
            task.internal_data["event_value"] = moment.due[str(task.id)]


# -- checks -----------------------------------------------------------------------------------------------------

def _reason(reason: str | None) -> str:
    """Every correction says why; the reason is kept in its event."""
    text = (reason or "").strip()
    if not text:
        raise Refused("reason_required")
    return text


def _typed(field: str, current: dict[str, Any], value: Any) -> Any:
    """`value` as the type of the field's current value (text from a form is parsed; an empty field takes text)."""
    if field not in current:
        raise Refused("unknown_field", field=field)
    now = current[field]
    if now is None or isinstance(now, str):
        return value if isinstance(value, str) else str(value)
    if isinstance(now, bool):
        return _yes_no(field, value)
    if isinstance(now, (int, float)):
        return _number(field, value, type(now))
    raise Refused("not_editable", field=field)


def _data(event: dict[str, Any]) -> dict[str, Any]:
    """The data of an event the step recorded (made JSON-ready by Step.record, so a plain dict)."""
    data: dict[str, Any] = event["data"]
    return data


def _yes_no(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in _YES | _NO:
        raise Refused("not_yes_no", field=field, value=value)
    return text in _YES


def _number(field: str, value: Any, kind: type[int] | type[float]) -> int | float:
    """A whole number for an int field (not 2.5, which int() would cut), any finite number for a float one."""
    try:
        number = kind(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Refused("not_whole_number" if kind is int else "not_number", field=field, value=value)
    return number
