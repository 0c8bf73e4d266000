"""Steps: start, claim, release, complete, fire timers. Each loads, runs, and saves in the caller's transaction.

A step writes the instance row first (optimistic lock on `lock_version`, which also serialises writers
on PostgreSQL), then the inbox rows it changed and its events. The caller commits; on a lost race the
flush raises and the step becomes a Conflict, so nothing half-written survives.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NoReturn, Protocol
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, IntermediateCatchEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from db import utcnow
from engine.calendars.working_time import BusinessCalendar, calendar_of, china
from engine.dto import Actor, InstanceView, TaskView
from engine.errors import Conflict, Forbidden, NotFound, ProcessError
from engine.history.audit import Auditor
from engine.history.sealing import Sealer
from engine.jobs import periodic
from engine.records import Event, InboxTask, Instance, ProcessVersion, TaskCandidate
from engine.repository.specs import CompiledProcess, FieldSpec, SpecCache, TaskMeta
from engine.runtime import formdata, serializer, timing
from engine.runtime.assignment import Assignment, assign
from engine.runtime.evaluator import DEFAULT_MEMORY_MB, DEFAULT_PROCESSES, DEFAULT_TIME_LIMIT, Limits
from engine.runtime.restricted import SandboxError
from engine.runtime.sandbox import SandboxScriptEngine

FormResolver = Callable[[str], "tuple[FieldSpec, ...] | None"]
CalendarResolver = Callable[[Session, int], BusinessCalendar]  # a company's business calendar, by its id
# A form submitted against what the step read: given the task and the case's data, the values to complete it with
# (or an exception that refuses them). The page and the API validate inside the step, not after a read of their own.
Submission = Callable[[TaskView, dict[str, Any]], dict[str, Any]]
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class StepOutcome:
    """What a saved step that ran the workflow did, for the observers outside the engine (SLA clocks,
    notifications): they run in the step's transaction, so what they write commits or rolls back with it."""

    instance: Instance
    process: CompiledProcess
    actor_id: int | None
    now: datetime
    data: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    new_tasks: tuple[tuple[dict[str, Any], list[str]], ...]  # new inbox rows and the principals they are offered to
    open_elements: frozenset[str]  # the user tasks open after the step
    calendar: Callable[[], BusinessCalendar]  # the company's calendar, resolved on first call

    @property
    def reopened(self) -> bool:
        """Whether the step took a flow the diagram marks as reopening the complaint."""
        flows = {flow.id: flow for flow in self.process.flows.values()}
        return any(event["type"] == "gateway_taken" and getattr(flows.get(event["data"].get("flow")), "reopens", False)
                   for event in self.events)


Observer = Callable[[Session, StepOutcome], None]


class Directory(Protocol):
    """How the engine finds users without knowing the user model."""

    def person(self, session: Session, company_id: int, email: str) -> tuple[int, str] | None:
        """The id and name of the company's active user with this e-mail."""

    def user_name(self, session: Session, user_id: int) -> str: ...

    def has_group(self, session: Session, company_id: int, name: str) -> bool: ...


def jsonable(value: Any) -> Any:
    """Workflow data as plain JSON (dates and other values become strings)."""
    return json.loads(json.dumps(value, default=str))


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case's data now: that of its live tasks, or of the last task that finished."""
    live = sorted((t for t in workflow.get_tasks(state=LIVE) if t.id not in workflow.subprocesses),
                  key=lambda t: t.last_state_change)  # subprocess tasks too; their parent task's data is stale
    if live:
        merged: dict[str, Any] = {}
        for task in live:
            merged.update(task.data)
        return merged
    done = [t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED]
    return dict(max(done, key=lambda t: t.last_state_change).data) if done else dict(workflow.task_tree.data)


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = sorted(set(before) | set(after))
    return {k: {"from": before.get(k), "to": after.get(k)} for k in keys if before.get(k) != after.get(k)}


def task_view(engine: Engine, row: InboxTask, instance: Instance) -> TaskView:
    """An inbox row as pages and the API show it, with its form's fields and the diagram's names."""
    process = engine.compiled(instance.version)
    meta = process.tasks[row.element_id]
    return TaskView(
        id=row.id, instance_id=row.instance_id, business_key=instance.business_key, element_id=row.element_id,
        name=meta.name, names=meta.names, lane=row.lane, candidate_groups=tuple(row.principals("group")),
        candidate_users=tuple(row.principals("user")), assignee_id=row.assignee_id, claimed_at=row.claimed_at,
        due_at=row.due_at, priority=row.priority, created_at=row.created_at, form_key=meta.form_key,
        fields=engine.fields_of(meta), process_names={"": process.name, **process.element_names.get(process.key, {})},
        group_labels=process.group_labels,
    )


def instance_view_from(engine: Engine, instance: Instance, data: dict[str, Any],
                       tasks: tuple[TaskView, ...]) -> InstanceView:
    """A case as pages and the API show it, from its row, its data (JSON) and its open tasks."""
    process = engine.compiled(instance.version)
    return InstanceView(
        id=instance.id, company_id=instance.company_id, business_key=instance.business_key, status=instance.status,
        process_key=process.key, process_name=instance.version.name, version=instance.version.version,
        version_id=instance.version_id, data=data, tasks=tasks, created_at=instance.created_at,
        completed_at=instance.completed_at, end_element=instance.end_element, error=instance.error,
        error_element=instance.error_element, element_names=process.element_names,
        field_labels=process.field_labels,
    )


def _find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    """A task of the workflow or of any of its subprocesses."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


def _element(task: Task) -> str:
    element: str = task.task_spec.bpmn_id or task.task_spec.name
    return element


def seal(session: Session, sealer: Sealer, instance: Instance, events: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Number and seal `events` onto the case row and write it: the chain head moves with the row's optimistic
    lock, so there is one writer per head (Conflict for the other). Returns the event rows to insert."""
    rows = [{**event, "instance_id": instance.id, "seq": instance.event_count + offset}
            for offset, event in enumerate(events, start=1)]
    instance.event_count += len(rows)
    instance.event_head = sealer.chain(instance.event_head, rows)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("concurrent_change") from None
    return rows


def _transient_row(row: dict[str, Any], principals: list[str]) -> InboxTask:
    """An inbox row the step inserted with Core, as an unattached object the task view reads."""
    return InboxTask(**row, candidates=[TaskCandidate(task_id=row["id"], principal=p) for p in principals])


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(Event.__table__.insert(), rows)  # Core: no ORM bookkeeping for append-only rows


class Step:
    """One unit of work on one instance: load it, change it, save it with its inbox rows and events."""

    def __init__(self, engine: Engine, session: Session, instance: Instance, actor: Actor,
                 workflow: BpmnWorkflow | None = None) -> None:
        self.engine = engine
        self.session = session
        self.instance = instance
        self.actor = actor
        self.process = engine.compiled(instance.version)
        self._workflow = workflow
        self.events: list[dict[str, Any]] = []
        self.ready_before: set[str] = set()
        self.assignments: dict[str, tuple[Assignment, int | None]] = {}  # opened task id -> who, its holder's id
        self.directory = engine.directory  # who holds an assigned task; a re-execution looks nobody up
        self.ready_after: list[Task] = []  # the user tasks ready once the step settled
        self.new_rows: list[tuple[dict[str, Any], list[str]]] = []  # inbox rows the step wrote, with principals
        self.now = engine.clock()

    @property
    def workflow(self) -> BpmnWorkflow:
        """Loaded on first use: claims and releases change inbox rows, never the workflow."""
        if self._workflow is None:
            self._workflow = serializer.loads(self.instance.state, self.process, self.engine.script_engine)
            self.ready_before = {str(t.id) for t in self.ready_user_tasks()}  # what the inbox holds now
        return self._workflow

    @cached_property
    def data_after(self) -> dict[str, Any]:
        """The case's data (JSON) once the step is saved: what observers and the step's view see."""
        data: dict[str, Any] = jsonable(current_data(self.workflow))
        return data

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """The company's business calendar, looked up (a query) only by a step that meets business time."""
        return self.engine.calendars(self.session, self.instance.company_id)

    def record(self, type_: str, element_id: str | None = None, task_id: str | None = None,
               **data: Any) -> dict[str, Any]:
        """Queue an event; it is written with the step (its `data` may still be completed until then)."""
        event = {"company_id": self.instance.company_id, "type": type_, "actor_id": self.actor.user_id,
                 "element_id": element_id, "task_id": task_id, "at": self.now, "data": jsonable(data)}
        self.events.append(event)
        return event

    def run(self, action: Callable[[], None]) -> None:
        """Perform `action` and the engine steps it enables; diagram failures become ProcessError."""
        try:
            with calendar_of(lambda: self.calendar, self.now):
                action()
                self.workflow.do_engine_steps(did_complete_task=self._after_engine_task)
        except (SpiffWorkflowException, SandboxError) as error:
            raise self._process_error(error) from None

    def _process_error(self, error: Exception) -> ProcessError:
        task = getattr(error, "task", None)
        element = _element(task) if task is not None else None
        name = self.process.element_names.get(element or "", {}).get("", "")
        detail = str(error).split("\n")[0].removesuffix(". ")  # SpiffWorkflow ends a message without notes so
        cause = getattr(error, "exception", None) or error.__context__
        if cause is not None and str(cause) not in detail:
            detail = f"{detail}: {type(cause).__name__}: {cause}"
        where = f"{name} ({element})" if name else (element or "diagram")
        return ProcessError(f"{where}: {detail}", element, self.instance.id)

    def _after_engine_task(self, task: Task) -> None:
        self._record_cycle_firing(task)
        spec = task.task_spec
        if isinstance(spec, (ExclusiveGateway, InclusiveGateway)) and len(spec.outputs) > 1:
            for child in task.children:
                if child.has_state(TaskState.MAYBE | TaskState.LIKELY | TaskState.CANCELLED):
                    continue
                flow = self.process.flows.get((spec.bpmn_id, _element(child)))
                self.record("gateway_taken", spec.bpmn_id, str(task.id), flow=flow.id if flow else None,
                            flow_name=flow.name if flow else "", target=_element(child),
                            condition=flow.condition if flow else None)
        elif isinstance(spec, (IntermediateCatchEvent, BoundaryEvent)):
            self.record("timer_fired", spec.bpmn_id, str(task.id))

    def _record_cycle_firing(self, task: Task) -> None:
        """A cycle timer ('R/P1D') fires without finishing: it starts a branch below itself and waits for its next
        time. Its firing is recorded when the first task of that branch runs or opens, once (marked on the task),
        so the history has it before what it started and a re-run fires it again there."""
        timer = task.parent
        if timer is None or timer.state != TaskState.WAITING or task.internal_data.get("cycle_fired") \
                or not isinstance(getattr(timer.task_spec, "event_definition", None), CycleTimerEventDefinition):
            return
        task.internal_data["cycle_fired"] = True
        self.record("timer_fired", _element(timer), str(timer.id))

    def save(self) -> None:
        """Write the instance row (the optimistic lock) with the new chain head, then its changed inbox rows and
        its events, hashed as they are now (a step may complete an event's data until here)."""
        instance = self.instance
        if self._workflow is not None:
            self.settle()
            instance.state = serializer.dumps(self._workflow)
            instance.serializer_version = serializer.SERIALIZER_VERSION
            instance.next_timer_at = self._next_timer()
        instance.updated_at = self.now
        rows = seal(self.session, self.engine.auditor.sealer, instance, self.events)
        if self._workflow is not None:
            self.new_rows = self._sync_inbox()
        insert_events(self.session, rows)
        if self._workflow is not None and self.engine.observers:
            self._notify(tuple(rows), tuple(self.new_rows))

    def view(self) -> InstanceView:
        """The case as this saved step left it, from the workflow it already holds: no second read or
        deserialization. Tasks that stayed open (parallel branches) are the only rows it reads."""
        written = {row["id"]: _transient_row(row, principals) for row, principals in self.new_rows}
        kept = [str(t.id) for t in self.ready_after if str(t.id) not in written]
        stayed = list(self.session.scalars(sa.select(InboxTask).where(InboxTask.id.in_(kept)))) if kept else []
        rows = sorted([*stayed, *written.values()], key=lambda row: row.created_at)
        tasks = tuple(task_view(self.engine, row, self.instance) for row in rows)
        return instance_view_from(self.engine, self.instance, self.data_after, tasks)

    def _notify(self, events: tuple[dict[str, Any], ...], new_tasks: tuple[tuple[dict[str, Any], list[str]], ...]
                ) -> None:
        outcome = StepOutcome(self.instance, self.process, self.actor.user_id, self.now, self.data_after, events,
                              new_tasks, frozenset(_element(t) for t in self.ready_after), lambda: self.calendar)
        for observer in self.engine.observers:
            observer(self.session, outcome)

    def settle(self) -> None:
        """After the work of a step: drop the finished part of the task tree, close the case if it ended, and work
        out who each task it opened goes to."""
        self.ready_after = self.ready_user_tasks()  # pruning keeps them: it drops only what finished
        for task in self.ready_after:  # a branch a cycle timer started with a user task
            self._record_cycle_firing(task)
        serializer.prune(self.workflow)
        self._finish_if_completed()
        for task in self.ready_after:
            if str(task.id) not in self.ready_before and str(task.id) not in self.assignments:
                self.assignments[str(task.id)] = self._assign(task)

    def _assign(self, task: Task) -> tuple[Assignment, int | None]:
        """Resolve the task's assignment on the case's data; a person it goes to is recorded in the history (the
        e-mail the diagram gave is what re-runs compare, the holder's id and name are as they were then)."""
        meta = self.process.tasks[_element(task)]
        try:
            with calendar_of(lambda: self.calendar, self.now):
                assignment = assign(meta, lambda expression: self._case_value(task, expression))
        except (SpiffWorkflowException, SandboxError, ValueError, TypeError) as error:
            raise ProcessError(f"{meta.name or meta.element_id} ({meta.element_id}): assignment: {error}",
                               meta.element_id, self.instance.id) from None
        if not assignment.assignee:
            return assignment, None
        found = self.directory.person(self.session, self.instance.company_id, assignment.assignee) \
            if self.directory else None
        holder, name = found or (None, None)
        self.record("task_assigned", meta.element_id, str(task.id), assignee=assignment.assignee,
                    assignee_id=holder, name=name)
        return assignment, holder

    def submit(self, task: Task, values: dict[str, Any]) -> None:
        """Complete a ready user task with its validated form values, recording what they changed."""
        before = dict(task.data)

        def run_task() -> None:
            task.data.update(values)
            task.run()

        completed = self.record("task_completed", _element(task), str(task.id), submitted=values)
        self.run(run_task)
        completed["data"] = jsonable({"submitted": values,
                                      "changes": data_changes(jsonable(before), jsonable(current_data(self.workflow)))})

    def _finish_if_completed(self) -> None:
        if not self.workflow.is_completed() or self.instance.status == "completed":
            return
        ends = [t for t in self.workflow.tasks.values()
                if isinstance(t.task_spec, EndEvent) and t.state == TaskState.COMPLETED]
        end = max(ends, key=lambda t: t.last_state_change) if ends else None
        self.instance.status = "completed"
        self.instance.completed_at = self.now
        self.instance.end_element = _element(end) if end else None
        self.record("instance_completed", self.instance.end_element)

    def _next_timer(self) -> datetime | None:
        """The earliest due time of the instance's waiting timers (cycles report theirs under 'next')."""
        due = []
        for event in self.workflow.waiting_events():
            value = event.value.get("next") if isinstance(event.value, dict) else event.value
            if "Time" in event.event_type and isinstance(value, str):
                due.append(timing.parse_utc(value))
        return min(due) if due else None

    def ready_user_tasks(self) -> list[Task]:
        return [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                if _element(t) in self.process.tasks]

    def _case_value(self, task: Task, expression: str) -> Any:
        """An assignment expression's value; nothing when it names data the case does not have (yet), such as a
        responsible person a case moved from an older version never chose."""
        try:
            return self.engine.script_engine.evaluate(task, expression)
        except SpiffWorkflowException as error:
            if getattr(error, "error_type", None) == "NameError":
                return None
            raise

    def _sync_inbox(self) -> list[tuple[dict[str, Any], list[str]]]:
        """Delete the rows of tasks no longer ready and add rows for newly ready ones (candidates cascade);
        returns the new rows with their principals."""
        ready = {str(t.id): t for t in self.ready_after}
        gone = self.ready_before - ready.keys()
        if gone:
            self.session.execute(InboxTask.__table__.delete().where(InboxTask.__table__.c.id.in_(gone)))
        new = [self._inbox_row(task) for task_id, task in ready.items() if task_id not in self.ready_before]
        if new:
            self.session.execute(InboxTask.__table__.insert(), [row for row, _ in new])
            candidates = [{"task_id": row["id"], "principal": p} for row, principals in new for p in principals]
            if candidates:
                self.session.execute(TaskCandidate.__table__.insert(), candidates)
        return new

    def _inbox_row(self, task: Task) -> tuple[dict[str, Any], list[str]]:
        """A new inbox row and the principals it is offered to."""
        meta = self.process.tasks[_element(task)]
        try:
            due = timing.due_at(meta.due_date, task, self.now, lambda: self.calendar)
            priority = timing.priority(meta.priority, task)
        except (SpiffWorkflowException, SandboxError, ValueError, TypeError) as error:
            raise ProcessError(f"{meta.name or meta.element_id} ({meta.element_id}): due date or priority: {error}",
                               meta.element_id, self.instance.id) from None
        assignment, holder = self.assignments[str(task.id)]  # settled before the inbox is written
        row = {"id": str(task.id), "company_id": self.instance.company_id, "instance_id": self.instance.id,
               "element_id": meta.element_id, "lane": meta.lane, "assignee_id": holder,
               "claimed_at": self.now if holder else None, "due_at": due, "priority": priority,
               "created_at": self.now}
        return row, assignment.principals(fallback=meta.lane if holder is None else None)


class Engine:
    """The entry points the rest of Kesu calls; every method works inside the caller's session."""

    def __init__(self, auditor: Auditor, specs: SpecCache | None = None,
                 script_time_limit: float = DEFAULT_TIME_LIMIT, form_resolver: FormResolver | None = None,
                 directory: Directory | None = None, clock: Callable[[], datetime] = utcnow,
                 calendars: CalendarResolver | None = None, observers: tuple[Observer, ...] = (),
                 script_memory_limit: int = DEFAULT_MEMORY_MB, script_processes: int = DEFAULT_PROCESSES) -> None:
        self.auditor = auditor  # the audit key seals every event; there is no default key
        self.specs = specs or SpecCache()
        self.script_engine = SandboxScriptEngine(Limits(script_time_limit, script_memory_limit, script_processes))
        self.form_resolver = form_resolver
        self.directory = directory
        self.clock = clock
        self.calendars = calendars or (lambda session, company_id: china())
        self.observers = observers  # told of every saved step that ran the workflow, inside its transaction

    def compiled(self, version: ProcessVersion) -> CompiledProcess:
        """The version's parsed spec; its XML and decision tables are loaded from the database only on a cache miss."""
        return self.specs.get(version.content_hash, lambda: version.bpmn_xml,
                              lambda: [decision.dmn_xml for decision in version.decisions])

    def fields_of(self, meta: TaskMeta) -> tuple[FieldSpec, ...]:
        """The fields a task declares: in the diagram, or in the built-in form its formKey names."""
        if meta.fields or not meta.form_key:
            return meta.fields
        resolved = self.form_resolver(meta.form_key) if self.form_resolver else None
        if resolved is None:
            raise ProcessError(f"{meta.name} ({meta.element_id}): no built-in form is called '{meta.form_key}'",
                               meta.element_id)
        return resolved

    # -- steps -----------------------------------------------------------------------------------

    def note(self, session: Session, instance: Instance, type_: str, actor_id: int | None, at: datetime,
             **data: Any) -> None:
        """Seal an event about the case that is not a step of its workflow (an SLA deadline warned, missed or
        acknowledged): the history and the evidence show it; re-runs and replays pass over it."""
        event = {"company_id": instance.company_id, "type": type_, "actor_id": actor_id, "element_id": None,
                 "task_id": None, "at": at, "data": jsonable(data)}
        insert_events(session, seal(session, self.auditor.sealer, instance, [event]))

    def start(self, session: Session, version: ProcessVersion, actor: Actor, data: dict[str, Any],
              business_key: str, trigger: dict[str, Any] | None = None) -> InstanceView:
        """Create an instance of `version` with `data` and run it to its first wait state.

        A test run (`actor.tester`) makes a sandbox instance, which inboxes, lists and reports never show.
        `trigger` says what started the case when no person did (a schedule's run: engine.jobs.periodic); the case's
        first event records it.
        """
        if version.company_id != actor.company_id or (version.version is None and not actor.tester):
            raise NotFound("no_such_procedure", key=version.process_key)
        process = self.compiled(version)
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=self.script_engine)
        instance = Instance(company_id=version.company_id, version=version, version_id=version.id,
                            business_key=business_key, state="", serializer_version=serializer.SERIALIZER_VERSION,
                            started_by_id=actor.user_id, created_at=self.clock(), sandbox=actor.tester)
        session.add(instance)
        session.flush()
        step = Step(self, session, instance, actor, workflow)
        started: dict[str, Any] = {"trigger": trigger} if trigger else {}
        step.record("instance_started", process.key, version=version.version, data=data, **started)
        step.run(lambda: periodic.begin(workflow, data))
        step.save()
        return step.view()

    def claim(self, session: Session, task_id: str, actor: Actor) -> TaskView:
        """Take a task offered to one of my groups; others then see who holds it."""
        row, instance = self._task_for(session, task_id, actor)
        if row.assignee_id == actor.user_id:
            return task_view(self, row, instance)
        self._ensure_free(session, row)
        step = Step(self, session, instance, actor)
        row.assignee_id, row.claimed_at = actor.user_id, step.now
        step.record("task_claimed", row.element_id, row.id)
        try:
            step.save()
        except Conflict:
            raise self._winner_of_claim(session, task_id) from None
        return task_view(self, row, instance)

    def release(self, session: Session, task_id: str, actor: Actor) -> TaskView:
        """Give back a task I hold, so my groups see it as open again."""
        row, instance = self._task_for(session, task_id, actor)
        if row.assignee_id != actor.user_id:
            raise Conflict("not_held") if row.assignee_id is None else self._held_by(session, row)
        step = Step(self, session, instance, actor)
        row.assignee_id, row.claimed_at = None, None
        step.record("task_released", row.element_id, row.id)
        step.save()
        return task_view(self, row, instance)

    def complete(self, session: Session, task_id: str, actor: Actor, data: dict[str, Any] | Submission
                 ) -> InstanceView:
        """Submit a task's form: only its declared fields, validated, then the procedure moves on. `data` is the
        values, or a Submission that makes them from the task and case this step read (one read, one
        deserialization per completion). Returns the case as the step left it."""
        row, instance = self._task_for(session, task_id, actor)
        step = Step(self, session, instance, actor)
        if callable(data):  # the form is checked first, as when the page or API validated before the step
            data = data(task_view(self, row, instance), jsonable(current_data(step.workflow)))
        if row.assignee_id not in (None, actor.user_id) and not actor.tester:  # a test run's owner plays everyone
            raise self._held_by(session, row)
        task = _find_task(step.workflow, row.id)
        if task is None or task.state != TaskState.READY:
            raise Conflict("not_ready")
        fields = self.fields_of(step.process.tasks[row.element_id])
        values = formdata.clean(fields, data)
        self._check_people(session, actor.company_id, fields, values)
        step.submit(task, values)
        step.save()
        return step.view()

    def _check_people(self, session: Session, company_id: int, fields: tuple[FieldSpec, ...],
                      values: dict[str, Any]) -> None:
        """A field choosing a user or a group names one of the company's (without a directory, anything goes)."""
        directory = self.directory
        if directory is not None:
            formdata.check_people(fields, values,
                                  lambda email: directory.person(session, company_id, email) is not None,
                                  lambda name: directory.has_group(session, company_id, name))

    def fire_timers(self, session: Session, instance: Instance, actor: Actor) -> Instance:
        """Fire the instance's due timers and run on from them."""
        step = Step(self, session, instance, actor)
        step.run(step.workflow.refresh_timers)
        step.save()
        return instance

    def record_error(self, session: Session, error: ProcessError, actor: Actor) -> None:
        """Put an instance in the error state an admin sees, with an 'error' event (in a fresh transaction)."""
        instance = session.get(Instance, error.instance_id)
        if instance is None:
            return
        step = Step(self, session, instance, actor)
        instance.status, instance.error, instance.error_element = "error", str(error), error.element_id
        step.record("error", error.element_id, message=str(error))
        step.save()

    # -- helpers ---------------------------------------------------------------------------------

    def _task_for(self, session: Session, task_id: str, actor: Actor) -> tuple[InboxTask, Instance]:
        """The task and its instance from one statement, so both come from the same moment.

        The lock version we will write against therefore matches the task row we decide on; PostgreSQL
        also locks both rows, and re-reads them if another step changed them while we waited.
        """
        offered = sa.exists().where(TaskCandidate.task_id == InboxTask.id,
                                    TaskCandidate.principal.in_(actor.principals))
        found = session.execute(
            sa.select(InboxTask, Instance, offered).join(Instance, InboxTask.instance_id == Instance.id)
            .where(InboxTask.id == task_id, InboxTask.company_id == actor.company_id)
            .with_for_update(of=(Instance.__table__, InboxTask.__table__))
            .execution_options(populate_existing=True)).first()
        if found is None:
            self._raise_missing(session, task_id, actor)
        row, instance, is_offered = found
        if instance.sandbox != actor.tester:  # test runs and real cases never mix
            raise NotFound("no_such_task")
        if not (is_offered or row.assignee_id == actor.user_id or actor.tester):
            raise Forbidden("not_offered")
        if instance.status == "error":
            raise Conflict("case_stopped", error=instance.error)
        return row, instance

    def _raise_missing(self, session: Session, task_id: str, actor: Actor) -> NoReturn:
        done = session.scalar(sa.select(Event).where(Event.task_id == task_id, Event.type == "task_completed",
                                                     Event.company_id == actor.company_id))
        if done is None:
            raise NotFound("no_such_task")
        who = self.directory.user_name(session, done.actor_id) if self.directory and done.actor_id else "?"
        raise Conflict("already_completed", name=who)

    @staticmethod
    def may_act(row: InboxTask, actor: Actor) -> bool:
        return actor.may_act((c.principal for c in row.candidates), row.assignee_id)

    def _ensure_free(self, session: Session, row: InboxTask) -> None:
        if row.assignee_id is not None:
            raise self._held_by(session, row)

    def _winner_of_claim(self, session: Session, task_id: str) -> Conflict:
        """After losing a race to claim, say who won (read in a fresh session: ours has failed)."""
        with Session(session.get_bind()) as fresh:
            row = fresh.get(InboxTask, task_id)
            if row is None or row.assignee_id is None:
                return Conflict("concurrent_change")
            return self._held_by(fresh, row)

    def _held_by(self, session: Session, row: InboxTask) -> Conflict:
        holder = row.assignee_id  # callers checked that someone holds the task
        who = self.directory.user_name(session, holder) if self.directory and holder is not None else str(holder)
        return Conflict("held_by", name=who)

