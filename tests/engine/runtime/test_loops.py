"""A complaint can be reopened hundreds of times: the saved state and the task tree stay the same size.

SpiffWorkflow keeps every task it ever ran, so each loop round deepens its tree; the engine prunes the
finished part on every save. The last test shows the tree does grow without that pruning, so the
500-round test is really about the pruning and not about something SpiffWorkflow does anyway.
"""
from __future__ import annotations

from itertools import pairwise

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from complaints.registration import register
from conftest import GRADING
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.runtime import formdata, serializer

ROUNDS = 500
INTAKE = [("check_validity", "service", {"valid": True}),
          ("grade_complaint", "quality", GRADING),
          ("assign", "quality", {"handling_department": "Handling Department",
                                 "responsible_person": "handler@acme.test"})]
REOPEN_ROUND = [("analyse_cause", "handler", {"root_cause": "储存不当", "customer_caused": True, "site_visit": False}),
                ("reply_customer_caused", "service", {"reply_content": "已说明储存方法"}),
                ("callback", "service", {"callback_reached": True, "satisfied": False})]
SATISFIED = ("callback", "service", {"callback_reached": True, "satisfied": True})


def complete(session, engine, company, instance_id: int, element: str, key: str, data: dict) -> Instance:
    """Complete the instance's one open task, which must be `element`; the instance row after it."""
    row = session.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
    assert row.element_id == element
    engine.complete(session, row.id, company.actor(key), dict(data))
    return session.get(Instance, instance_id)


def task_count(engine, instance: Instance) -> int:
    return len(serializer.loads(instance.state, engine.compiled(instance.version), engine.script_engine).tasks)


def test_case_reopened_500_times_still_closes_with_state_and_tree_the_same_size(database, engine, acme, complaint_data):
    with database.session() as s:
        version = s.get(ProcessVersion, acme.version.id)
        instance_id = register(s, engine, version, acme.actor("service"), complaint_data, acme.timezone).instance_id
        for element, key, data in INTAKE:
            complete(s, engine, acme, instance_id, element, key, data)

    state_size, tree_size = {}, {}
    for round_ in range(1, ROUNDS + 1):
        with database.session() as s:  # one transaction per round keeps 1,500 steps quick
            for element, key, data in REOPEN_ROUND:
                instance = complete(s, engine, acme, instance_id, element, key, data)
            assert instance.status == "running"
            state_size[round_] = len(instance.state)
            if round_ % 50 == 0 or round_ == 1:
                tree_size[round_] = task_count(engine, instance)

    assert state_size[ROUNDS] < 1.5 * state_size[1]
    assert max(state_size.values()) < 1.5 * state_size[1]
    assert max(tree_size.values()) < 1.5 * tree_size[1]

    with database.session() as s:
        analyse, reply, _ = REOPEN_ROUND
        for element, key, data in (analyse, reply, SATISFIED):
            instance = complete(s, engine, acme, instance_id, element, key, data)
        assert (instance.status, instance.end_element) == ("completed", "end_closed")
        reopened = s.scalar(sa.select(sa.func.count()).select_from(Event).where(
            Event.instance_id == instance_id, Event.type == "gateway_taken",
            Event.data["flow"].as_string() == "flow_satisfied_no"))
        assert reopened == ROUNDS


# -- the same loop on a bare workflow, with and without pruning ----------------------------------------------

def run_reopen_rounds(engine, process, rounds: int, prune: bool) -> list[tuple[int, int]]:
    """(task count, state size) after each reopen round of a bare workflow saved and restored after every task."""
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine.script_engine)
    workflow.do_engine_steps()
    sizes = []

    def step(element: str, data: dict) -> None:
        nonlocal workflow
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert task.task_spec.bpmn_id == element
        task.data.update(formdata.clean(engine.fields_of(process.tasks[element]), dict(data)))
        task.run()
        workflow.do_engine_steps()
        if prune:
            serializer.prune(workflow)
        workflow = serializer.loads(serializer.dumps(workflow), process, engine.script_engine)

    for element, _, data in INTAKE:
        step(element, data)
    for _ in range(rounds):
        for element, _, data in REOPEN_ROUND:
            step(element, data)
        sizes.append((len(workflow.tasks), len(serializer.dumps(workflow))))
    return sizes


def test_without_pruning_the_task_tree_grows_with_every_round(database, engine, acme):
    with database.session() as s:
        process = engine.compiled(s.get(ProcessVersion, acme.version.id))
    rounds = 20
    unpruned = run_reopen_rounds(engine, process, rounds, prune=False)
    pruned = run_reopen_rounds(engine, process, rounds, prune=True)

    grown = [tasks for tasks, _ in unpruned]
    assert all(later > earlier for earlier, later in pairwise(grown))
    assert grown[-1] - grown[0] >= (rounds - 1) * len(REOPEN_ROUND)
    assert unpruned[-1][1] > 3 * unpruned[0][1]

    assert {tasks for tasks, _ in pruned} == {pruned[0][0]}
    assert max(size for _, size in pruned) < 1.5 * pruned[0][1]
    assert pruned[-1][0] < grown[-1]
