"""Every path of the graded complaint procedure (processes/complaint_graded.bpmn), end to end through the Engine.

The class table (A-E) decides whether the supervisor hears of the complaint at once; the grading table decides
the level and who takes part: level 5 is resolved by customer service alone, level 4 by the handling department,
level 3 adds a quality review, levels 1-2 also the general manager's approval. Alongside every handling round
customer service gives the customer progress feedback. Each step is a separate transaction, so the case is saved
and restored between every two tasks. (The deadlines are proved in test_procedure_deadlines.py.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from complaints.registration import register
from conftest import GROUPS, ROOT
from engine import queries
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.repository.decisions import publish_decision
from engine.repository.publishing import publish

PROCESSES = ROOT / "processes"
CS, HANDLING, QUALITY, MANAGEMENT = GROUPS
WORKER = {CS: "service", HANDLING: "handler", QUALITY: "quality", MANAGEMENT: "manager"}


@dataclass(frozen=True)
class Step:
    """One row of a path: the task worked, the lane (group) it is offered to, what that group submits, and the
    tasks of a parallel branch open beside it."""

    task: str
    lane: str
    data: dict[str, Any]
    also_open: tuple[str, ...] = ()


def S(task: str, lane: str, also_open: tuple[str, ...] = (), **data: Any) -> Step:  # noqa: N802 - a table row
    return Step(task, lane, data, also_open)


NO_CLASS_FACTS = {"liability": False, "leak": False, "crack": False, "customers_affected": 1, "public_opinion": False,
                  "group_opinion": False, "inquiry": False}
NO_GRADING_FACTS = {"handling_cost": 0, "affected_kw": 0, "defect_type": "none", "major_impact": False,
                    "lawsuit": False, "repeated": False, "safety_hazard": False, "group_complaint": False,
                    "media_exposure": False}

VALID = S("check_validity", CS, valid=True, validity_note="确有质量问题")
CLASS_A = S("classify_complaint", CS, **{**NO_CLASS_FACTS, "leak": True})
CLASS_B = S("classify_complaint", CS, **{**NO_CLASS_FACTS, "customers_affected": 6})
CLASS_C = S("classify_complaint", CS, **NO_CLASS_FACTS)
CLASS_D = S("classify_complaint", CS, **{**NO_CLASS_FACTS, "group_opinion": True})
CLASS_E = S("classify_complaint", CS, **{**NO_CLASS_FACTS, "inquiry": True})
REPORT = S("report_to_supervisor", MANAGEMENT, supervisor_instructions="今日内联系客户，每日汇报进展")
LEVEL_1 = S("grade_complaint", QUALITY, **{**NO_GRADING_FACTS, "affected_kw": 1200, "defect_type": "1"})
LEVEL_2 = S("grade_complaint", QUALITY, **{**NO_GRADING_FACTS, "media_exposure": True})
LEVEL_3 = S("grade_complaint", QUALITY, **{**NO_GRADING_FACTS, "handling_cost": 150_000})
LEVEL_4 = S("grade_complaint", QUALITY, **{**NO_GRADING_FACTS, "handling_cost": 20_000})
LEVEL_5 = S("grade_complaint", QUALITY, **NO_GRADING_FACTS)
# A handling round: the handling and the progress feedback are open together, done in either order.
FEEDBACK = S("progress_feedback", CS, progress_note="已告知客户正在更换组件")
HANDLE = [S("handle", HANDLING, ("progress_feedback",), handling_result="已更换组件", closure="normal"), FEEDBACK]
HANDLE_ABNORMAL = [S("handle", HANDLING, ("progress_feedback",), handling_result="客户要求超出合同约定",
                     closure="abnormal"), FEEDBACK]
RESOLVE = [S("progress_feedback", CS, ("resolve",), progress_note="已告知客户答复要点"),
           S("resolve", CS, handling_result="已电话解答", closure="normal")]
REVIEW_OK = S("review_quality", QUALITY, approved=True)
REVIEW_REJECTS = S("review_quality", QUALITY, approved=False, approval_comment="原因分析不充分")
GM_OK = S("approve_gm", MANAGEMENT, approved=True)
GM_REJECTS = S("approve_gm", MANAGEMENT, approved=False, approval_comment="补偿方案需调整")
ACCEPTED = S("callback", CS, callback_reached=True, satisfied=True, callback_note="客户认可")
NOT_ACCEPTED = S("callback", CS, callback_reached=True, satisfied=False, callback_note="客户不认可")
UNREACHED = S("callback", CS, callback_reached=False, callback_note="无人接听")
ABNORMAL_ACCEPTED = S("decide_abnormal", CS, abnormal_grounds="contract", abnormal_reason="诉求超出合同约定的质保范围",
                      abnormal_accepted=True)
ABNORMAL_DECLINED = S("decide_abnormal", CS, abnormal_grounds="company_decision", abnormal_reason="理由不足",
                      abnormal_accepted=False)

# path: (steps, end event, the decided data it must show)
PATHS: dict[str, tuple[list[Step], str, dict[str, Any]]] = {
    "invalid_gets_a_callback_with_an_explanation": ([
        S("check_validity", CS, valid=False, validity_note="非本公司产品"),
        S("explain_invalid", CS, explanation="经核实该批组件非本公司生产，已向客户说明"),
    ], "end_invalid", {}),
    "level_1_class_a_is_reported_then_reviewed_and_approved": ([
        VALID, CLASS_A, REPORT, LEVEL_1, *HANDLE, REVIEW_OK, GM_OK, ACCEPTED,
    ], "end_closed", {"complaint_class": "A", "report_supervisor": True, "level": 1}),
    "level_2_class_b_with_rejections_by_quality_and_the_general_manager": ([
        VALID, CLASS_B, REPORT, LEVEL_2, *HANDLE, REVIEW_REJECTS, *HANDLE, REVIEW_OK, GM_REJECTS,
        *HANDLE, REVIEW_OK, GM_OK, ACCEPTED,
    ], "end_closed", {"complaint_class": "B", "level": 2}),
    "level_3_class_c_is_reviewed_by_quality_only": ([
        VALID, CLASS_C, LEVEL_3, *HANDLE, REVIEW_OK, ACCEPTED,
    ], "end_closed", {"complaint_class": "C", "report_supervisor": False, "level": 3}),
    "level_4_class_d_is_handled_by_the_department_alone": ([
        VALID, CLASS_D, LEVEL_4, *HANDLE, ACCEPTED,
    ], "end_closed", {"complaint_class": "D", "level": 4}),
    "level_5_class_e_is_resolved_by_customer_service": ([
        VALID, CLASS_E, LEVEL_5, *RESOLVE, ACCEPTED,
    ], "end_closed", {"complaint_class": "E", "level": 5, "participants": ["customer_service"]}),
    "not_accepted_reopens_handling": ([
        VALID, CLASS_C, LEVEL_4, *HANDLE, NOT_ACCEPTED, *HANDLE, ACCEPTED,
    ], "end_closed", {"satisfied": True}),
    "abnormal_closure_with_a_reason_decided_by_customer_service": ([
        VALID, CLASS_C, LEVEL_3, *HANDLE_ABNORMAL, REVIEW_OK, ABNORMAL_DECLINED, *HANDLE_ABNORMAL, REVIEW_OK,
        ABNORMAL_ACCEPTED,
    ], "end_abnormal", {"abnormal_grounds": "contract", "abnormal_accepted": True}),
    "three_failed_callbacks_close_abnormally": ([
        VALID, CLASS_C, LEVEL_4, *HANDLE, UNREACHED, UNREACHED, UNREACHED,
    ], "end_unreachable", {"callback_attempts": 3}),
    "two_failed_callbacks_then_accepted": ([
        VALID, CLASS_C, LEVEL_4, *HANDLE, UNREACHED, UNREACHED, ACCEPTED,
    ], "end_closed", {"callback_attempts": 2}),
}


@pytest.fixture()
def graded(database, acme) -> int:
    """acme's graded procedure (its grading table is published with the company); the version id."""
    with database.session() as s:
        publish_decision(s, acme.id, (PROCESSES / "complaint_class.dmn").read_bytes(), None)
        return publish(s, acme.id, (PROCESSES / "complaint_graded.bpmn").read_bytes(), acme.users["owner"].id,
                       "graded", GROUPS).id


def open_tasks(database, engine, instance_id: int) -> list:
    with database.session() as s:
        return list(queries.instance_tasks(s, engine, s.get(Instance, instance_id)))


def run_path(database, engine, acme, version_id: int, complaint_data: dict, steps: list[Step]) -> int:
    """Register a complaint on the graded procedure and work each step's task as its lane's employee."""
    with database.session() as s:
        instance_id = register(s, engine, s.get(ProcessVersion, version_id), acme.actor("service"),
                               complaint_data, acme.timezone).instance_id
    for step in steps:
        tasks = {t.element_id: t for t in open_tasks(database, engine, instance_id)}
        assert sorted(tasks) == sorted((step.task, *step.also_open))
        task = tasks[step.task]
        assert task.candidate_groups == (step.lane,)
        actor = acme.actor(WORKER[step.lane])
        with database.session() as s:
            engine.claim(s, task.id, actor)
        with database.session() as s:
            engine.complete(s, task.id, actor, dict(step.data))
    return instance_id


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS))
def test_path_reaches_its_end_with_the_decided_data(database, engine, acme, graded, complaint_data, path):
    steps, end, decided = PATHS[path]
    instance_id = run_path(database, engine, acme, graded, complaint_data, steps)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_element, instance.error) == ("completed", end, None)
        assert s.scalar(sa.select(sa.func.count()).select_from(InboxTask)) == 0
        data = queries.instance_view(s, engine, instance).data
        completed = s.scalars(sa.select(Event.element_id).where(Event.instance_id == instance_id,
                                                                Event.type == "task_completed")
                              .order_by(Event.seq)).all()
    assert {key: data[key] for key in decided} == decided
    assert completed == [step.task for step in steps]


def test_grading_output_is_recorded_with_the_facts_that_decided_it(database, engine, acme, graded, complaint_data):
    instance_id = run_path(database, engine, acme, graded, complaint_data, [VALID, CLASS_C, LEVEL_3])
    with database.session() as s:
        graded_event = s.scalars(sa.select(Event).where(Event.instance_id == instance_id, Event.type ==
                                                        "task_completed", Event.element_id == "grade_complaint")).one()
    assert graded_event.data["changes"]["level"] == {"from": None, "to": 3}
    assert graded_event.data["changes"]["participants"]["to"] == ["quality", "handling_department",
                                                                   "customer_service"]


def test_report_to_the_supervisor_is_due_within_the_hour_with_top_priority(database, engine, acme, graded,
                                                                            complaint_data):
    instance_id = run_path(database, engine, acme, graded, complaint_data, [VALID, CLASS_A])
    [report] = open_tasks(database, engine, instance_id)
    with database.session() as s:
        row = s.get(InboxTask, report.id)
        assert row.priority == 90 and (row.due_at - row.created_at).total_seconds() == 3600


def test_invalid_complaint_callback_is_due_within_24_hours(database, engine, acme, graded, complaint_data):
    instance_id = run_path(database, engine, acme, graded, complaint_data,
                           [S("check_validity", CS, valid=False)])
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
        assert row.element_id == "explain_invalid" and (row.due_at - row.created_at).total_seconds() == 24 * 3600
