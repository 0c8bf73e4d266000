"""Companies' business calendars as admins edit them: time zone, working periods and weekdays, public holidays and
adjusted working days. Each row becomes an engine BusinessCalendar; a company without a row works on mainland
China's calendar (engine.calendars.working_time.china). The rows refer to their company by id only: a company is an
account, a layer above the engine."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from db import Base, UTCDateTime, utcnow
from engine.calendars.working_time import DEFAULT_PERIODS, MONDAY_TO_FRIDAY, BusinessCalendar

CHINA_NAME = "中国大陆"


class Owner(Protocol):
    """What a calendar needs of its company (accounts.models.Company)."""

    id: int
    timezone: str


class CompanyCalendar(Base):
    """One named calendar of a company; exactly one per company is its default, the one due dates use."""

    __tablename__ = "calendars"
    __table_args__ = (sa.UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))  # indexed by the unique constraint
    name: Mapped[str] = mapped_column(sa.String(100))
    is_default: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    periods: Mapped[list[list[str]]] = mapped_column(sa.JSON)  # [["08:30", "12:00"], ["13:00", "17:30"]]
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON)  # working weekdays, 0 = Monday
    holidays: Mapped[list[str]] = mapped_column(sa.JSON)  # ISO dates
    workdays: Mapped[list[str]] = mapped_column(sa.JSON)  # ISO dates: adjusted working days (调休)
    notes: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)  # ISO date -> what the day is ("National Day")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    def to_business(self) -> BusinessCalendar:
        return BusinessCalendar(self.timezone, tuple((time.fromisoformat(a), time.fromisoformat(b))
                                                     for a, b in self.periods),
                                frozenset(self.weekdays), _dates(self.holidays), _dates(self.workdays))

    def set_periods(self, periods: Iterable[tuple[time, time]]) -> None:
        self.periods = [[start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in periods]

    def set_days(self, holidays: dict[date, str], workdays: dict[date, str]) -> None:
        """Replace the holidays and adjusted working days, each with its note ('' for none)."""
        self.holidays = sorted(day.isoformat() for day in holidays)
        self.workdays = sorted(day.isoformat() for day in workdays)
        self.notes = {day.isoformat(): note for day, note in {**holidays, **workdays}.items() if note}

    def days(self, which: str) -> dict[date, str]:
        """The holidays or the adjusted working days ('holidays' / 'workdays'), each with its note."""
        notes = self.notes or {}
        return {date.fromisoformat(day): notes.get(day, "") for day in getattr(self, which)}


def _dates(days: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(day) for day in days)


# -- mainland China's official days ---------------------------------------------------------------------------

def china_years() -> range:
    """The years whose official days the chinesecalendar package knows."""
    from chinese_calendar.constants import holidays  # data only; imported where it is needed

    return range(min(holidays).year, max(holidays).year + 1)


def china_days(years: Iterable[int] | None = None) -> tuple[dict[date, str], dict[date, str]]:
    """Mainland China's statutory holidays and adjusted working days (with the festival's name) in `years`
    (all the package knows when None)."""
    from chinese_calendar.constants import holidays, workdays

    wanted = set(china_years() if years is None else years)
    return ({day: name for day, name in holidays.items() if day.year in wanted},
            {day: name for day, name in workdays.items() if day.year in wanted})


def add_china_year(calendar: CompanyCalendar, year: int) -> None:
    """Add the official days of `year`; a day China moves wins over what the calendar said of it."""
    official_holidays, official_workdays = china_days([year])
    holidays = {d: n for d, n in calendar.days("holidays").items() if d not in official_workdays}
    workdays = {d: n for d, n in calendar.days("workdays").items() if d not in official_holidays}
    calendar.set_days({**holidays, **official_holidays}, {**workdays, **official_workdays})


def new_calendar(company: Owner, name: str, is_default: bool = False) -> CompanyCalendar:
    """A calendar in the company's time zone, the usual periods, Monday to Friday, no special days yet."""
    calendar = CompanyCalendar(company_id=company.id, name=name, is_default=is_default, timezone=company.timezone,
                               weekdays=sorted(MONDAY_TO_FRIDAY), notes={}, holidays=[], workdays=[])
    calendar.set_periods(DEFAULT_PERIODS)
    return calendar


def create_china_calendar(session: Session, company: Owner) -> CompanyCalendar:
    """The company's default calendar: mainland China's official days of every year the package knows."""
    calendar = new_calendar(company, CHINA_NAME, is_default=True)
    calendar.set_days(*china_days())
    session.add(calendar)
    return calendar


def make_default(session: Session, calendar: CompanyCalendar) -> None:
    """Make `calendar` its company's default, and no other."""
    session.execute(sa.update(CompanyCalendar).where(CompanyCalendar.company_id == calendar.company_id,
                                                     CompanyCalendar.id != calendar.id).values(is_default=False))
    calendar.is_default = True


# -- what an admin changes (each in the caller's unit of work) -------------------------------------------------

@dataclass(frozen=True)
class CalendarSettings:
    """What an admin sets on a calendar's form: name, time zone, working periods and weekdays, special days."""

    name: str
    timezone: str
    periods: tuple[tuple[time, time], ...]
    weekdays: tuple[int, ...]
    holidays: dict[date, str]
    workdays: dict[date, str]


def save_calendar(session: Session, company_id: int, calendar_id: int | None, settings: CalendarSettings,
                  user_id: int) -> CompanyCalendar:
    """Create a calendar of the company (`calendar_id` None) or change one of its calendars."""
    calendar = _owned(session, company_id, calendar_id) if calendar_id else CompanyCalendar(company_id=company_id)
    calendar.name, calendar.timezone, calendar.weekdays = settings.name, settings.timezone, list(settings.weekdays)
    calendar.set_periods(settings.periods)
    calendar.set_days(settings.holidays, settings.workdays)
    _touch(session, calendar, user_id)
    return calendar


def fill_in_china_year(session: Session, company_id: int, calendar_id: int, year: int,
                       user_id: int) -> CompanyCalendar:
    """Add mainland China's official days of `year` to one of the company's calendars."""
    calendar = _owned(session, company_id, calendar_id)
    add_china_year(calendar, year)
    _touch(session, calendar, user_id)
    return calendar


def set_default(session: Session, company_id: int, calendar_id: int, user_id: int) -> CompanyCalendar:
    """Make one of the company's calendars the one due dates are counted on."""
    calendar = _owned(session, company_id, calendar_id)
    make_default(session, calendar)
    _touch(session, calendar, user_id)
    return calendar


def _owned(session: Session, company_id: int, calendar_id: int) -> CompanyCalendar:
    """The company's calendar; the pages look it up first, so another company's id is a programming error."""
    calendar = session.get(CompanyCalendar, calendar_id)
    if calendar is None or calendar.company_id != company_id:
        raise LookupError(f"calendar {calendar_id} is not the company's")
    return calendar


def _touch(session: Session, calendar: CompanyCalendar, user_id: int) -> None:
    """Mark the calendar changed, so the engine's cached copy of it is rebuilt."""
    calendar.updated_at, calendar.updated_by_id = utcnow(), user_id
    session.add(calendar)


# -- what an admin sees of a calendar -------------------------------------------------------------------------

def days_off_ahead(calendar: BusinessCalendar, today: date, count: int = 10) -> list[date]:
    """The next `count` usual working weekdays the calendar takes off (public holidays), from `today` on."""
    found: list[date] = []
    day = today
    for _ in range(366 * 2):
        if day.weekday() in calendar.weekdays and not calendar.is_working_day(day):
            found.append(day)
            if len(found) == count:
                break
        day += timedelta(days=1)
    return found


def workdays_ahead(calendar: BusinessCalendar, today: date, count: int = 10) -> list[date]:
    """The next `count` adjusted working days, from `today` on."""
    return sorted(day for day in calendar.workdays if day >= today)[:count]
