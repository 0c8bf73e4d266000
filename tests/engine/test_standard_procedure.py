"""Every path of the standard complaint procedure, end to end through the Engine and through a bare
SpiffWorkflow workflow saved and restored after every single task.

Each path is one table: the task that must be open next, the lane (group) it must be offered to, what
that group's employee submits, and the gateway flows the submission must take.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState

from complaints.models import Complaint
from complaints.registration import register
from conftest import GRADING
from engine import queries
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.runtime import formdata, serializer
from engine.runtime.steps import current_data, jsonable

CS, HANDLING, QUALITY, MANAGEMENT = "Customer Service", "Handling Department", "Quality", "Management"
WORKER = {CS: "service", HANDLING: "handler", QUALITY: "quality", MANAGEMENT: "manager"}

# The conditions written on the diagram's conditional flows; default flows carry none.
CONDITIONS = {
    "flow_valid_yes": "valid", "flow_customer_caused_yes": "customer_caused", "flow_site_visit_yes": "site_visit",
    "flow_quality_approved": "approved", "flow_manager_approved": "approved", "flow_effective_yes": "effective",
    "flow_reached_yes": "callback_reached", "flow_satisfied_yes": "satisfied",
    "flow_attempts_exhausted": "callback_attempts >= 3",
}


@dataclass(frozen=True)
class Step:
    """One row of a path: the open task, its lane, the submission, the gateway flows it takes."""

    task: str
    lane: str
    data: dict[str, Any]
    flows: tuple[str, ...] = ()


def S(task: str, lane: str, data: dict[str, Any], *flows: str) -> Step:  # noqa: N802 - reads like a table row
    """A Step, written compactly so each path reads as a table."""
    return Step(task, lane, data, flows)


VALID = S("check_validity", CS, {"valid": True, "validity_note": "产品确有结块"}, "flow_valid_yes")
GRADE = S("grade_complaint", QUALITY, {**GRADING, "handling_cost": 150000})
ASSIGN = S("assign", QUALITY, {"handling_department": "Handling Department", "responsible_person": "handler@acme.test"})
CUSTOMER_CAUSED = S("analyse_cause", HANDLING, {"root_cause": "储存温度过低", "customer_caused": True,
                                                "site_visit": False}, "flow_customer_caused_yes")
REPLY = S("reply_customer_caused", CS, {"reply_content": "请按说明书储存"})
NEEDS_VISIT = S("analyse_cause", HANDLING, {"root_cause": "批次问题", "responsibility": "生产部",
                                            "customer_caused": False, "site_visit": True},
                "flow_customer_caused_no", "flow_site_visit_yes")
NO_VISIT = S("analyse_cause", HANDLING, {"root_cause": "配方偏差", "customer_caused": False, "site_visit": False},
             "flow_customer_caused_no", "flow_site_visit_no")
VISIT = S("visit_site", HANDLING, {"visit_findings": "仓库无温控", "visit_date": "2026-03-12"})
PLAN = S("plan", HANDLING, {"countermeasures": "换货", "preventive_actions": "加强出厂检验",
                            "planned_completion": "2026-03-20"})
QUALITY_REJECTS = S("approve_quality", QUALITY, {"approved": False, "approval_comment": "不够具体"},
                    "flow_quality_rejected")
QUALITY_APPROVES = S("approve_quality", QUALITY, {"approved": True}, "flow_quality_approved")
MANAGER_REJECTS = S("approve_manager", MANAGEMENT, {"approved": False, "approval_comment": "成本太高"},
                    "flow_manager_rejected")
MANAGER_APPROVES = S("approve_manager", MANAGEMENT, {"approved": True}, "flow_manager_approved")
IMPLEMENT = S("implement", HANDLING, {"implementation_note": "已换货", "completed_on": "2026-03-18"})
INEFFECTIVE = S("verify", QUALITY, {"effective": False, "verification_note": "仍有结块"}, "flow_effective_no")
EFFECTIVE = S("verify", QUALITY, {"effective": True, "verification_note": "客户确认可用"}, "flow_effective_yes")
SATISFIED = S("callback", CS, {"callback_reached": True, "satisfied": True, "callback_note": "满意"},
              "flow_reached_yes", "flow_satisfied_yes")
UNSATISFIED = S("callback", CS, {"callback_reached": True, "satisfied": False, "callback_note": "不满意"},
                "flow_reached_yes", "flow_satisfied_no")
UNREACHED = S("callback", CS, {"callback_reached": False, "callback_note": "无人接听"},
              "flow_reached_no", "flow_attempts_retry")
LAST_UNREACHED = S("callback", CS, {"callback_reached": False, "callback_note": "无人接听"},
                   "flow_reached_no", "flow_attempts_exhausted")

PATHS: dict[str, tuple[list[Step], str]] = {
    "invalid": ([
        S("check_validity", CS, {"valid": False, "validity_note": "不属于本公司产品"}, "flow_valid_no"),
        S("reply_invalid", CS, {"reply_content": "经核实，该产品非本公司生产。"}),
    ], "end_invalid"),
    "customer_caused_then_satisfied": ([
        VALID, GRADE, ASSIGN, CUSTOMER_CAUSED, REPLY, SATISFIED,
    ], "end_closed"),
    "visit_rejections_ineffective_reopen": ([
        VALID, GRADE, ASSIGN, NEEDS_VISIT, VISIT,
        PLAN, QUALITY_REJECTS,
        PLAN, QUALITY_APPROVES, MANAGER_REJECTS,
        PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, INEFFECTIVE,
        NO_VISIT, PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, EFFECTIVE, UNSATISFIED,
        CUSTOMER_CAUSED, REPLY, SATISFIED,
    ], "end_closed"),
    "three_unreachable_callbacks": ([
        VALID, GRADE, ASSIGN, CUSTOMER_CAUSED, REPLY, UNREACHED, UNREACHED, LAST_UNREACHED,
    ], "end_abnormal"),
    "reopened_then_planned_and_implemented_again": ([
        VALID, GRADE, ASSIGN, NO_VISIT, PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, EFFECTIVE, UNSATISFIED,
        NEEDS_VISIT, VISIT, PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, EFFECTIVE, SATISFIED,
    ], "end_closed"),
    "two_unreachable_then_satisfied": ([
        VALID, GRADE, ASSIGN, NO_VISIT, PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, EFFECTIVE,
        UNREACHED, UNREACHED, SATISFIED,
    ], "end_closed"),
}


def register_complaint(database, engine, company, complaint_data) -> int:
    """Register a complaint as customer service does; returns its instance id."""
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        complaint = register(s, engine, version, company.actor("service"), complaint_data, company.timezone)
        return complaint.instance_id


def offered_to(database, engine, company, key: str, instance_id: int) -> list:
    """The tasks of one instance that `key`'s groups see in their inbox."""
    with database.session() as s:
        return [t for t in queries.tasks_for(s, engine, company.actor(key), "groups") if t.instance_id == instance_id]


def open_tasks(database, engine, instance_id: int) -> list:
    with database.session() as s:
        return list(queries.instance_tasks(s, engine, s.get(Instance, instance_id)))


def instance_row(database, instance_id: int) -> Instance:
    with database.session() as s:
        return s.get(Instance, instance_id)


def all_events(database, company, instance_id: int) -> list[Event]:
    with database.session() as s:
        return queries.events(s, instance_id, company.id)


def claim_and_complete(database, engine, company, step: Step, instance_id: int) -> str:
    """Check the step's task is the one open task, offered to its lane only; claim and complete it. The handling
    department's tasks come held by the responsible person the assignment chose (handler), who need not claim."""
    tasks = open_tasks(database, engine, instance_id)
    assert [(t.element_id, t.lane, t.candidate_groups) for t in tasks] == [(step.task, step.lane, (step.lane,))]
    for lane, key in WORKER.items():
        seen = [t.element_id for t in offered_to(database, engine, company, key, instance_id)]
        assert seen == ([step.task] if lane == step.lane else []), f"{key} ({lane}) sees {seen}"
    actor = company.actor(WORKER[step.lane])
    routed = step.lane == HANDLING
    assert tasks[0].assignee_id == (actor.user_id if routed else None)
    with database.session() as s:
        engine.claim(s, tasks[0].id, actor)
    with database.session() as s:
        engine.complete(s, tasks[0].id, actor, dict(step.data))
    return tasks[0].id


def run_path(database, engine, company, complaint_data, steps: list[Step]) -> int:
    instance_id = register_complaint(database, engine, company, complaint_data)
    for step in steps:
        row = instance_row(database, instance_id)
        assert (row.status, row.end_element) == ("running", None)
        claim_and_complete(database, engine, company, step, instance_id)
    return instance_id


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS))
def test_path_reaches_its_end_with_the_right_lanes_and_history(database, engine, acme, complaint_data, path):
    steps, end = PATHS[path]
    instance_id = run_path(database, engine, acme, complaint_data, steps)

    row = instance_row(database, instance_id)
    assert (row.status, row.end_element, row.error) == ("completed", end, None)
    assert row.completed_at is not None and row.next_timer_at is None
    assert open_tasks(database, engine, instance_id) == []
    with database.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(InboxTask)) == 0
        complaint = s.scalar(sa.select(Complaint).where(Complaint.instance_id == instance_id))
        assert row.business_key == complaint.number

    events = all_events(database, acme, instance_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "instance_started"
    assert events[0].data["data"]["customer_name"] == complaint_data["customer_name"]
    assert events[0].data["data"]["complaint_number"] == complaint.number
    assert (events[-1].type, events[-1].element_id) == ("instance_completed", end)

    gateways = [e for e in events if e.type == "gateway_taken"]
    assert [e.data["flow"] for e in gateways] == [flow for step in steps for flow in step.flows]
    assert all(e.data["condition"] == CONDITIONS.get(e.data["flow"]) for e in gateways)

    claimed = [e for e in events if e.type == "task_claimed"]
    assigned = [e for e in events if e.type == "task_assigned"]
    completed = [e for e in events if e.type == "task_completed"]
    assert [e.element_id for e in completed] == [s.task for s in steps]
    assert [e.element_id for e in claimed] == [s.task for s in steps if s.lane != HANDLING]
    assert [e.element_id for e in assigned] == [s.task for s in steps if s.lane == HANDLING]
    assert all((e.data["assignee"], e.data["assignee_id"], e.data["name"]) == (
        "handler@acme.test", acme.users["handler"].id, "Handler") for e in assigned)
    assert sorted(e.task_id for e in claimed + assigned) == sorted(e.task_id for e in completed)
    assert [e.actor_id for e in completed] == [acme.users[WORKER[s.lane]].id for s in steps]
    model: dict[str, Any] = {}
    for step, event in zip(steps, completed, strict=True):
        assert event.data["submitted"] == step.data
        changes = event.data["changes"]
        for key, value in step.data.items():
            if model.get(key) != value:
                assert changes[key]["to"] == value, (step.task, key)
            else:
                assert key not in changes, (step.task, key)
        model.update(step.data)


def test_unreachable_callbacks_count_attempts_in_the_data_changes(database, engine, acme, complaint_data):
    steps, _ = PATHS["three_unreachable_callbacks"]
    instance_id = run_path(database, engine, acme, complaint_data, steps)
    callbacks = [e for e in all_events(database, acme, instance_id)
                 if e.type == "task_completed" and e.element_id == "callback"]
    assert [e.data["changes"]["callback_attempts"] for e in callbacks] == [
        {"from": 0, "to": 1}, {"from": 1, "to": 2}, {"from": 2, "to": 3}]


def test_reopened_case_offers_analysis_to_the_handling_department_again(database, engine, acme, complaint_data):
    steps = [VALID, GRADE, ASSIGN, CUSTOMER_CAUSED, REPLY, UNSATISFIED]
    instance_id = run_path(database, engine, acme, complaint_data, steps)
    assert [t.element_id for t in offered_to(database, engine, acme, "handler", instance_id)] == ["analyse_cause"]
    assert offered_to(database, engine, acme, "service", instance_id) == []
    with database.session() as s:
        data = queries.instance_view(s, engine, s.get(Instance, instance_id)).data
    assert (data["satisfied"], data["callback_reached"], data["root_cause"]) == (False, True, "储存温度过低")


def test_grading_table_decides_level_and_participants_from_the_recorded_facts(database, engine, acme,
                                                                              complaint_data):
    instance_id = run_path(database, engine, acme, complaint_data, [VALID, GRADE])
    assert [t.element_id for t in open_tasks(database, engine, instance_id)] == ["assign"]
    with database.session() as s:
        data = queries.instance_view(s, engine, s.get(Instance, instance_id)).data
    assert (data["level"], data["participants"]) == (3, ["quality", "handling_department", "customer_service"])


# -- the same paths on a bare SpiffWorkflow workflow, saved and restored after every single task ----------

def restore(engine, process, state: str) -> BpmnWorkflow:
    return serializer.loads(state, process, engine.script_engine)


def save(workflow: BpmnWorkflow) -> str:
    serializer.prune(workflow)
    return serializer.dumps(workflow)


def run_automatic_tasks(engine, process, state: str, ends: list[str]) -> str:
    """Run gateways, scripts and events one at a time, saving and restoring between each; notes end events."""
    while True:
        workflow = restore(engine, process, state)
        automatic = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
        if not automatic:
            return save(workflow)
        automatic[0].run()
        if isinstance(automatic[0].task_spec, EndEvent):
            ends.append(automatic[0].task_spec.bpmn_id)
        state = save(workflow)


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS))
def test_path_survives_save_and_restore_after_every_task(database, engine, acme, complaint_data, path):
    steps, end = PATHS[path]
    instance_id = run_path(database, engine, acme, complaint_data, steps)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        process = engine.compiled(instance.version)
        persisted = queries.instance_view(s, engine, instance).data
    start_data = all_events(database, acme, instance_id)[0].data["data"]

    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine.script_engine)
    workflow.task_tree.data.update(start_data)
    ends: list[str] = []
    state = run_automatic_tasks(engine, process, serializer.dumps(workflow), ends)
    for step in steps:
        workflow = restore(engine, process, state)
        ready = list(workflow.get_tasks(state=TaskState.READY, manual=True))
        assert [t.task_spec.bpmn_id for t in ready] == [step.task]
        task = ready[0]
        task.data.update(formdata.clean(engine.fields_of(process.tasks[step.task]), dict(step.data)))
        task.run()
        state = run_automatic_tasks(engine, process, save(workflow), ends)

    workflow = restore(engine, process, state)
    assert workflow.is_completed()
    assert ends == [end]
    assert jsonable(current_data(workflow)) == persisted
