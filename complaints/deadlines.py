"""What an inbox row is up against: its task's due time and its case's running SLA clocks, each with the working
time left on the company's calendar and a state (on time, warning, breached, paused)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from complaints.sla import SlaClock
from engine.calendars.working_time import BusinessCalendar

TASK_WARNING = 0.8  # a task warns once this share of the time from its opening to its due time has gone


@dataclass(frozen=True)
class Deadline:
    source: str  # "task", "response" or "resolution"
    due_at: datetime | None  # None while a paused clock waits for the customer
    state: str  # "ok", "warning", "breached" or "paused"
    left: timedelta  # working time left; negative when overdue

    @property
    def overdue(self) -> bool:
        return self.state == "breached"


def _state(now: datetime, due_at: datetime, warn_at: datetime | None) -> str:
    if now >= due_at:
        return "breached"
    return "warning" if warn_at is not None and now >= warn_at else "ok"


def deadlines(due_at: datetime | None, opened_at: datetime, clocks: Iterable[SlaClock], now: datetime,
              calendar: BusinessCalendar) -> list[Deadline]:
    """The task's own deadline (if it has one) and its case's unmet clocks, most urgent first."""
    found = []
    if due_at is not None:
        warn_at = opened_at + (due_at - opened_at) * TASK_WARNING
        found.append(Deadline("task", due_at, _state(now, due_at, warn_at), calendar.working_time_between(now, due_at)))
    for clock in clocks:
        if clock.met_at is not None:
            continue
        if clock.paused_at is not None:
            found.append(Deadline(clock.kind, None, "paused", calendar.working_time_between(clock.paused_at,
                                                                                               clock.due_at)))
        else:
            found.append(Deadline(clock.kind, clock.due_at, _state(now, clock.due_at, clock.warn_at),
                                  calendar.working_time_between(now, clock.due_at)))
    return sorted(found, key=_urgency)


def _urgency(deadline: Deadline) -> tuple[bool, datetime]:
    return deadline.due_at is None, deadline.due_at or datetime.max.replace(tzinfo=None)


def earliest(found: Sequence[Deadline]) -> datetime | None:
    """The first due time among them, for sorting an inbox by due."""
    return found[0].due_at if found else None
