"""Due dates and priorities written on user tasks: ISO 8601 literals, business forms on the company's calendar
('2 working days', 'next working day 15:00'), or sandboxed expressions giving either."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task

from engine.calendar import BusinessCalendar, parse_business
from engine.sandbox import is_iso_literal


def _as_utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59), tzinfo=timezone.utc)
    if isinstance(value, str):
        return _as_utc(datetime.fromisoformat(value))
    raise ValueError(f"a due date must be a date, a date-time or an ISO 8601 duration, not {value!r}")


def due_at(expression: str | None, task: Task, now: datetime,
           calendar: Callable[[], BusinessCalendar]) -> datetime | None:
    """When a task is due: `P1D`/`PT4H` (calendar time) or a business form (working time on the company's
    calendar, which `calendar` resolves only then) from now, an ISO date-time, or an expression giving one."""
    if not expression:
        return None
    text = expression.strip()
    if not is_iso_literal(text) and parse_business(text) is None:
        text = task.workflow.script_engine.evaluate(task, text)
        if not isinstance(text, str):
            return _as_utc(text)
    business = parse_business(text)
    if business is not None:
        return business.after(now, calendar())
    if text.startswith("P"):
        return now + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), now)
    return _as_utc(text)


def priority(expression: str | None, task: Task) -> int:
    """A task's priority (0-100, default 50): a number or an expression giving one."""
    if not expression:
        return 50
    text = expression.strip()
    value = int(text) if text.lstrip("-").isdigit() else task.workflow.script_engine.evaluate(task, text)
    return max(0, min(100, int(value)))


def parse_utc(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime."""
    return _as_utc(value).astimezone(timezone.utc)
