"""Instance state without the spec, and a task tree that stays small however often a case loops.

SpiffWorkflow's default serializer embeds the whole spec in every instance; here the spec comes from
the version's cached parse, so a row holds only tasks and data. SpiffWorkflow keeps every task ever
run, so each loop round deepens the tree until it overflows the stack (~120 rounds); `prune` drops the
finished ancestors above the live part of the tree (Kesu's event log is the history, not the tree).
"""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.task_spec import UserTaskConverter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.repository.specs import CompiledProcess, KesuUserTask

SERIALIZER_VERSION = "kesu-1"


class SpecReferenceConverter(BpmnWorkflowConverter):
    """Top-level workflow converter that leaves the spec out and takes it back from the cache."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], process: CompiledProcess | None = None) -> BpmnWorkflow:
        if process is None:
            raise ValueError("restoring an instance needs its process version")
        workflow = self.target_class(process.spec, process.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> DefaultRegistry:
    # Kesu's user task is listed so that diffs between versions (migration) can compare its specs.
    config = {**CAMUNDA_CONFIG, BpmnWorkflow: SpecReferenceConverter, KesuUserTask: UserTaskConverter}
    return BpmnWorkflowSerializer.configure(config)


_SERIALIZER = BpmnWorkflowSerializer(_registry(), version=SERIALIZER_VERSION)
REGISTRY = _SERIALIZER.registry


def dumps(workflow: BpmnWorkflow) -> str:
    """Serialize the workflow's tasks and data, not its spec."""
    state: str = _SERIALIZER.serialize_json(workflow)
    return state


def loads(state: str, process: CompiledProcess, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    """Rebuild a workflow on its cached spec and re-attach the sandboxed script engine."""
    dct = json.loads(state)
    dct.pop(_SERIALIZER.VERSION_KEY, None)
    workflow = _SERIALIZER.from_dict(dct, process=process)
    workflow.script_engine = script_engine
    return workflow


def _lowest_common_ancestor(tasks: list[Task]) -> Task | None:
    if not tasks:
        return None
    path = []
    node = tasks[0]
    while node is not None:
        path.append(node)
        node = node.parent
    common = {t.id: i for i, t in enumerate(path)}
    deepest = 0
    for task in tasks[1:]:
        node = task
        while node.id not in common:
            node = node.parent
        deepest = max(deepest, common[node.id])
    return path[deepest]


def _prune_tree(workflow: BpmnBaseWorkflow) -> int:
    live = [t for t in workflow.tasks.values() if t.has_state(TaskState.NOT_FINISHED_MASK)]
    anchor = _lowest_common_ancestor(live)
    root = workflow.task_tree
    if anchor is None or anchor is root or anchor.parent is root:
        return 0
    keep = {t.id for t in anchor}  # the anchor and every descendant
    keep.add(root.id)
    doomed = [task_id for task_id in workflow.tasks if task_id not in keep]
    for task_id in doomed:
        del workflow.tasks[task_id]
    anchor._parent = root.id
    root._children = [anchor.id]
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(doomed)


def prune(workflow: BpmnWorkflow) -> int:
    """Drop finished tasks above the live part of every task tree; returns how many were dropped."""
    dropped = _prune_tree(workflow)
    for subprocess in workflow.subprocesses.values():
        dropped += _prune_tree(subprocess)
    return dropped
