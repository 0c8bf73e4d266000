"""(a) Raw SpiffWorkflow steps on the standard procedure: in memory, and with a serializer round trip.

Each sample completes one user task and runs the engine steps it enables; the ready task is found
before the clock starts, so a sample is the step itself (plus, for round trips, load and save).
"""
from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.task_spec import UserTaskConverter
from SpiffWorkflow.util.task import TaskState

from bench.procedure import COMPLAINT, GRADING_TABLE, STANDARD, STRAIGHT
from bench.stats import Samples, timed
from engine.repository.specs import CompiledProcess, KesuUserTask, SpecCache, content_hash
from engine.runtime import serializer as kesu_serializer
from engine.runtime.sandbox import SandboxScriptEngine

KESU_ATTRIBUTES = ("candidate_groups", "candidate_users", "assignee", "due_date", "priority")


class KesuUserTaskConverter(UserTaskConverter):
    """Lets the stock serializer embed Kesu's user-task spec (a camunda UserTask with five more attributes)."""

    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct.update({name: getattr(spec, name) for name in KESU_ATTRIBUTES})
        return dct


def stock_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's own serializer with CAMUNDA_CONFIG: the spec is embedded in every state."""
    config = dict(CAMUNDA_CONFIG)
    config[KesuUserTask] = KesuUserTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def compiled_standard() -> CompiledProcess:
    """The standard procedure parsed once, as Kesu's spec cache holds it."""
    xml = STANDARD.read_text(encoding="utf-8")
    table = GRADING_TABLE.read_text(encoding="utf-8")
    return SpecCache().get(content_hash(xml.encode("utf-8")), lambda: xml, lambda: [table])


def new_workflow(process: CompiledProcess, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    """A fresh case at its first user task."""
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update({**COMPLAINT, "complaint_number": "TS-BENCH"})
    workflow.do_engine_steps()
    return workflow


def ready_task_id(workflow: BpmnWorkflow) -> UUID | None:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    return ready[0].id if ready else None


def complete(workflow: BpmnWorkflow, task_id: UUID) -> None:
    """The raw step: submit the task's answers, run it, run the engine steps it enables."""
    task = workflow.tasks[task_id]
    task.data.update(STRAIGHT[task.task_spec.bpmn_id])
    task.run()
    workflow.do_engine_steps()


def case_in_memory(process: CompiledProcess, script_engine) -> list[tuple[float, float]]:
    """Timed steps of one straight-through case on an in-memory workflow."""
    workflow = new_workflow(process, script_engine)
    samples = []
    while (task_id := ready_task_id(workflow)) is not None:
        samples.append(timed(lambda: complete(workflow, task_id))[1])
    return samples


def case_round_trips(process: CompiledProcess, script_engine, dump: Callable[[BpmnWorkflow], str],
                     load: Callable[[str], BpmnWorkflow], sizes: list[int]) -> list[tuple[float, float]]:
    """Timed steps of one case that loads the saved state, steps and saves again, as a stateless server does."""
    state, samples = dump(new_workflow(process, script_engine)), []
    while (task_id := ready_task_id(load(state))) is not None:
        def step(state=state, task_id=task_id):
            workflow = load(state)
            complete(workflow, task_id)
            return dump(workflow)
        state, sample = timed(step)
        samples.append(sample)
        sizes.append(len(state.encode("utf-8")))
    return samples


def stock_codec(script_engine) -> tuple[Callable, Callable]:
    """(dump, load) with SpiffWorkflow's own serializer: the spec travels inside every state."""
    stock = stock_serializer()

    def load(state: str) -> BpmnWorkflow:
        workflow = stock.deserialize_json(state)
        workflow.script_engine = script_engine
        return workflow

    return stock.serialize_json, load


def kesu_codec(process: CompiledProcess, script_engine) -> tuple[Callable, Callable]:
    """(dump, load) as Kesu's Step does: prune, then the spec-reference serializer."""
    def dump(workflow: BpmnWorkflow) -> str:
        kesu_serializer.prune(workflow)
        return kesu_serializer.dumps(workflow)

    return dump, lambda state: kesu_serializer.loads(state, process, script_engine)


def interleaved(cases: int, measures: dict[str, Callable[[], list]]) -> list[Samples]:
    """Run the measures case by case in turn, so a change in machine load hits them all alike."""
    rows = {label: Samples(label) for label in measures}
    for _ in range(cases):
        for label, measure in measures.items():
            for sample in measure():
                rows[label].add(sample)
    return list(rows.values())


def run(cases: int) -> list[Samples]:
    """Every (a) row; the first, the stock script engine in memory, is the baseline of the ratios."""
    process = compiled_standard()
    stock_engine, sandbox = PythonScriptEngine(), SandboxScriptEngine()
    for engine in (stock_engine, sandbox):
        case_in_memory(process, engine)  # warm-up
    rows = interleaved(cases, {
        "raw step, in memory (stock script engine)": lambda: case_in_memory(process, stock_engine),
        "raw step, in memory (Kesu sandbox script engine)": lambda: case_in_memory(process, sandbox),
    })
    stock_sizes: list[int] = []
    kesu_sizes: list[int] = []
    stock_dump, stock_load = stock_codec(stock_engine)
    kesu_dump, kesu_load = kesu_codec(process, stock_engine)
    trips = interleaved(max(2, cases // 4), {
        "raw step + stock serializer round trip (spec embedded)":
            lambda: case_round_trips(process, stock_engine, stock_dump, stock_load, stock_sizes),
        "raw step + Kesu serializer round trip (spec by reference, prune)":
            lambda: case_round_trips(process, stock_engine, kesu_dump, kesu_load, kesu_sizes),
    })
    trips[0].note = f"state up to {max(stock_sizes) / 1024:.0f} KiB"
    trips[1].note = f"state up to {max(kesu_sizes) / 1024:.0f} KiB"
    return rows + trips
