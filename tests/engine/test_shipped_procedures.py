"""The companies' own procedures shipped with Kesu: QP07 of the chemical company and the e-commerce
platform's complaint rules, every path end to end through the Engine on a fake clock.

Each path is a table: the task that must be open next, the group it is offered to, what that group's
employee submits and the gateway flows the submission takes. A Tick moves the clock on and runs the
timer worker, naming the timers that must fire.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions import timer

import demo
from complaints.registration import register
from conftest import ROOT
from engine import queries
from engine.dto import Actor, TaskView
from engine.records import Event, Instance, ProcessVersion
from engine.repository.publishing import publish
from engine.repository.specs import BPMN_NS
from engine.repository.validation import check_diagram
from engine.runtime.steps import Engine

PROCESSES = ROOT / "processes"
CS, HANDLING, QUALITY, MANAGEMENT = demo.GROUPS
WORKER = {CS: "service", HANDLING: "handler", QUALITY: "quality", MANAGEMENT: "manager"}
START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 on a Monday in Shanghai


class Clock:
    """The one 'now' of a test, read by the engine, by SpiffWorkflow's timers and by the sandbox's now() and
    today() (which read the timers' clock)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(monkeypatch) -> Clock:
    """A clock stopped at START that only Ticks move, so due dates and a week-long timer are exact."""
    fake = Clock(START)

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return fake.now.astimezone(tz or UTC)

    monkeypatch.setattr(timer, "datetime", FakeDatetime)  # the timers' and the sandbox's only source of the time
    return fake


@pytest.fixture()
def engine(app, clock) -> Engine:
    """The app's engine, on the fake clock."""
    base = app.extensions["kesu.engine"]
    return Engine(base.auditor, specs=base.specs, script_time_limit=1.0, form_resolver=base.form_resolver,
                  directory=base.directory, clock=clock, calendars=base.calendars)


@dataclass(frozen=True)
class Step:
    """One row of a path: the open task, its group, the submission, the gateway flows it takes."""

    task: str
    group: str
    data: dict[str, Any]
    flows: tuple[str, ...] = ()
    also_open: tuple[str, ...] = ()  # tasks of a parallel branch open at the same time


@dataclass(frozen=True)
class Tick:
    """Time passes; then the timer worker fires what is due (`fires`: the timers that must)."""

    delta: timedelta
    fires: tuple[str, ...] = ()


def S(task: str, group: str, data: dict[str, Any], *flows: str, also_open: tuple[str, ...] = ()) -> Step:  # noqa: N802
    """A Step, written compactly so each path reads as a table."""
    return Step(task, group, data, flows, also_open)


# -- QP07 (chemical company) ---------------------------------------------------------------------------

LIST_ENTRY = S("register_list", CS, {"reporting_department": "销售部", "capa_number": "CAPA-2026-031",
                                     "remarks": "门市转来"})
GENERAL = S("classify", CS, {"complaint_type": "product_quality", "intake_channel": "in_store",
                             "reasonableness": "reasonable", "handling_mode": "scheduled", "urgency": "general"})
URGENT = S("classify", CS, {"complaint_type": "delivery_cycle", "intake_channel": "delivery_staff",
                            "reasonableness": "reasonable", "handling_mode": "escalated", "urgency": "special"})
NOT_CUSTOMER_NO_VISIT = S("analyse_cause", HANDLING,
                          {"root_cause": "固化剂批次偏差", "customer_caused": False, "site_visit": False},
                          "flow_customer_caused_no", "flow_site_visit_no")
DRAFT_WITH_REPLY = S("draft_countermeasures", HANDLING, {"corrective_actions": "换货", "reply_needed": True},
                     "flow_reply_yes")
DRAFT_NO_REPLY = S("draft_countermeasures", HANDLING,
                   {"corrective_actions": "补发", "preventive_actions": "加强出厂检验",
                    "planned_completion": "2026-03-20", "reply_needed": False},
                   "flow_reply_no")
REPLY = S("reply_customer", CS, {"reply_content": "将于 3 月 12 日换货", "reply_date": "2026-03-10"})
CARRY_OUT = S("implement", HANDLING, {"implementation_note": "已换货", "completed_on": "2026-03-12"})
EFFECTIVE = S("verify", CS, {"verification_result": "客户确认可用", "handling_effect": "effective"},
              "flow_effective_yes")
INEFFECTIVE = S("verify", CS, {"verification_result": "仍有结块", "handling_effect": "ineffective"},
                "flow_effective_no")

# -- e-commerce platform -------------------------------------------------------------------------------

REGISTERED = S("register_appeal", CS, {"complainant": "王女士", "complaint_target": "3 号店铺客服",
                                       "complaint_summary": "客服拒绝七天无理由退货", "intake_channel": "phone"})
VALID = S("check_validity", CS, {"valid": True}, "flow_valid_yes")
ASSIGNED = S("assign", QUALITY,
             {"handling_department": "Handling Department", "responsible_person": "handler@acme.test"})
ANALYSED = S("analyse_cause", HANDLING, {"root_cause": "客服未按退货规则执行", "responsibility": "客服专员"})
PLANNED = S("plan", HANDLING, {"handling_plan": "同意退货并补偿运费", "preliminary_agreement": True})
QUALITY_APPROVES = S("approve_quality", QUALITY, {"approved": True, "investigation_report": "规则执行问题"},
                     "flow_quality_approved")
QUALITY_REJECTS = S("approve_quality", QUALITY, {"approved": False, "approval_comment": "补偿不足"},
                    "flow_quality_rejected")
MANAGER_APPROVES = S("approve_manager", MANAGEMENT, {"approved": True}, "flow_manager_approved")
MANAGER_REJECTS = S("approve_manager", MANAGEMENT, {"approved": False, "approval_comment": "先核实订单"},
                    "flow_manager_rejected")
IMPLEMENTED = S("implement", HANDLING, {"implementation_note": "已退款", "staff_measures": "培训并警告",
                                        "customer_notified": True})
SATISFIED = S("callback", QUALITY, {"satisfied": True, "customer_feedback": "满意"}, "flow_satisfied_yes")
UNSATISFIED = S("callback", QUALITY, {"satisfied": False, "customer_feedback": "运费未到账"}, "flow_satisfied_no")
CLOSED = [S("summarise", QUALITY, {"summary": "退货纠纷", "evaluation": "处理及时",
                                  "improvement_actions": "退货规则培训"}),
          S("archive", MANAGEMENT, {"archive_reference": "TS-2026-015"})]
HANDLED = [ANALYSED, PLANNED, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED]
WEEK_PASSES = [REGISTERED, VALID, ASSIGNED, ANALYSED, PLANNED,
               Tick(timedelta(days=6)),
               Tick(timedelta(days=1, minutes=1), fires=("week_overdue",)),
               S("overdue_alert", MANAGEMENT, {"follow_up_instruction": "今日内完成审批"},
                 also_open=("approve_quality",))]

PATHS: dict[str, tuple[str, list, str]] = {
    "qp07_customer_caused": ("complaint_qp07", [
        LIST_ENTRY, GENERAL,
        S("analyse_cause", HANDLING, {"root_cause": "客户储存温度过低", "customer_caused": True, "site_visit": False},
          "flow_customer_caused_yes"),
        S("reply_analysis", CS, {"reply_content": "请在 5–30 °C 储存"}),
    ], "end_customer_caused"),
    "qp07_site_visit_and_reply": ("complaint_qp07", [
        LIST_ENTRY, URGENT,
        S("analyse_cause", HANDLING, {"root_cause": "车辆调度失误", "responsible_department": "储运部",
                                      "customer_caused": False, "site_visit": True},
          "flow_customer_caused_no", "flow_site_visit_yes"),
        S("visit_site", HANDLING, {"visit_purpose": "investigate", "visit_findings": "工地停工待料",
                                   "visit_date": "2026-03-10"}),
        DRAFT_WITH_REPLY, REPLY, CARRY_OUT, EFFECTIVE,
    ], "end_closed"),
    "qp07_ineffective_then_new_countermeasures": ("complaint_qp07", [
        LIST_ENTRY, GENERAL, NOT_CUSTOMER_NO_VISIT, DRAFT_NO_REPLY, CARRY_OUT, INEFFECTIVE,
        DRAFT_WITH_REPLY, REPLY, CARRY_OUT, EFFECTIVE,
    ], "end_closed"),
    "ecommerce_invalid": ("complaint_ecommerce", [
        REGISTERED,
        S("check_validity", CS, {"valid": False, "validity_note": "订单已超过售后期"}, "flow_valid_no"),
        S("reply_invalid", CS, {"reply_content": "您的订单已超过售后期，我们为您申请了优惠券。"}),
    ], "end_invalid"),
    "ecommerce_quality_lead_rejects": ("complaint_ecommerce", [
        REGISTERED, VALID, ASSIGNED, ANALYSED, PLANNED, QUALITY_REJECTS,
        PLANNED, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED, SATISFIED, *CLOSED,
    ], "end_archived"),
    "ecommerce_manager_rejects_within_the_week": ("complaint_ecommerce", [
        REGISTERED, VALID, ASSIGNED, ANALYSED, PLANNED, QUALITY_APPROVES, Tick(timedelta(days=6)), MANAGER_REJECTS,
        PLANNED, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED, SATISFIED, *CLOSED,
    ], "end_archived"),
    "ecommerce_unsatisfied_then_satisfied": ("complaint_ecommerce", [
        REGISTERED, VALID, ASSIGNED, *HANDLED, UNSATISFIED, *HANDLED, SATISFIED, *CLOSED,
    ], "end_archived"),
    "ecommerce_week_passes_case_goes_on": ("complaint_ecommerce", [
        *WEEK_PASSES, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED, Tick(timedelta(days=7)), SATISFIED, *CLOSED,
    ], "end_archived"),
}


# -- the driver ----------------------------------------------------------------------------------------

def publish_shipped(database, company, key: str) -> int:
    """Publish processes/<key>.bpmn for the company (as its process owner); returns the version id."""
    with database.session() as s:
        return publish(s, company.id, (PROCESSES / f"{key}.bpmn").read_bytes(), company.users["owner"].id,
                       "shipped", demo.GROUPS).id


def open_tasks(database, engine, instance_id: int) -> dict[str, TaskView]:
    """The case's inbox tasks by element: several are open at once once the week has passed."""
    with database.session() as s:
        return {t.element_id: t for t in queries.instance_tasks(s, engine, s.get(Instance, instance_id))}


def instance_row(database, instance_id: int) -> Instance:
    """The case as stored now (read in a fresh session, as the next request would)."""
    with database.session() as s:
        return s.get(Instance, instance_id)


def drive(database, engine, clock, company, complaint_data, key: str, path: list) -> tuple[int, list[TaskView]]:
    """Register a complaint on the shipped procedure and work the path; returns the case and every task seen."""
    version_id = publish_shipped(database, company, key)
    with database.session() as s:
        complaint = register(s, engine, s.get(ProcessVersion, version_id), company.actor("service"), complaint_data,
                             company.timezone)
        instance_id = complaint.instance_id
    seen = []
    for step in path:
        if isinstance(step, Tick):
            clock.now += step.delta
            with database.session() as s:
                engine.fire_timers(s, s.get(Instance, instance_id), Actor(company_id=company.id))
            continue
        assert instance_row(database, instance_id).status == "running"
        tasks = open_tasks(database, engine, instance_id)
        assert sorted(tasks) == sorted((step.task, *step.also_open))
        task = tasks[step.task]
        assert task.candidate_groups == (step.group,)
        seen.append(task)
        with database.session() as s:
            engine.complete(s, task.id, company.actor(WORKER[step.group]), dict(step.data))
    return instance_id, seen


def history(database, company, instance_id: int) -> list[Event]:
    """The case's events in order: the record of which tasks, gateways and timers ran."""
    with database.session() as s:
        return queries.events(s, instance_id, company.id)


# -- tests ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["complaint_qp07", "complaint_ecommerce", "complaint_graded"])
def test_shipped_diagram_passes_every_check_and_is_translated(key):
    xml = (PROCESSES / f"{key}.bpmn").read_bytes()
    compiled = check_diagram(xml, demo.GROUPS)  # raises DiagramError listing any problem
    assert compiled.key == key
    outside_assignments = re.sub(rb'camunda:(candidateGroups|candidateUsers|assignee)="[^"]*"', b"", xml)
    assert b"${" not in outside_assignments and b"#{" not in xml  # expressions are Python; `${...}` only assigns
    named = etree.fromstring(xml).xpath("//bpmn:*[@name]", namespaces={"bpmn": BPMN_NS})
    untranslated = [n.get("id") for n in named
                    if set(compiled.element_names.get(n.get("id"), {})) != {"", "zh_Hans", "zh_Hant"}]
    assert untranslated == []
    fields = [f for task in compiled.tasks.values() for f in task.fields]
    assert fields and all(set(f.labels) == {"zh_Hans", "zh_Hant"} for f in fields)
    assert all(set(o.names) == {"zh_Hans", "zh_Hant"} for f in fields for o in f.options)


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS))
def test_path_reaches_its_end_with_its_tasks_gateways_and_timers_in_order(database, engine, clock, acme,
                                                                         complaint_data, path):
    key, steps, end = PATHS[path]
    instance_id, _ = drive(database, engine, clock, acme, complaint_data, key, steps)

    row = instance_row(database, instance_id)
    assert (row.status, row.end_element, row.error, row.next_timer_at) == ("completed", end, None, None)
    assert open_tasks(database, engine, instance_id) == {}
    events = history(database, acme, instance_id)
    rows = [s for s in steps if isinstance(s, Step)]
    assert [e.element_id for e in events if e.type == "task_completed"] == [s.task for s in rows]
    assert [e.data["flow"] for e in events if e.type == "gateway_taken"] == [f for s in rows for f in s.flows]
    assert [e.element_id for e in events if e.type == "timer_fired"] == \
        [name for s in steps if isinstance(s, Tick) for name in s.fires]
    assert (events[-1].type, events[-1].element_id) == ("instance_completed", end)


def test_a_week_without_closure_alerts_the_general_managers_office_and_the_case_goes_on(
        database, engine, clock, acme, complaint_data):
    instance_id, _ = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", WEEK_PASSES[:-1])
    row = instance_row(database, instance_id)
    assert (row.status, row.next_timer_at) == ("running", None)  # fired once, and nothing was cancelled
    tasks = open_tasks(database, engine, instance_id)
    assert {k: t.candidate_groups for k, t in tasks.items()} == {"approve_quality": (QUALITY,),
                                                                   "overdue_alert": (MANAGEMENT,)}
    assert tasks["overdue_alert"].due_at == clock.now + timedelta(days=1)
    with database.session() as s:
        data = queries.instance_view(s, engine, s.get(Instance, instance_id)).data
    assert data["handling_plan"] == PLANNED.data["handling_plan"]


def test_week_is_counted_from_the_start_of_the_handling(database, engine, clock, acme, complaint_data):
    instance_id, _ = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce",
                           [REGISTERED, VALID, ASSIGNED])
    assert instance_row(database, instance_id).next_timer_at == START + timedelta(days=7)


def test_ecommerce_time_limits_are_the_tasks_due_dates(database, engine, clock, acme, complaint_data):
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce",
                    [REGISTERED, VALID, ASSIGNED, *HANDLED, SATISFIED])
    due = {t.element_id: t.due_at for t in seen}
    day = timedelta(days=1)
    assert (due["register_appeal"], due["check_validity"], due["plan"]) == (None, START + day, START + day)
    assert due["approve_quality"] == START + 3 * day  # the quality lead reports within 3 days
    assert due["callback"] == datetime(2026, 3, 9, 15, 59, tzinfo=UTC)  # 23:59 that day in Shanghai


def test_qp07_special_complaints_come_first_in_the_inboxes(database, engine, clock, acme, complaint_data):
    for classification, priority in ((GENERAL, 50), (URGENT, 80)):
        _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_qp07",
                        [LIST_ENTRY, classification, NOT_CUSTOMER_NO_VISIT])
        assert [(t.element_id, t.priority) for t in seen] == [
            ("register_list", 50), ("classify", 50), ("analyse_cause", priority)]
