"""Targets and deadlines: what a policy's target text means, and when a clock warns, is due and is next looked at."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from complaints.sla.models import SlaClock, SlaPolicy
from engine import N_
from engine.calendars.working_time import BusinessCalendar, parse_business


def target_problem(text: str) -> str | None:
    """Why `text` is not a target ('5 working days', '4 working hours', 'next working day 15:00', 'PT24H',
    'P3D'), or None when it is one (or empty: no target)."""
    text = text.strip()
    if not text:
        return None
    try:
        if parse_business(text) is not None:
            return None
    except ValueError as error:
        return str(error)
    if text.startswith("P"):
        try:
            TimerEventDefinition.parse_iso_duration(text)
            return None
        except Exception:  # noqa: BLE001 - SpiffWorkflow says only "Invalid duration", with a bare Exception
            pass
    return N_("Write business time ('5 working days', '4 working hours', 'next working day 15:00') or an ISO 8601 "
              "duration ('PT24H', 'P3D').")


@dataclass(frozen=True)
class Measure:
    """How a target counts time: working time on the calendar for business targets, else wall-clock time."""

    target: str
    calendar: BusinessCalendar

    @property
    def business(self) -> bool:
        return parse_business(self.target) is not None

    def deadline(self, start: datetime) -> datetime:
        business = parse_business(self.target)
        if business is not None:
            return business.after(start, self.calendar)
        duration = TimerEventDefinition.parse_iso_duration(self.target)
        length: timedelta = TimerEventDefinition.get_timedelta_from_start(duration, start)
        return start + length

    def between(self, start: datetime, end: datetime) -> float:
        if self.business:
            return self.calendar.working_time_between(start, end).total_seconds()
        return (end - start).total_seconds()

    def add(self, start: datetime, seconds: float) -> datetime:
        if seconds <= 0:
            return start
        if self.business:
            return self.calendar.add_working_hours(start, seconds / 3600)
        return start + timedelta(seconds=seconds)


def schedule(clock: SlaClock, policy: SlaPolicy, calendar: BusinessCalendar) -> None:
    """Set the clock's deadline and warning point from its start, its policy and the time it spent paused."""
    measure = Measure(policy.target(clock.kind), calendar)
    base = measure.deadline(clock.started_at)
    window = measure.between(clock.started_at, base)
    clock.policy_id, clock.policy = policy.id, policy
    clock.due_at = measure.add(base, clock.paused_seconds)
    clock.warn_at = measure.add(clock.started_at, window * policy.warn_fraction + clock.paused_seconds)
    plan_check(clock)


def plan_check(clock: SlaClock) -> None:
    if clock.met_at is not None or clock.paused_at is not None or clock.breached_at is not None:
        clock.check_at = None
    elif clock.warned_at is None and clock.warn_at < clock.due_at:
        clock.check_at = clock.warn_at
    else:
        clock.check_at = clock.due_at
