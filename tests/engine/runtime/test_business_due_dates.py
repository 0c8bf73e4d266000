"""A task's due date written as business time ('2 working days', 'next working day 15:00', 'next day 15:00') is
computed on the company's calendar when the task opens, and a date (`today()`) or a date-time without a time zone
is read on the company's wall clock; lint accepts the business forms and names a malformed one."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.dto import Actor
from engine.errors import ProcessError
from engine.records import InboxTask, Instance
from engine.repository.publishing import publish
from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError
from engine.runtime.restricted import deadline
from engine.runtime.steps import Engine
from test_shipped_procedures import clock, engine  # fixtures: the engine and timers on a fake clock
from test_timers import GROUPS, inbox, instance, pending_timers, timers_diagram

SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def with_due_date(due: str) -> bytes:
    text = timers_diagram("P30D").decode("utf-8")
    return text.replace('id="handle" name="Handle the case" camunda:candidateGroups="Customer Service"',
                        f'id="handle" name="Handle the case" camunda:candidateGroups="Customer Service" '
                        f'camunda:dueDate="{due}"').encode("utf-8")


def due_of_task_opened_at(database, engine, acme, due: str, now: datetime) -> datetime:
    stopped = Engine(engine.auditor, specs=engine.specs, script_time_limit=1.0, form_resolver=engine.form_resolver,
                     directory=engine.directory, clock=lambda: now, calendars=engine.calendars)
    with database.session() as s:
        version = publish(s, acme.id, with_due_date(due), None, groups=GROUPS)
        instance = stopped.start(s, version, acme.actor("service"), {}, business_key="D-1")
        return s.scalar(sa.select(InboxTask.due_at).where(InboxTask.instance_id == instance.id))


@pytest.mark.parametrize("due,opened,expected", [
    ("2 working days", beijing(9, 30, 10), beijing(10, 9, 10)),  # over the National Day holiday
    ("1个工作日", beijing(10, 9, 10), beijing(10, 10, 10)),  # onto the adjusted working Saturday
    ("4 working hours", beijing(9, 30, 16), beijing(10, 8, 11)),  # 1.5 h before the holiday, 2.5 h after
    ("next working day 15:00", beijing(11, 27, 18), beijing(11, 30, 15)),  # Friday evening → Monday
    ("PT4H", beijing(11, 27, 16), beijing(11, 27, 20)),  # ISO 8601 stays calendar time
    ("next day 15:00", beijing(9, 30, 18), beijing(10, 1, 15)),  # the next calendar day, a holiday or not
    ("次日 15:00", beijing(11, 27, 18), beijing(11, 28, 15)),
])
def test_task_due_date_in_business_time_is_computed_on_the_companys_calendar(database, engine, acme, due, opened,
                                                                             expected):
    assert due_of_task_opened_at(database, engine, acme, due, opened) == expected


@pytest.mark.parametrize("due,opened,expected", [
    ("today()", beijing(3, 10, 7, 30), beijing(3, 10, 23, 59)),  # 23:30 UTC on 9 March: already the 10th here
    ("today()", beijing(3, 9, 23, 30), beijing(3, 9, 23, 59)),
    ("'2026-10-08'", beijing(9, 30, 10), beijing(10, 8, 23, 59)),  # a date: the end of that day here
    ("'2026-10-08T15:00'", beijing(9, 30, 10), beijing(10, 8, 15)),  # no time zone: the company's wall clock
    ("'2026-10-08T15:00+00:00'", beijing(9, 30, 10), datetime(2026, 10, 8, 15, tzinfo=UTC)),
    ("deadline('2 working days')", beijing(9, 30, 10), beijing(10, 9, 10)),
])
def test_task_due_date_as_a_date_or_a_local_time_is_on_the_companys_wall_clock(database, engine, acme, due, opened,
                                                                               expected):
    assert due_of_task_opened_at(database, engine, acme, due, opened) == expected


def test_deadline_of_something_that_is_no_duration_stops_the_case_naming_the_task(database, engine, acme):
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        deadline("soon")
    with pytest.raises(ProcessError, match=r"\(handle\): due date or priority: .*deadline\('soon'\)"):
        due_of_task_opened_at(database, engine, acme, "deadline('soon')", beijing(9, 30, 10))


@pytest.mark.parametrize("form", ["next working day", "next day", "次日"])
def test_lint_accepts_business_forms_and_names_the_task_with_a_malformed_one(form):
    check_diagram(with_due_date(f"{form} 15:00"), GROUPS)
    with pytest.raises(DiagramError) as refused:
        check_diagram(with_due_date(f"{form} 25:00"), GROUPS)
    assert ("handle", f"due date: '{form} 25:00': 25:00 is not a time of day") in refused.value.problems


def test_boundary_timer_in_working_days_waits_over_the_holiday_and_fires_on_time(database, engine, clock, acme):
    clock.now = beijing(9, 30, 10)
    with database.session() as s:
        version = publish(s, acme.id, timers_diagram("2 working days"), None, groups=GROUPS)
        case = engine.start(s, version, acme.actor("service"), {}, business_key="T-2").id
    due = beijing(10, 9, 10)  # 1–7 October are holidays: the 2nd working day after 30 September
    assert pending_timers(database, engine, case) == {"Overdue": due}
    assert instance(database, case).next_timer_at == due

    clock.now = due - timedelta(seconds=1)
    fire(database, engine, acme, case)
    assert inbox(database, case) == [("handle", ("Customer Service",))]
    clock.now = due + timedelta(seconds=1)
    fire(database, engine, acme, case)
    assert inbox(database, case) == [("escalate", ("Management",))]


def fire(database, engine, acme, case: int) -> None:
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))


def test_business_time_in_a_timers_date_is_refused_naming_the_event():
    xml = timers_diagram("PT1H").decode().replace(
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>',
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2 working days</bpmn:timeDate>', 1).encode()
    with pytest.raises(DiagramError) as refused:
        check_diagram(xml, GROUPS)
    assert any(element == "handle_overdue" and "goes in the timer's duration" in message
               for element, message in refused.value.problems)


@pytest.mark.parametrize("form", ["99999999 working days", "3651 working days", "87601 working hours",
                                  "9" * 5000 + " working days"])
def test_a_business_duration_too_long_to_count_is_refused_when_publishing_and_when_a_task_opens(
        database, engine, acme, form):
    """Working days are counted one by one on the calendar: 99,999,999 of them would hold the server for ages."""
    with pytest.raises(DiagramError) as refused:
        check_diagram(with_due_date(form), GROUPS)
    [(element, message)] = refused.value.problems
    assert element == "handle" and "at most" in message
    with pytest.raises(ProcessError, match=r"\(handle\): due date or priority: .*at most 3650 working days"):
        due_of_task_opened_at(database, engine, acme, f"'{form.split()[0]} working days'", beijing(9, 30, 10))
