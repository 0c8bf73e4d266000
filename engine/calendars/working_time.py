"""Business time on a company's calendar: working days, working hours, public holidays and the adjusted working
days China moves around them (调休).

Times go in and come out as aware UTC datetimes; the arithmetic happens in the calendar's time zone. The
business forms a diagram may use:
- "N working days": the Nth working day after the start's date, at the same local time ("1 working day" is the
  next working day at the same time, not 24 working hours);
- "N working hours": N hours counted only inside the working periods (the lunch break and nights don't count);
- "next working day HH:MM": the first working day after the start's date, at that local time;
- "next day HH:MM": the day after the start's date, working or not, at that local time (a rule such as "by 15:00
  the next day" needs the company's wall clock, not a working day).
Each has a Chinese spelling too ("2个工作日", "4个工作小时", "次工作日 15:00", "次日 15:00").
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

DEFAULT_PERIODS = ((time(8, 30), time(12, 0)), (time(13, 0), time(17, 30)))
MONDAY_TO_FRIDAY = frozenset(range(5))
_SEARCH_DAYS = 366 * 2  # no calendar has two years without a working day; beyond that it is misconfigured


@dataclass(frozen=True)
class BusinessCalendar:
    """When a company works: its time zone, daily working periods, working weekdays (0 = Monday), public
    holidays, and adjusted working days (days worked although they fall on a weekend)."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))
        if not self.periods or any(start >= end for start, end in self.periods) or any(
                earlier[1] > later[0] for earlier, later in pairwise(self.periods)):
            raise ValueError("working periods must be ordered, non-overlapping and each end after it starts")

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def working_day_after(self, day: date, count: int = 1) -> date:
        """The `count`th working day after `day` (day itself not counted)."""
        for _ in range(count):
            day = self._next_working_day(day)
        return day

    def add_working_days(self, start: datetime, count: int) -> datetime:
        """The `count`th working day after the start's local date, at the start's local time."""
        local = self._local(start)
        day = self.working_day_after(local.date(), count)
        return self._utc(datetime.combine(day, local.time()))

    def next_working_day_at(self, start: datetime, at: time) -> datetime:
        """The first working day after the start's local date, at the local time `at`."""
        return self._utc(datetime.combine(self.working_day_after(self._local(start).date()), at))

    def next_day_at(self, start: datetime, at: time) -> datetime:
        """The day after the start's local date, working or not, at the local time `at`."""
        return self._utc(datetime.combine(self.date_of(start) + timedelta(days=1), at))

    def date_of(self, moment: datetime) -> date:
        """The local date of a UTC moment: what "today" is for the company."""
        return self._local(moment).date()

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """`hours` counted inside working periods only, from `start` (outside them: from the next period)."""
        remaining = timedelta(hours=hours)
        for opens, closes in self._periods_from(self._local(start)):
            if remaining <= closes - opens:
                return self._utc(opens + remaining)
            remaining -= closes - opens
        raise AssertionError("unreachable: _periods_from never ends")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative when `end` is earlier): time left, or time overdue."""
        if end < start:
            return -self.working_time_between(end, start)
        local_end = self._local(end)
        total = timedelta()
        for opens, closes in self._periods_from(self._local(start)):
            if opens >= local_end:
                return total
            total += min(closes, local_end) - opens
        raise AssertionError("unreachable: _periods_from never ends")

    # -- helpers -------------------------------------------------------------------------------------------

    def _next_working_day(self, day: date) -> date:
        for _ in range(_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("the calendar has no working day in two years")

    def _periods_from(self, local: datetime) -> Iterable[tuple[datetime, datetime]]:
        """The working periods (naive local times) from `local` on, the first cut to start at `local`."""
        day = local.date()
        if not self.is_working_day(day):
            day = self._next_working_day(day)
        while True:
            for opens, closes in self.periods:
                period = datetime.combine(day, opens), datetime.combine(day, closes)
                if period[1] > local:
                    yield max(period[0], local), period[1]
            day = self._next_working_day(day)

    def _local(self, moment: datetime) -> datetime:
        """A UTC moment as a naive local datetime (business arithmetic is done on the wall clock)."""
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)


@lru_cache(maxsize=32)
def china(timezone_name: str = "Asia/Shanghai", periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
          ) -> BusinessCalendar:
    """Mainland China's calendar as the State Council publishes it (statutory holidays and adjusted working
    days, through the latest year the chinesecalendar package knows), Monday to Friday otherwise."""
    from chinese_calendar.constants import holidays, workdays  # data only; imported where it is needed

    return BusinessCalendar(timezone_name, periods, MONDAY_TO_FRIDAY, frozenset(holidays), frozenset(workdays))


# -- the calendar and the time of the case being stepped ------------------------------------------------------

# Set by the runtime around each step, and looked up only if a business duration is evaluated: most steps
# never need the company's calendar, so resolving it (a query) is deferred.
_CALENDAR: ContextVar[Callable[[], BusinessCalendar] | None] = ContextVar("kesu_calendar", default=None)
_NOW: ContextVar[datetime | None] = ContextVar("kesu_now", default=None)


@contextmanager
def calendar_of(resolve: Callable[[], BusinessCalendar], now: datetime | None = None) -> Iterator[None]:
    """Business durations evaluated inside use the calendar `resolve` gives; given the step's time `now`, scripts'
    now() and today() read it (the time the step is recorded at, so re-running the history computes the same)."""
    calendar, moment = _CALENDAR.set(resolve), _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(moment)
        _CALENDAR.reset(calendar)


def current_calendar() -> BusinessCalendar:
    """The calendar of the case being stepped, else mainland China's."""
    resolve = _CALENDAR.get()
    return resolve() if resolve is not None else china()


def step_time() -> datetime | None:
    """The time of the step being run, when the runtime gave one."""
    return _NOW.get()


# -- business durations written in diagrams -------------------------------------------------------------------

@dataclass(frozen=True)
class BusinessDuration:
    """A parsed business form: `days` working days, `hours` working hours, or the next (working, unless
    `working` is false) day `at`."""

    days: int | None = None
    hours: float | None = None
    at: time | None = None
    working: bool = True

    def as_iso_duration(self, now: datetime) -> str:
        """The plain ISO 8601 duration from `now` to this business duration's end on the current calendar,
        which is what a timer's duration must give SpiffWorkflow."""
        seconds = max((self.after(now, current_calendar()) - now).total_seconds(), 0.0)
        return f"PT{seconds:.6f}S"

    def after(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        if self.days is not None:
            return calendar.add_working_days(start, self.days)
        if self.hours is not None:
            return calendar.add_working_hours(start, self.hours)
        assert self.at is not None, "a business duration is days, hours or a time of day"
        if self.working:
            return calendar.next_working_day_at(start, self.at)
        return calendar.next_day_at(start, self.at)


_NUMBER = r"(\d+(?:\.\d+)?)"
_FORMS = (
    (re.compile(r"^(\d+)\s*(?:working\s+days?|个?工作日|個?工作日)$", re.I), "days"),
    (re.compile(rf"^{_NUMBER}\s*(?:working\s+hours?|个?工作小时|個?工作小時)$", re.I), "hours"),
    (re.compile(r"^(?:next\s+working\s+day|次工作日|下一个工作日|下一個工作日)\s*(\d{1,2}):(\d{2})$", re.I), "at"),
    (re.compile(r"^(?:next\s+day|次日|第二天)\s*(\d{1,2}):(\d{2})$", re.I), "day at"),
)


MAX_BUSINESS = {"days": 3650, "hours": 24 * 3650}  # ten years: no procedure's deadline is further off


def parse_business(text: str) -> BusinessDuration | None:
    """The business form `text` spells, or None if it is not one (then it may be ISO 8601 or an expression).
    Raises ValueError for a business form with an impossible time ('next working day 25:00')."""
    text = " ".join(text.split())
    for pattern, kind in _FORMS:
        found = pattern.match(text)
        if not found:
            continue
        if kind in ("days", "hours"):
            amount = float(found.group(1))
            if amount > MAX_BUSINESS[kind]:  # counted day by day: a huge number would hold the server
                raise ValueError(f"{text!r}: at most {MAX_BUSINESS[kind]} working {kind}")
            return BusinessDuration(days=int(amount)) if kind == "days" else BusinessDuration(hours=amount)
        hour, minute = int(found.group(1)), int(found.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r}: {hour}:{minute:02d} is not a time of day")
        return BusinessDuration(at=time(hour, minute), working=kind == "at")
    return None
