"""Due dates and priorities written on user tasks: ISO 8601 literals, business forms on the company's calendar
('2 working days', 'next day 15:00'), dates and date-times on the company's wall clock, or sandboxed expressions
giving one of them."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from SpiffWorkflow.task import Task

from engine.calendars.working_time import BusinessCalendar, calendar_of, parse_business
from engine.runtime.restricted import duration_end, is_iso_literal

END_OF_DAY = time(23, 59)  # what a due date given as a bare date means


def _as_utc(value: object, calendar: Callable[[], BusinessCalendar] | None = None) -> datetime:
    """A date-time as an aware UTC one. Without a time zone it is read on the company calendar's wall clock (UTC
    without a calendar), and a bare date means the end of that day there."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text)
        except ValueError:
            value = datetime.fromisoformat(text)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, END_OF_DAY)
    if isinstance(value, datetime):
        zone = value.tzinfo or (calendar().zone if calendar else UTC)
        return value.replace(tzinfo=zone).astimezone(UTC)
    raise ValueError(f"a due date must be a date, a date-time or an ISO 8601 duration, not {value!r}")


def due_at(expression: str | None, task: Task, now: datetime,
           calendar: Callable[[], BusinessCalendar]) -> datetime | None:
    """When a task is due: `P1D`/`PT4H` (calendar time) or a business form (on the company's calendar, which
    `calendar` resolves only then) from now, a date-time, a date (the end of that day on the company's wall
    clock, so `today()` is due tonight in Shanghai, not at 07:59 the next morning), or an expression giving one."""
    if not expression:
        return None
    text = expression.strip()
    if not is_iso_literal(text) and parse_business(text) is None:
        with calendar_of(calendar, now):  # inbox rows are written after the step, outside its context
            text = task.workflow.script_engine.evaluate(task, text)
        if not isinstance(text, str):
            return _as_utc(text, calendar)
    end = duration_end(text, now, calendar)
    return end if end is not None else _as_utc(text, calendar)


def priority(expression: str | None, task: Task) -> int:
    """A task's priority (0-100, default 50): a number or an expression giving one."""
    if not expression:
        return 50
    text = expression.strip()
    value = int(text) if text.lstrip("-").isdigit() else task.workflow.script_engine.evaluate(task, text)
    return max(0, min(100, int(value)))


def parse_utc(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime."""
    return _as_utc(value)
