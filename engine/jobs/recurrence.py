"""When the runs of a periodic procedure fall due: the timer of its start event, read as a schedule.

A start timer is written out, not computed: before the first case there is no case data for an expression.
- timeDate, once at a date-time: "2026-12-01T09:00:00+08:00";
- timeDuration, once, that long after the schedule took effect: "P1D";
- timeCycle, an ISO 8601 repeating interval from a date-time ("R/2026-12-01T09:00:00+08:00/P1M": on the first of
  every month at 09:00) or from when the schedule took effect ("R3/PT1H": three runs, an hour apart), or the
  business form "every working day 09:00" ("每个工作日 09:00") on the company's calendar.
Any of them may be quoted like a Python string ('R/P1D'), as timer expressions inside a case are.

Periods are counted on the wall clock: in the date-time's own offset when it has one, else in the time zone of the
company's calendar. Run n is n periods after the first, counted from the first (31 January + 1 month is the last
day of February, + 2 months is 31 March), where SpiffWorkflow's own cycles add a fixed number of seconds and drift
(a month of 31 days, then 31 again...).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import isodate
from dateutil.relativedelta import relativedelta

from engine.calendars.working_time import BusinessCalendar

KINDS = ("timeDate", "timeDuration", "timeCycle")
SHORTEST = timedelta(minutes=1)  # a run's business key names its minute (engine.jobs.periodic)
_WORKING_DAYS = re.compile(r"^(?:every\s+working\s+day|每个工作日|每個工作日)\s*(\d{1,2}):(\d{2})$", re.I)
_CYCLE_EXAMPLES = "write R/2026-12-01T09:00:00+08:00/P1M, R3/PT1H or every working day 09:00"


class Recurrence(Protocol):
    def following(self, moment: datetime, since: datetime, calendar: BusinessCalendar) -> datetime | None:
        """The first run due strictly after `moment` (UTC) of a schedule that took effect at `since`; None when
        no run is left."""


@dataclass(frozen=True)
class Period:
    """An ISO 8601 duration: whole months (years count 12) and the rest, added on the wall clock."""

    months: int
    rest: timedelta

    def times(self, start: datetime, n: int) -> datetime:
        """`start` plus n periods; a day past the end of the month becomes its last day."""
        return start + relativedelta(months=n * self.months) + n * self.rest

    @property
    def approximate(self) -> timedelta:
        return timedelta(days=self.months * 30.436875) + self.rest

    def index_after(self, first: datetime, moment: datetime) -> int:
        """The smallest n whose run is after `moment`: estimated by the period's average length, then exact."""
        n = max(0, int((moment - first) / self.approximate))
        while n > 0 and self.times(first, n - 1) > moment:
            n -= 1
        while self.times(first, n) <= moment:
            n += 1
        return n


@dataclass(frozen=True)
class Runs:
    """ISO 8601 timers: `count` runs (None: no end) a `period` apart (None: a single run) from `start`, a
    date-time (naive: on the company's calendar) or None for one period after the schedule took effect."""

    period: Period | None
    start: datetime | None
    count: int | None

    def following(self, moment: datetime, since: datetime, calendar: BusinessCalendar) -> datetime | None:
        first = self._first(since, calendar)
        if self.period is None:
            return _utc(first) if first > moment else None
        n = self.period.index_after(first, moment)
        return None if self.count is not None and n >= self.count else _utc(self.period.times(first, n))

    def _first(self, since: datetime, calendar: BusinessCalendar) -> datetime:
        if self.start is not None:
            return self.start if self.start.tzinfo else self.start.replace(tzinfo=calendar.zone)
        assert self.period is not None, "runs without a start begin one period after the schedule took effect"
        return self.period.times(since.astimezone(calendar.zone), 1)


@dataclass(frozen=True)
class WorkingDays:
    """'every working day 09:00': each working day of the company's calendar at that local time."""

    at: time

    def following(self, moment: datetime, since: datetime, calendar: BusinessCalendar) -> datetime | None:
        day = moment.astimezone(calendar.zone).date()
        if not (calendar.is_working_day(day) and datetime.combine(day, self.at, calendar.zone) > moment):
            day = calendar.working_day_after(day)
        return _utc(datetime.combine(day, self.at, calendar.zone))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def parse(kind: str, text: str) -> Recurrence:
    """The schedule a start timer spells; ValueError says what is wrong, in words for the diagram's owner."""
    text = _unquoted(text.strip())
    if not text:
        raise ValueError("the start timer is empty: give a date, a duration or a cycle")
    if kind == "timeDate":
        return Runs(None, _date_time(text), 1)
    if kind == "timeDuration":
        return Runs(_period(text), None, 1)
    if kind == "timeCycle":
        return _cycle(text)
    raise ValueError(f"unknown timer kind {kind}")


def _unquoted(text: str) -> str:
    """A timer written as a Python string literal, as inside a case ('P1D'), is read as its text."""
    if text[:1] not in ("'", '"'):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value.strip() if isinstance(value, str) else text


def _cycle(text: str) -> Recurrence:
    found = _WORKING_DAYS.match(" ".join(text.split()))
    if found:
        hour, minute = int(found.group(1)), int(found.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"{hour}:{minute:02d} is not a time of day")
        return WorkingDays(time(hour, minute))
    parts = text.split("/")
    repeat = re.fullmatch(r"R(\d*)", parts[0], re.I)
    if repeat is None or len(parts) not in (2, 3):
        raise ValueError(f"'{text}' is not a cycle Kesu can schedule: {_CYCLE_EXAMPLES}")
    count = int(repeat.group(1)) if repeat.group(1) else None
    if count == 0:
        raise ValueError(f"'{text}' repeats nothing: R0 has no runs")
    if len(parts) == 3 and parts[1][:1].upper() == "P":
        raise ValueError(f"'{text}' ends at a date-time; give the first run instead: {_CYCLE_EXAMPLES}")
    start = _date_time(parts[1]) if len(parts) == 3 else None
    period = _period(parts[-1])
    if period.approximate < SHORTEST:
        raise ValueError(f"'{text}' repeats more often than once a minute")
    return Runs(period, start, count)


def _date_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date-time such as 2026-12-01T09:00:00+08:00") from None


def _period(text: str) -> Period:
    """An ISO 8601 duration, never negative, in whole months (a year is 12) and the rest."""
    problem = f"'{text}' is not an ISO 8601 duration such as P1D, PT4H or P1M"
    try:
        parsed = isodate.parse_duration(text.upper())
    except isodate.ISO8601Error:
        raise ValueError(problem) from None
    if isinstance(parsed, timedelta):
        months, rest = 0, parsed
    else:
        months, rest = parsed.years * 12 + parsed.months, parsed.tdelta
    if months != int(months) or months < 0 or rest < timedelta(0):
        raise ValueError(problem)
    return Period(int(months), rest)
