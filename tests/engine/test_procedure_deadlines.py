"""The shipped procedures carry the time limits of the companies' rules (/work/shared/domain/complaint-procedures.md)
exactly: calendar days where a rule says days, working days on the company's calendar where it says working days,
hours where it says hours, and "the same day" / "the next day" on the company's wall clock, not UTC's.

Driven through the Engine on the fake clock of test_shipped_procedures.py. 2026's National Day: 1-7 October off,
Saturday 10 October worked in exchange.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from conftest import GRADING, ROOT
from engine import queries
from engine.calendars.company import CompanyCalendar
from engine.dto import Actor
from engine.records import InboxTask, Instance
from engine.repository.decisions import publish_decision
from test_graded_procedure import NO_CLASS_FACTS, NO_GRADING_FACTS
from test_shipped_procedures import (
    ANALYSED,
    ASSIGNED,
    CS,
    HANDLING,
    IMPLEMENTED,
    MANAGEMENT,
    MANAGER_APPROVES,
    PLANNED,
    QUALITY,
    QUALITY_APPROVES,
    QUALITY_REJECTS,
    REGISTERED,
    UNSATISFIED,
    VALID as ECOMMERCE_VALID,
    S,
    Tick,
    clock,  # a fixture
    drive,
    engine,  # a fixture
    instance_row,
    open_tasks,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def beijing(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time in 2026 as the UTC moment Kesu stores."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def due_dates(seen) -> dict[str, list[datetime | None]]:
    """The due time of every task a path opened, by element, in the order they opened."""
    found: dict[str, list[datetime | None]] = {}
    for task in seen:
        found.setdefault(task.element_id, []).append(task.due_at)
    return found


# -- e-commerce platform: 1 day, 3 days, 1 week, the same day ------------------------------------------------------

def test_department_reaches_the_preliminary_agreement_within_one_day_of_receiving_the_case(
        database, engine, clock, acme, complaint_data):
    clock.now = beijing(9, 30, 10)
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", [
        REGISTERED, ECOMMERCE_VALID, ASSIGNED, Tick(5 * HOUR), ANALYSED, Tick(2 * HOUR), PLANNED,
        QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED, Tick(HOUR), UNSATISFIED, ANALYSED])
    due = due_dates(seen)
    # analysis and plan share the one day, counted from assignment; the National Day holiday does not stretch it
    assert due["analyse_cause"][0] == due["plan"][0] == beijing(10, 1, 10)
    # handled again after an unsatisfied callback: a new day from then
    assert due["analyse_cause"][1] == beijing(9, 30, 18) + DAY


def test_quality_lead_reports_within_three_calendar_days_after_the_investigation(
        database, engine, clock, acme, complaint_data):
    clock.now = beijing(9, 29, 10)
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", [
        REGISTERED, ECOMMERCE_VALID, ASSIGNED, ANALYSED, Tick(4 * HOUR), PLANNED, QUALITY_REJECTS, PLANNED])
    assert due_dates(seen)["approve_quality"] == [beijing(10, 2, 14)]  # holidays count: the rule says days


@pytest.mark.parametrize("handled_at,due", [
    (beijing(3, 10, 7, 30), beijing(3, 10, 23, 59)),  # 23:30 UTC on 9 March is already the 10th in Shanghai
    (beijing(3, 9, 22), beijing(3, 9, 23, 59)),
])
def test_callback_is_due_at_the_end_of_the_day_the_case_is_handled_in_the_companys_time_zone(
        database, engine, clock, acme, complaint_data, handled_at, due):
    clock.now = beijing(3, 9, 9)
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", [
        REGISTERED, ECOMMERCE_VALID, ASSIGNED, ANALYSED, PLANNED, QUALITY_APPROVES, MANAGER_APPROVES,
        Tick(handled_at - beijing(3, 9, 9)), IMPLEMENTED, S("callback", QUALITY, {"satisfied": True})])
    assert due_dates(seen)["callback"] == [due]


def test_callback_follows_the_companys_own_time_zone(database, engine, clock, acme, complaint_data):
    with database.session() as s:  # a company abroad: no calendar of its own, China's days in its time zone
        s.execute(sa.delete(CompanyCalendar).where(CompanyCalendar.company_id == acme.id))
        s.execute(sa.text("UPDATE companies SET timezone = 'America/New_York' WHERE id = :id"), {"id": acme.id})
    clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 22:00 on the 9th in New York, the 10th elsewhere
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", [
        REGISTERED, ECOMMERCE_VALID, ASSIGNED, ANALYSED, PLANNED, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENTED,
        S("callback", QUALITY, {"satisfied": True})])
    assert due_dates(seen)["callback"] == [datetime(2026, 3, 10, 3, 59, tzinfo=UTC)]  # 23:59 EDT on the 9th


def test_week_without_closure_is_seven_calendar_days_over_the_holiday(database, engine, clock, acme,
                                                                      complaint_data):
    clock.now = beijing(9, 30, 10)
    instance_id, _ = drive(database, engine, clock, acme, complaint_data, "complaint_ecommerce", [
        REGISTERED, ECOMMERCE_VALID, ASSIGNED, Tick(7 * DAY - timedelta(minutes=1))])
    assert instance_row(database, instance_id).next_timer_at == beijing(10, 7, 10)
    assert "overdue_alert" not in open_tasks(database, engine, instance_id)
    drive_on(database, engine, clock, acme, instance_id, timedelta(minutes=2))
    assert open_tasks(database, engine, instance_id)["overdue_alert"].due_at == beijing(10, 8, 10, 1)


def drive_on(database, engine, clock, company, instance_id: int, delta: timedelta) -> None:
    """Let time pass for a running case and run the timer worker on it."""
    clock.now += delta
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, instance_id), Actor(company_id=company.id))


# -- graded procedure (property developer, general/urgent rules, A-E classes) --------------------------------------

GRADED_VALID = S("check_validity", CS, {"valid": True}, "flow_valid_yes")
CLASS = {  # the facts that make each class
    "A": S("classify_complaint", CS, {**NO_CLASS_FACTS, "leak": True}),
    "B": S("classify_complaint", CS, {**NO_CLASS_FACTS, "customers_affected": 6}),
    "C": S("classify_complaint", CS, NO_CLASS_FACTS),
    "D": S("classify_complaint", CS, {**NO_CLASS_FACTS, "group_opinion": True}),
    "E": S("classify_complaint", CS, {**NO_CLASS_FACTS, "inquiry": True}),
}
REPORTED = S("report_to_supervisor", MANAGEMENT, {"supervisor_instructions": "每日汇报"})
LEVEL_4 = S("grade_complaint", QUALITY, {**NO_GRADING_FACTS, "handling_cost": 20_000})  # the department alone
LEVEL_5 = S("grade_complaint", QUALITY, NO_GRADING_FACTS)  # customer service resolves it
HANDLED = [S("handle", HANDLING, {"handling_result": "已维修", "closure": "normal"}, also_open=("progress_feedback",)),
           S("progress_feedback", CS, {"progress_note": "维修中"})]


def graded(database, engine, clock, acme, complaint_data, path: list, category: str = "product_quality"):
    """Drive the graded procedure (its class table published first) for a complaint of `category`."""
    with database.session() as s:
        publish_decision(s, acme.id, (ROOT / "processes" / "complaint_class.dmn").read_bytes(), None)
    return drive(database, engine, clock, acme, {**complaint_data, "category": category}, "complaint_graded", path)


def to_handling(class_: str, level=LEVEL_4) -> list:
    """The steps up to the handling of a complaint of class `class_` graded `level`."""
    return [GRADED_VALID, CLASS[class_], *([REPORTED] if class_ in "AB" else []), level]


@pytest.mark.parametrize("category,working_days,due", [
    ("sales_service", 2, beijing(3, 11)),
    ("refund_review", 5, beijing(3, 16)),
    ("contract_termination", 10, beijing(3, 23)),
    ("refund_progress", 15, beijing(3, 30)),
    ("elevator_failure", 5, beijing(3, 16)),
    ("other", 1, beijing(3, 10)),  # other: the next day
    ("product_quality", 5, beijing(3, 16)),  # Kesu's own categories take the nearest rule
    ("service_attitude", 2, beijing(3, 11)),
])
def test_closure_is_due_the_categorys_working_days_after_registration(database, engine, clock, acme, complaint_data,
                                                                      category, working_days, due):
    clock.now = beijing(3, 9)  # a Monday
    instance_id, _ = graded(database, engine, clock, acme, complaint_data,
                            [Tick(3 * HOUR), *to_handling("C"), Tick(3 * HOUR)], category)
    assert open_tasks(database, engine, instance_id)["handle"].due_at == due  # from registration, not the handling
    with database.session() as s:
        data = queries.instance_view(s, engine, s.get(Instance, instance_id)).data
    assert data["closure_working_days"] == working_days


@pytest.mark.parametrize("category,due", [
    ("other", beijing(10, 8)),  # the next working day is after the holiday
    ("sales_service", beijing(10, 9)),
    ("claims", beijing(10, 13)),  # 8, 9, the adjusted working Saturday 10, 12, 13 October
])
def test_closure_deadline_skips_the_holiday_and_counts_the_adjusted_working_saturday(
        database, engine, clock, acme, complaint_data, category, due):
    clock.now = beijing(9, 30)
    instance_id, _ = graded(database, engine, clock, acme, complaint_data, to_handling("C", LEVEL_5), category)
    assert open_tasks(database, engine, instance_id)["resolve"].due_at == due  # customer service resolving: the same


def test_complaint_is_answered_within_24_hours_and_a_class_a_one_reported_within_the_hour(
        database, engine, clock, acme, complaint_data):
    clock.now = beijing(9, 30, 17)
    _, seen = graded(database, engine, clock, acme, complaint_data,
                     [GRADED_VALID, Tick(HOUR), CLASS["A"], REPORTED])
    due = due_dates(seen)
    assert due["check_validity"] == [beijing(10, 1, 17)]  # hours are hours, holiday or not
    assert due["report_to_supervisor"] == [beijing(9, 30, 19)]


def test_invalid_complaint_gets_its_explanation_within_24_hours(database, engine, clock, acme, complaint_data):
    clock.now = beijing(9, 30, 17)
    _, seen = graded(database, engine, clock, acme, complaint_data, [
        S("check_validity", CS, {"valid": False}, "flow_valid_no"),
        S("explain_invalid", CS, {"explanation": "非本公司产品"})])
    assert due_dates(seen)["explain_invalid"] == [beijing(10, 1, 17)]


@pytest.mark.parametrize("class_,started,due", [
    ("B", beijing(9, 30, 18), beijing(10, 1, 15)),  # a group complaint: by 15:00 the next day, a holiday or not
    ("D", beijing(11, 27, 18), beijing(11, 28, 15)),  # ... or a Saturday
    ("C", beijing(9, 30, 10), beijing(10, 9, 10)),  # the others: within 2 working days
    ("E", beijing(10, 9, 10), beijing(10, 12, 10)),  # the adjusted working Saturday counts
])
def test_progress_feedback_is_due_by_15_00_the_next_day_for_group_complaints_else_in_two_working_days(
        database, engine, clock, acme, complaint_data, class_, started, due):
    clock.now = started
    instance_id, _ = graded(database, engine, clock, acme, complaint_data, to_handling(class_))
    assert open_tasks(database, engine, instance_id)["progress_feedback"].due_at == due


def test_callback_is_due_in_two_working_days(database, engine, clock, acme, complaint_data):
    clock.now = beijing(9, 29)
    _, seen = graded(database, engine, clock, acme, complaint_data, [
        *to_handling("C"), HANDLED[0], Tick(DAY), HANDLED[1], Tick(9 * DAY),
        S("callback", CS, {"callback_reached": False}), S("callback", CS, {"callback_reached": False})])
    assert due_dates(seen)["callback"] == [beijing(10, 9), beijing(10, 12)]  # over the holiday; Saturday 10th counts


def test_abnormal_closure_is_decided_in_two_working_days(database, engine, clock, acme, complaint_data):
    clock.now = beijing(10, 9)
    _, seen = graded(database, engine, clock, acme, complaint_data, [
        *to_handling("C"), S("handle", HANDLING, {"handling_result": "诉求超出合同", "closure": "abnormal"},
                             also_open=("progress_feedback",)), HANDLED[1],
        S("decide_abnormal", CS, {"abnormal_grounds": "contract", "abnormal_reason": "合同未约定",
                                  "abnormal_accepted": True})])
    assert due_dates(seen)["decide_abnormal"] == [beijing(10, 12)]  # Saturday 10th, Monday 12th


def test_class_a_and_b_complaints_are_followed_up_every_day_while_handled(database, engine, clock, acme,
                                                                          complaint_data):
    clock.now = beijing(3, 9, 10)
    instance_id, _ = graded(database, engine, clock, acme, complaint_data, [
        *to_handling("B"), Tick(DAY + timedelta(minutes=1), fires=("daily_follow_up",)),
        Tick(DAY, fires=("daily_follow_up",))])
    with database.session() as s:
        follow_ups = s.scalars(sa.select(InboxTask.due_at).where(InboxTask.instance_id == instance_id,
                                                                 InboxTask.element_id == "follow_up")).all()
    assert sorted(follow_ups) == [beijing(3, 10, 23, 59), beijing(3, 11, 23, 59)]  # each by the end of its day
    assert instance_row(database, instance_id).next_timer_at == beijing(3, 12, 10)


def test_other_classes_get_no_daily_follow_up_and_the_days_stop_with_the_handling(database, engine, clock, acme,
                                                                                  complaint_data):
    clock.now = beijing(3, 9, 10)
    instance_id, _ = graded(database, engine, clock, acme, complaint_data, [
        *to_handling("C"), Tick(DAY + timedelta(minutes=1), fires=("daily_follow_up",)), *HANDLED])
    assert sorted(open_tasks(database, engine, instance_id)) == ["callback"]
    assert instance_row(database, instance_id).next_timer_at is None


# -- standard procedure -------------------------------------------------------------------------------------------

def test_standard_callback_is_due_in_two_working_days(database, engine, clock, acme, complaint_data):
    clock.now = beijing(10, 9, 16)
    _, seen = drive(database, engine, clock, acme, complaint_data, "complaint_standard", [
        S("check_validity", CS, {"valid": True}, "flow_valid_yes"), S("grade_complaint", QUALITY, GRADING),
        S("assign", QUALITY, {"handling_department": "Handling Department", "responsible_person": "handler@acme.test"}),
        S("analyse_cause", HANDLING, {"root_cause": "储存不当", "customer_caused": True, "site_visit": False},
          "flow_customer_caused_yes"),
        S("reply_customer_caused", CS, {"reply_content": "请按说明书储存"}),
        S("callback", CS, {"callback_reached": True, "satisfied": True}, "flow_reached_yes", "flow_satisfied_yes")])
    assert due_dates(seen)["callback"] == [beijing(10, 12, 16)]  # the adjusted working Saturday is the first
