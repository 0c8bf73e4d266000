"""Re-run a case: re-execute its recorded inputs on a scratch copy and confirm they reproduce its history.

The scratch case is a transient Instance, never added to the session. Each recorded input (the start, a form
submission, a timer firing, a migration, an admin's correction) becomes a runtime Step on it, run and settled the
way a save would (pruned, finished, serialised) except that the state stays in memory. The outputs those steps
record (gateways taken, timers fired, the end) must match the recorded outputs one for one, in order; the rerun
stops at the first difference. Times, actors and task ids (new in every run) are not compared.

A rewind puts the case back into the state it had after an earlier event, so the scratch keeps its own state
after each event some rewind of the history goes back to (a `Moment`), and a re-executed rewind restores it.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, DurationTimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import queries
from engine.dto import Actor
from engine.errors import ProcessError
from engine.jobs import periodic
from engine.records import Event, Instance, ProcessVersion
from engine.runtime import instance_migration as migration, serializer, timing
from engine.runtime.steps import Engine, Step, current_data, data_changes, jsonable

# What must match, beyond type and element, for each kind of event; any other kind only has to occur.
_COMPARED = {"instance_started": ("version",), "task_completed": ("changes",), "gateway_taken": ("flow", "target"),
             "instance_migrated": ("from_version", "to_version", "open_elements"), "error": ("message",),
             "data_corrected": ("changes",), "task_skipped": ("changes",), "case_retried": ("error",),
             "case_rewound": ("open_before", "open_after", "changes"), "task_assigned": ("assignee",)}
OUTPUTS = frozenset({"gateway_taken", "timer_fired", "instance_completed", "task_assigned"})


@dataclass(frozen=True)
class Divergence:
    """The first recorded event the re-execution did not reproduce (seq None: the state after the last event)."""

    seq: int | None
    expected: dict[str, Any] | None
    actual: dict[str, Any] | None
    reason: str


@dataclass(frozen=True)
class RerunReport:
    """How many recorded events the re-execution confirmed, the first it did not, and what it could not re-run."""

    instance_id: int
    steps_checked: int
    divergence: Divergence | None
    notes: tuple[str, ...] = ()

    @property
    def confirmed(self) -> bool:
        return self.divergence is None


@dataclass(frozen=True)
class Moment:
    """The case as a save left it just after one recorded event: what a rewind to that event restores.

    `due` holds each waiting duration timer's due time as the recorded run had it: a re-executed timer counts
    from when it is re-executed, so the scratch's own due times lie in the future.
    """

    state: str
    version: ProcessVersion
    status: str
    error: str | None
    error_element: str | None
    end_element: str | None
    completed_at: datetime | None
    due: dict[str, str]

    def restore(self, case: Instance, engine: Engine) -> BpmnWorkflow:
        """Put the case row back as it stood then, and load the workflow of that moment."""
        case.version, case.version_id = self.version, self.version.id
        case.status, case.error, case.error_element = self.status, self.error, self.error_element
        case.end_element, case.completed_at = self.end_element, self.completed_at
        return serializer.loads(self.state, engine.compiled(self.version), engine.script_engine)


def overwrite(workflow: BpmnWorkflow, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set fields of the case's data; what changed. Every task of the (pruned) tree holding a field gets the value:
    current_data reads the live tasks, and a waiting timer or join merges in the data of the finished tasks before
    it again whenever it is updated."""
    before = jsonable(current_data(workflow))
    for task in workflow.get_tasks():
        task.data.update({field: value for field, value in values.items() if field in task.data})
    return data_changes(before, jsonable(current_data(workflow)))


def rewound(before: BpmnWorkflow, after: BpmnWorkflow) -> dict[str, Any]:
    """What a rewind changes: the elements open before and after it, and the data."""
    return {"open_before": migration.open_elements(before), "open_after": migration.open_elements(after),
            "changes": data_changes(jsonable(current_data(before)), jsonable(current_data(after)))}


def _due_now(cycle: Task, now: datetime) -> None:
    """Make a cycle timer's next time due, so it fires once and then waits a whole interval (marking it fired, as
    a duration timer is, would end the cycle)."""
    due = cycle.internal_data.get("event_value")
    if isinstance(due, dict):
        due["next"] = (now - timedelta(seconds=1)).isoformat()


class _Unapplicable(Exception):
    """A recorded input cannot be applied to the scratch case ('task grade_complaint was not ready')."""


def _essence(type_: str, element_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The part of an event a re-execution must reproduce."""
    return {"type": type_, "element_id": element_id, **{key: data.get(key) for key in _COMPARED.get(type_, ())}}


def rerun(session: Session, engine: Engine, instance: Instance) -> RerunReport:
    """Re-execute the case's recorded inputs from its start, writing nothing, and compare every step."""
    events = queries.events(session, instance.id, instance.company_id)
    scratch = Scratch(session, engine, instance, events)
    checked = 0
    for event in events:
        divergence = scratch.check(event)
        if divergence is not None:
            return RerunReport(instance.id, checked, divergence, tuple(scratch.notes))
        checked += 1
    return RerunReport(instance.id, checked, scratch.final_divergence(instance), tuple(scratch.notes))


class Scratch:
    """The case being re-executed: its state in memory and the outputs produced but not yet matched."""

    def __init__(self, session: Session, engine: Engine, instance: Instance, events: list[Event]) -> None:
        self.session, self.engine = session, engine
        self.first_move = next((e for e in events if e.type == "instance_migrated"), None)
        self.rewind_targets = {e.data.get("to_seq") for e in events if e.type == "case_rewound"}
        self.moments: dict[int, Moment] = {}  # the scratch's own state after each rewind target
        self.settled: BpmnWorkflow | None = None  # the workflow as the last step left it
        self.timer_shift: dict[UUID, timedelta] = {}  # per waiting duration timer: recorded time - scratch time
        self.actor = Actor(company_id=instance.company_id)
        self.case = Instance(company_id=instance.company_id, version=instance.version, version_id=instance.version_id,
                             business_key=instance.business_key, status="running", state="")
        self.pending: deque[dict[str, Any]] = deque()
        self.ready: set[str] = set()  # elements of the ready user tasks, which claims must name
        self.notes: list[str] = []
        self.inputs: dict[str, Callable[[Event], dict[str, Any]]] = {
            "instance_started": self.start, "task_completed": self.complete, "instance_migrated": self.migrate,
            "task_claimed": self.hold, "task_released": self.hold, "error": self.stop,
            "data_corrected": self.correct, "case_retried": self.retry, "task_skipped": self.complete,
            "case_rewound": self.rewind}

    def check(self, event: Event) -> Divergence | None:
        """Re-execute or match one recorded event; the divergence if the re-execution does not reproduce it."""
        expected = _essence(event.type, event.element_id, event.data)
        if self.pending and event.type in self.inputs:
            return Divergence(event.seq, expected, self.pending[0], "the re-execution produced an event the history "
                                                                    "does not have here")
        try:
            actual = self.replay(event, expected)
        except _Unapplicable as refused:
            return Divergence(event.seq, expected, None, str(refused))
        except ProcessError as error:
            return Divergence(event.seq, expected, _essence("error", error.element_id, {"message": str(error)}),
                              "the re-execution failed")
        if actual == expected:
            if event.seq in self.rewind_targets and self.settled is not None:
                self.moments[event.seq] = self.moment(self.settled)
            return None
        return Divergence(event.seq, expected, actual, "the re-execution did not produce this event" if actual is None
                          else "the re-execution produced a different event")

    def replay(self, event: Event, expected: dict[str, Any]) -> dict[str, Any] | None:
        """An output is the next one produced (a timer nothing fired yet is fired); an input is applied."""
        if event.type in OUTPUTS:
            if not self.pending and event.type == "timer_fired":
                self.fire(event)
            return self.pending.popleft() if self.pending else None
        apply = self.inputs.get(event.type)
        return apply(event) if apply else expected  # other kinds are not the engine's doing: nothing to re-run

    # -- inputs: each returns the essence of the recorded input as the re-execution saw it --------------------

    def start(self, event: Event) -> dict[str, Any]:
        """Create the workflow on the pinned version with the recorded start data, as Engine.start does."""
        if self.first_move is not None:  # the case started on the version its first migration moved it from
            self.case.version = _version(self.session, self.case, self.first_move.data, "from")
            self.case.version_id = self.case.version.id
        process = self.engine.compiled(self.case.version)
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=self.engine.script_engine)
        step = self.step(event, workflow)
        step.run(lambda: periodic.begin(workflow, event.data.get("data", {})))
        self.settle(step)
        return _essence(event.type, process.key, {"version": self.case.version.version})

    def complete(self, event: Event) -> dict[str, Any]:
        """Submit the recorded values to the ready task of that element, as Engine.complete does (a skipped task:
        none, as engine.runtime.corrections.skip does)."""
        step = self.step(event)
        task = next((t for t in step.ready_user_tasks() if t.task_spec.bpmn_id == event.element_id), None)
        if task is None:
            raise _Unapplicable(f"task {event.element_id} was not ready")
        step.submit(task, event.data.get("submitted", {}))
        completed = step.events.pop(0)  # compared with the recorded one here, not among the outputs
        self.settle(step)
        return _essence(event.type, event.element_id, {"changes": completed["data"]["changes"]})

    def fire(self, event: Event) -> None:
        """Fire the recorded timer now, whatever its due time in the scratch run, as Engine.fire_timers does."""
        step = self.step(event)
        waiting = [t for t in step.workflow.get_tasks(state=TaskState.WAITING)
                   if t.task_spec.bpmn_id == event.element_id]
        if not waiting:
            raise _Unapplicable(f"timer {event.element_id} was not waiting")
        for task in waiting:
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                _due_now(task, self.engine.clock())  # what SpiffWorkflow's timers compare with, not step.now
            else:
                task.internal_data["event_fired"] = True  # a timer checks this once its due time has not come
        step.run(step.workflow.refresh_timers)
        self.settle(step)

    def migrate(self, event: Event) -> dict[str, Any]:
        """Move the scratch workflow to the recorded target version, as engine.runtime.instance_migration.migrate
        does."""
        target = _version(self.session, self.case, event.data, "to")
        step = self.step(event)
        source = self.case.version
        check = migration.move(step, target)
        if not check.can_move:
            raise _Unapplicable(f"the case could not move to version {target.version}: {'; '.join(check.reasons)}")
        self.settle(step)
        return _essence(event.type, None, {"from_version": source.version, "to_version": target.version,
                                          "open_elements": check.target_elements})

    def hold(self, event: Event) -> dict[str, Any]:
        """Claims and releases change who holds a task, not the workflow: the task only has to be ready."""
        if event.element_id not in self.ready:
            raise _Unapplicable(f"task {event.element_id} was not ready")
        return _essence(event.type, event.element_id, event.data)

    def stop(self, event: Event) -> dict[str, Any]:
        """The failed step was rolled back, input and all, so only the stop itself can be re-run."""
        case = self.case
        case.status, case.error, case.error_element = "error", event.data.get("message"), event.element_id
        self.notes.append(f"seq {event.seq}: the error at {event.element_id} was not re-executed; the input that "
                          "caused it was rolled back with the failed step and is not in the history")
        return _essence(event.type, event.element_id, event.data)

    def correct(self, event: Event) -> dict[str, Any]:
        """Set the recorded corrected values, as engine.runtime.corrections.correct_data does."""
        step = self.step(event)
        changes = overwrite(step.workflow, {field: change.get("to")
                                            for field, change in event.data.get("changes", {}).items()})
        self.settle(step)
        return _essence(event.type, None, {"changes": changes})

    def retry(self, event: Event) -> dict[str, Any]:
        """Let the stopped case run again; the timers the retry fired follow as outputs, fired when matched."""
        if self.case.status != "error":
            raise _Unapplicable("the case was not stopped by an error")
        error, self.case.status, self.case.error, self.case.error_element = self.case.error, "running", None, None
        return _essence(event.type, None, {"error": error})

    def rewind(self, event: Event) -> dict[str, Any]:
        """Put the scratch case back into its own state after the target event, as engine.runtime.corrections.rewind
        does."""
        target: int | None = event.data.get("to_seq")
        moment = None if target is None else self.moments.get(target)
        if moment is None:
            raise _Unapplicable(f"the re-execution did not pass event {event.data.get('to_seq')}, the rewind's target")
        before = self.step(event).workflow
        step = self.step(event, moment.restore(self.case, self.engine))
        self.settle(step)
        return _essence(event.type, None, rewound(before, step.workflow))

    # -- steps on the scratch case -----------------------------------------------------------------------------

    def step(self, event: Event, workflow: BpmnWorkflow | None = None) -> Step:
        """A runtime Step on the scratch case, at the recorded time; it loads the scratch state."""
        if workflow is None and not self.case.state:
            raise _Unapplicable("the history does not begin with the start of the case")
        step = Step(self.engine, self.session, self.case, self.actor, workflow)
        step.now, step.directory = event.at, None  # the e-mail a task went to is compared; holders are not
        return step

    def settle(self, step: Step) -> None:
        """What Step.save does to the state and the events, without writing anything."""
        step.settle()
        self.keep(step.workflow)
        self.settled = step.workflow
        self.ready = {task.task_spec.bpmn_id for task in step.ready_after}
        self.pending.extend(_essence(e["type"], e["element_id"], e["data"]) for e in step.events)
        shift = step.now - self.engine.clock()  # SpiffWorkflow timed the new timers from the clock, not step.now
        for task in step.workflow.get_tasks(state=TaskState.WAITING):
            if isinstance(getattr(task.task_spec, "event_definition", None), DurationTimerEventDefinition):
                self.timer_shift.setdefault(task.id, shift)

    def keep(self, workflow: BpmnWorkflow) -> None:
        """Store the settled workflow as a save would: serialised, so the next step loads it back."""
        self.case.state = serializer.dumps(workflow)

    def moment(self, workflow: BpmnWorkflow) -> Moment:
        """The scratch case as it stands with the settled `workflow`, its waiting timers due when the recorded run
        had them due."""
        case = self.case
        due = {str(task.id): (timing.parse_utc(value) + self.timer_shift[task.id]).isoformat()
               for task in workflow.get_tasks(state=TaskState.WAITING)
               if task.id in self.timer_shift and isinstance(value := task.internal_data.get("event_value"), str)}
        return Moment(serializer.dumps(workflow), case.version, case.status, case.error, case.error_element,
                      case.end_element, case.completed_at, due)

    def final_divergence(self, instance: Instance) -> Divergence | None:
        """After the last event, nothing may be left over and the state must be the stored one."""
        if self.pending:
            return Divergence(None, None, self.pending[0], "the re-execution went on after the last recorded event")
        if not self.case.state:
            return Divergence(None, None, None, "the history does not record the start of the case")
        stored, scratch = self.summary(instance), self.summary(self.case)
        return None if stored == scratch else Divergence(None, stored, scratch, "the final state differs from "
                                                                                "the stored one")

    def summary(self, case: Instance) -> dict[str, Any]:
        """What a case's state comes to: status, end or error element, open tasks and data."""
        workflow = serializer.loads(case.state, self.engine.compiled(case.version), self.engine.script_engine)
        ready = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
        return {"status": case.status, "end_element": case.end_element, "error_element": case.error_element,
                "version": case.version.version, "open_tasks": sorted(ready), "data": jsonable(current_data(workflow))}


# -- versions ---------------------------------------------------------------------------------------------------

def _version(session: Session, case: Instance, data: dict[str, Any], side: str) -> ProcessVersion:
    """A migration's source or target version, by id or (in events without ids) by number."""
    by_id = data.get(f"{side}_version_id")
    query = sa.select(ProcessVersion).where(ProcessVersion.company_id == case.company_id)
    if by_id is not None:
        query = query.where(ProcessVersion.id == by_id)
    else:
        query = query.where(ProcessVersion.process_key == case.version.process_key,
                            ProcessVersion.version == data.get(f"{side}_version"))
    version = session.scalar(query)
    if version is None:
        raise _Unapplicable(f"version {data.get(f'{side}_version')} of {case.version.process_key} is not stored")
    return version
