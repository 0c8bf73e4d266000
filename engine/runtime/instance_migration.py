"""Move running instances to a newer version of their procedure.

SpiffWorkflow's diff aligns each task of an instance with an element of the new diagram (by id, else by its
place between aligned neighbours); `migrate_workflow` re-points the tasks and re-predicts the READY and
WAITING branches. The dry run (`plan`) and the real move (`migrate`) both do that in memory on a freshly
loaded workflow, so what the plan promises is what the move does; only `migrate` saves, through a `Step`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.dto import Actor
from engine.errors import Conflict
from engine.records import InboxTask, Instance, ProcessVersion
from engine.repository.specs import CompiledProcess
from engine.runtime import serializer
from engine.runtime.steps import LIVE, Engine, Step

_NOT_RUNNING = {"completed": "The case is already closed", "error": "The case is stopped by an error"}
# Inbox columns a moved task keeps: who holds it and since when, when it arrived and when it is due.
_KEPT_COLUMNS = ("assignee_id", "claimed_at", "created_at", "due_at")


@dataclass(frozen=True)
class MigrationCheck:
    """Whether one instance can move to the target version, why not, and its open elements before and after."""

    instance_id: int
    business_key: str
    can_move: bool
    reasons: list[str]
    current_elements: list[str]
    target_elements: list[str]


class MigrationRefused(Conflict):
    """The instance cannot move (409); `check.reasons` say why, in plain English."""

    def __init__(self, check: MigrationCheck) -> None:
        super().__init__("cannot_migrate", reasons="; ".join(check.reasons))
        self.args = (self.params["reasons"],)  # plain English, shown to the owner as it is
        self.check = check


def plan(session: Session, engine: Engine, instances: list[Instance], target: ProcessVersion) -> list[MigrationCheck]:
    """The dry run: each instance is moved in memory only, and nothing is written."""
    return [_examine(Step(engine, session, instance, Actor(company_id=instance.company_id)), target)
            for instance in instances]


def migrate(session: Session, engine: Engine, instance: Instance, target: ProcessVersion,
            actor: Actor) -> MigrationCheck:
    """Move one instance to `target` in the caller's transaction, or raise MigrationRefused with the plan's reasons."""
    step = Step(engine, session, instance, actor)
    rows = list(session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance.id)))
    kept = [{"row_id": row.id, **{f"kept_{column}": getattr(row, column) for column in _KEPT_COLUMNS}}
            for row in rows]
    source = instance.version
    check = move(step, target)
    if not check.can_move:
        raise MigrationRefused(check)
    for row in rows:  # the save rebuilds them from the new version (deleted in its flush, after the locked row)
        session.delete(row)
    step.ready_before = set()
    step.record("instance_migrated", from_version=source.version, to_version=target.version,
                from_version_id=source.id, to_version_id=target.id, open_elements=check.target_elements)
    step.save()
    _keep_inbox_columns(session, kept)
    return check


# -- the check, and the move in memory ---------------------------------------------------------------------

def move(step: Step, target: ProcessVersion) -> MigrationCheck:
    """Move the step's instance and workflow to `target` in memory, if the check allows it; nothing is saved."""
    check = _examine(step, target)
    if check.can_move:
        step.instance.version, step.instance.version_id = target, target.id
        step.process = step.engine.compiled(target)
    return check


def _examine(step: Step, target: ProcessVersion) -> MigrationCheck:
    """Check the instance against `target` and, if nothing stands in the way, move its workflow in memory."""
    instance = step.instance
    current = open_elements(step.workflow)
    reasons = _preconditions(instance, target)
    if not reasons:
        reasons = _move(step.workflow, step.process, step.engine.compiled(target), f"version {target.version}")
    return MigrationCheck(instance.id, instance.business_key, not reasons, reasons, current,
                          [] if reasons else open_elements(step.workflow))


def _preconditions(instance: Instance, target: ProcessVersion) -> list[str]:
    """What rules a move out before the diagrams are compared."""
    source = instance.version
    if target.company_id != instance.company_id:
        return ["The target version belongs to another company"]
    if target.process_key != source.process_key:
        return [f"The case runs the procedure {source.process_key}, not {target.process_key}"]
    reasons = []
    if target.version is None:
        reasons.append("The target is a test version, not a published one")
    elif source.version is not None and target.version <= source.version:
        reasons.append(f"Version {target.version} is not newer than version {source.version}, which the case runs on")
    if instance.status != "running":
        reasons.append(_NOT_RUNNING.get(instance.status, f"The case is {instance.status}"))
    return reasons


def _move(workflow: BpmnWorkflow, source: CompiledProcess, target: CompiledProcess, label: str) -> list[str]:
    """Re-point the workflow at `target`, or say which open elements have no counterpart there."""
    top, subprocesses = diff_workflow(serializer.REGISTRY, workflow, target.spec, target.subprocess_specs)
    reasons = _lost_open_elements(workflow, top, subprocesses, source, label)
    if reasons:
        return reasons
    due = {task.id: task.internal_data["event_value"] for task in workflow.get_tasks(state=TaskState.WAITING)
           if "event_value" in task.internal_data}
    migrate_workflow(top, workflow, target.spec)
    for task_id, subprocess in workflow.subprocesses.items():
        if subprocesses.get(task_id) is not None:
            migrate_workflow(subprocesses[task_id], subprocess, target.subprocess_specs[subprocess.spec.name])
    workflow.subprocess_specs = target.subprocess_specs
    _predict_after_running_subprocesses(workflow)
    _keep_due_times(workflow, due)
    serializer.prune(workflow)  # what the save keeps is what must exist in the new version
    return _stale_elements(workflow, source, target, label)


def _lost_open_elements(workflow: BpmnWorkflow, top: WorkflowDiff, subprocesses: dict[UUID, WorkflowDiff | None],
                        source: CompiledProcess, label: str) -> list[str]:
    """An open element (in the top level or a subprocess) without a counterpart of the same kind stops the move."""
    reasons = []
    for task in _open_tasks(workflow):
        diff = top if task.workflow is workflow else subprocesses.get(task.workflow.parent_task_id)
        counterpart = diff.alignment.get(task) if diff is not None else None
        if counterpart is None:
            reasons.append(f"{_describe(task, source)} no longer exists in {label}")
        elif type(counterpart) is not type(task.task_spec):
            reasons.append(f"{_describe(task, source)} is a different kind of element in {label}")
    return reasons


def _predict_after_running_subprocesses(workflow: BpmnWorkflow) -> None:
    """migrate_workflow re-predicts only READY and WAITING branches; a running subprocess would still lead to
    the old diagram's next elements (an element added after it would be skipped), so predict them anew."""
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if isinstance(task.task_spec, SubWorkflowTask):
            task._drop_children()
            task.task_spec._predict(task, mask=TaskState.STARTED | TaskState.FUTURE | TaskState.PREDICTED_MASK)


def _keep_due_times(workflow: BpmnWorkflow, due: dict[UUID, Any]) -> None:
    """Resetting a waiting timer computes its due time from now (and from the new diagram): put the old one back."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task.id in due:
            task.internal_data["event_value"] = due[task.id]


def _stale_elements(workflow: BpmnWorkflow, source: CompiledProcess, target: CompiledProcess,
                    label: str) -> list[str]:
    """Tasks the case keeps (say a finished parallel branch) whose element is gone could not be loaded again."""
    reasons = []
    for task in workflow.get_tasks():
        specs = target.spec if task.workflow is workflow else target.subprocess_specs.get(task.workflow.spec.name)
        if specs is None or specs.task_specs.get(task.task_spec.name) is not task.task_spec:
            reason = f"{_describe(task, source)} is still part of the case and no longer exists in {label}"
            reasons += [reason] if reason not in reasons else []
    return reasons


# -- inbox rows ----------------------------------------------------------------------------------------------

def _keep_inbox_columns(session: Session, kept: list[dict[str, Any]]) -> None:
    """A task still open after the move keeps its holder, arrival and due time on its rebuilt row.

    Resetting a READY task keeps its id, so its rebuilt row has the old row's id; the values of rows whose
    task is no longer open match nothing.
    """
    if kept:
        table = InboxTask.__table__
        session.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                        .values({column: sa.bindparam(f"kept_{column}") for column in _KEPT_COLUMNS}), kept)


# -- words ------------------------------------------------------------------------------------------------------

def _open_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """Live tasks that stand for a diagram element (not the engine's own splits and joins)."""
    return [task for task in workflow.get_tasks(state=LIVE) if task.task_spec.bpmn_id]


def open_elements(workflow: BpmnWorkflow) -> list[str]:
    """The ids an owner recognises in the diagram, each once."""
    return sorted({task.task_spec.bpmn_id for task in _open_tasks(workflow)})


def _describe(task: Task, process: CompiledProcess) -> str:
    """'The open task "Approve plan" (approve_quality)': what the element is, its name and its id."""
    element = task.task_spec.bpmn_id or task.task_spec.name
    name = process.element_names.get(element, {}).get("")
    kind = _kind(task, element in process.tasks)
    return f'The {kind} "{name}" ({element})' if name else f"The {kind} {element}"


def _kind(task: Task, is_user_task: bool) -> str:
    """The words an owner would use for the element in its present state."""
    finished = task.has_state(TaskState.FINISHED_MASK)
    if is_user_task:
        return "finished task" if finished else "open task"
    if finished:
        return "finished element"
    if isinstance(task.task_spec, CatchingEvent):
        return "waiting event"
    return "running subprocess" if isinstance(task.task_spec, SubWorkflowTask) else "open element"
