"""Replay a case step by step: what each recorded step did on the diagram and to the data.

A step is one recorded input (the start, a claim, a form submission, a timer firing, a migration, a correction)
with the outputs it caused. The replay re-executes the inputs the way a re-run does, but keeps the scratch
workflow in memory and looks at its task tree before each prune: the elements that finished, the sequence flows
the tokens took, the elements open afterwards, and the data. Should the re-execution stop matching the record,
the later steps are shown from the recorded events alone, marked as not reproduced.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache, cached
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import queries
from engine.history import audit
from engine.history.rerun import OUTPUTS, Divergence, Scratch
from engine.records import Event, Instance
from engine.repository.specs import CompiledProcess
from engine.runtime.steps import LIVE, Engine, Step, current_data, data_changes, jsonable


@dataclass(frozen=True)
class ReplayStep:
    """One step: its recorded events (the input first) and the case as it stood after it."""

    number: int
    events: tuple[Event, ...]
    version_id: int
    ran: tuple[str, ...]  # elements that finished in this step, in the order they finished
    flows: tuple[str, ...]  # sequence flows a token took in this step
    active: tuple[str, ...]  # elements open after the step: ready tasks, waiting timers and joins
    changes: dict[str, dict[str, Any]]  # the data this step changed: {field: {"from": ..., "to": ...}}
    reproduced: bool  # False once the re-execution stopped matching: the step is shown from its events alone


@dataclass(frozen=True)
class Replay:
    instance_id: int
    steps: tuple[ReplayStep, ...]
    divergence: Divergence | None
    notes: tuple[str, ...] = ()


# Replays kept by chain head, per process: a replay holds every event, so only the last few cases viewed.
CACHE: LRUCache[tuple[int, str | None], Replay] = LRUCache(64)


def cached_replay(session: Session, engine: Engine, instance: Instance,
                  chain: audit.ChainReport | None = None) -> tuple[Replay, audit.ChainReport]:
    """The case's replay and the verdict on its hash chain (verified here unless the caller just did).

    Events are append-only and the chain head moves with each, so a replay stays valid while the head is the
    same, provided the chain still verifies: a row altered in the database since would otherwise go unseen.
    A broken chain is therefore always re-executed, and never cached.
    """
    if chain is None:
        [chain] = engine.auditor.verify(session, instance.company_id, instance.id)
    if not chain.intact:
        return replay(session, engine, instance), chain
    return _kept_replay(session, engine, instance), chain


@cached(CACHE, key=lambda session, engine, instance: (instance.id, instance.event_head), lock=threading.Lock())
def _kept_replay(session: Session, engine: Engine, instance: Instance) -> Replay:
    return replay(session, engine, instance)


def replay(session: Session, engine: Engine, instance: Instance) -> Replay:
    """Every recorded step of the case, re-executed from its start on the versions it ran on."""
    events = queries.events(session, instance.id, instance.company_id)
    scratch = _Observed(session, engine, instance, events)
    steps: list[_Draft] = []
    divergence = None
    for event in events:
        starts_step = event.type not in OUTPUTS or (event.type == "timer_fired" and not scratch.pending)
        if divergence is None:
            divergence = scratch.check(event)
        if starts_step or not steps:
            steps.append(_Draft([event], scratch.version_id, divergence is None))
        else:
            steps[-1].events.append(event)
        if divergence is None:
            steps[-1].take(scratch.observed())
        else:
            steps[-1].from_record(event)
    return Replay(instance.id, tuple(draft.done(number) for number, draft in enumerate(steps, start=1)),
                  divergence, tuple(scratch.notes))


@dataclass
class _Draft:
    events: list[Event]
    version_id: int
    reproduced: bool
    ran: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    active: tuple[str, ...] = ()
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def take(self, observed: tuple[list[str], list[str], tuple[str, ...], dict[str, dict[str, Any]]]) -> None:
        ran, flows, self.active, changes = observed
        self.ran += ran
        self.flows += flows
        self.changes.update(changes)

    def from_record(self, event: Event) -> None:
        """Past a divergence only the record speaks: the element each event names, the flow each gateway took;
        what was open is not recorded, so nothing is shown as open."""
        self.reproduced = False
        if event.element_id and event.type in {"task_completed", "task_skipped", "timer_fired", "gateway_taken",
                                               "instance_completed"}:
            self.ran.append(event.element_id)
        if event.type == "gateway_taken" and event.data.get("flow"):
            self.flows.append(event.data["flow"])
        self.active = ()

    def done(self, number: int) -> ReplayStep:
        return ReplayStep(number, tuple(self.events), self.version_id, tuple(self.ran), tuple(self.flows),
                          self.active, self.changes, self.reproduced)


class _Observed(Scratch):
    """The re-run's scratch case, kept in memory and looked at after every step."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.workflow: BpmnWorkflow | None = None
        self.finished: set[Any] = set()  # ids of tasks whose finishing was counted
        self.entered: set[Any] = set()  # ids of tasks whose incoming flow was counted
        self.ran: list[str] = []
        self.flows: list[str] = []
        self.active: tuple[str, ...] = ()
        self.data: dict[str, Any] = {}
        self.changes: dict[str, dict[str, Any]] = {}

    @property
    def version_id(self) -> int:
        return self.case.version_id

    def step(self, event: Event, workflow: BpmnWorkflow | None = None) -> Step:
        return super().step(event, workflow or self.workflow)

    def keep(self, workflow: BpmnWorkflow) -> None:
        self.workflow = workflow  # no serialising: the replay shows, the re-run proves the saved form

    def settle(self, step: Step) -> None:
        self.look(step.workflow, step.process)  # before the prune drops what finished
        super().settle(step)
        data = jsonable(current_data(step.workflow))
        self.changes = data_changes(self.data, data)
        self.data = data

    def look(self, workflow: BpmnWorkflow, process: CompiledProcess) -> None:
        tasks = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id]
        for task in sorted(tasks, key=lambda t: t.last_state_change):
            if not task.has_state(LIVE | TaskState.COMPLETED):  # a rewind may have brought it back: count it anew
                self.entered.discard(task.id)
            if task.state != TaskState.COMPLETED:
                self.finished.discard(task.id)
            if task.has_state(LIVE | TaskState.COMPLETED) and task.id not in self.entered:
                self.entered.add(task.id)
                flow = _incoming(task, process)
                if flow:
                    self.flows.append(flow)
            if task.state == TaskState.COMPLETED and task.id not in self.finished:
                self.finished.add(task.id)
                self.ran.append(task.task_spec.bpmn_id)
        self.active = tuple(sorted({t.task_spec.bpmn_id for t in tasks if t.has_state(LIVE)}))

    def observed(self) -> tuple[list[str], list[str], tuple[str, ...], dict[str, dict[str, Any]]]:
        """What the steps since the last call did, and what is open now."""
        found = self.ran, self.flows, self.active, self.changes
        self.ran, self.flows, self.changes = [], [], {}
        return found


def _incoming(task: Task, process: CompiledProcess) -> str | None:
    """The sequence flow that led to the task: from the nearest ancestor that is a diagram element."""
    parent = task.parent
    while parent is not None and not parent.task_spec.bpmn_id:
        parent = parent.parent
    if parent is None:
        return None
    flow = process.flows.get((parent.task_spec.bpmn_id, task.task_spec.bpmn_id))
    return flow.id if flow else None
