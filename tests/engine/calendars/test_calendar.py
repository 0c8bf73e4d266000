"""Business time on China's calendar: working days keep the time of day, working hours count only inside the
working periods, and both step over statutory holidays and onto adjusted working weekends (2026's National Day:
1–7 October off, Sunday 20 September and Saturday 10 October worked)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.calendars.working_time import BusinessCalendar, BusinessDuration, china, parse_business

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHINA = china()


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    """A Beijing wall-clock time as the UTC moment Kesu stores."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_china_preset_knows_2026s_holidays_and_adjusted_working_days():
    assert not CHINA.is_working_day(date(2026, 10, 5))  # a Monday in the National Day holiday
    assert CHINA.is_working_day(date(2026, 10, 10))  # a Saturday worked in exchange
    assert CHINA.is_working_day(date(2026, 9, 20))  # a Sunday worked in exchange
    assert not CHINA.is_working_day(date(2026, 11, 28))  # an ordinary Saturday


@pytest.mark.parametrize("start,days,due", [
    (at(11, 24), 1, at(11, 25)),  # Tuesday → Wednesday, same time
    (at(11, 27), 1, at(11, 30)),  # Friday → Monday
    (at(11, 28), 1, at(11, 30)),  # from a Saturday: the next working day
    (at(9, 30), 1, at(10, 8)),  # across the National Day holiday
    (at(10, 9), 1, at(10, 10)),  # onto the adjusted working Saturday
    (at(10, 9), 2, at(10, 12)),
    (at(9, 18, 16, 45), 1, at(9, 20, 16, 45)),  # Friday → the adjusted working Sunday
])
def test_working_days_land_on_the_nth_working_day_at_the_same_time(start, days, due):
    assert CHINA.add_working_days(start, days) == due


@pytest.mark.parametrize("start,hours,due", [
    (at(11, 24, 9), 2, at(11, 24, 11)),
    (at(11, 24, 11, 30), 1, at(11, 24, 13, 30)),  # the lunch break does not count
    (at(11, 24, 16, 30), 1, at(11, 24, 17, 30)),  # ends exactly at closing time, not the next morning
    (at(11, 24, 17, 30), 1, at(11, 25, 9, 30)),
    (at(11, 24, 7), 1, at(11, 24, 9, 30)),  # before opening: from the opening
    (at(11, 27, 16), 2, at(11, 30, 9)),  # Friday afternoon → Monday morning
    (at(9, 30, 17), 1, at(10, 8, 9)),  # half an hour before the holiday, the rest after it
    (at(11, 24, 8, 30), 8, at(11, 24, 17, 30)),  # a whole working day is 8 working hours
])
def test_working_hours_count_only_inside_the_working_periods(start, hours, due):
    assert CHINA.add_working_hours(start, hours) == due


def test_next_working_day_at_a_time_skips_holidays_and_weekends():
    assert CHINA.next_working_day_at(at(11, 24, 20), time(15)) == at(11, 25, 15)
    assert CHINA.next_working_day_at(at(9, 30, 9), time(15)) == at(10, 8, 15)
    assert CHINA.next_working_day_at(at(10, 9, 18), time(15)) == at(10, 10, 15)


def test_next_day_at_a_time_is_the_next_calendar_day_on_the_local_wall_clock():
    assert CHINA.next_day_at(at(9, 30, 18), time(15)) == at(10, 1, 15)  # a holiday is still the next day
    assert CHINA.next_day_at(at(11, 27, 18), time(15)) == at(11, 28, 15)  # so is a Saturday
    assert CHINA.next_day_at(at(11, 24, 0, 30), time(15)) == at(11, 25, 15)  # 16:30 UTC on the 23rd: local date


def test_date_of_a_moment_is_the_local_date():
    assert CHINA.date_of(at(3, 10, 7, 30)) == date(2026, 3, 10)  # still 9 March in UTC
    assert CHINA.date_of(at(3, 9, 23, 59)) == date(2026, 3, 9)


def test_working_time_between_counts_time_left_and_time_overdue():
    assert CHINA.working_time_between(at(11, 27, 16), at(11, 30, 9)) == timedelta(hours=2)
    assert CHINA.working_time_between(at(11, 30, 9), at(11, 27, 16)) == -timedelta(hours=2)
    assert CHINA.working_time_between(at(9, 30, 17), at(10, 8, 9)) == timedelta(hours=1)
    assert CHINA.working_time_between(at(11, 28, 9), at(11, 29, 18)) == timedelta()  # a weekend


def test_calendar_in_another_time_zone_keeps_its_own_wall_clock():
    berlin = BusinessCalendar("Europe/Berlin", holidays=frozenset({date(2026, 12, 25)}))
    start = datetime(2026, 12, 24, 16, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    due = datetime(2026, 12, 28, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert berlin.add_working_hours(start, 2) == due


def test_overlapping_working_periods_are_refused():
    with pytest.raises(ValueError, match="working periods"):
        BusinessCalendar(periods=((time(9), time(13)), (time(12), time(17))))


@pytest.mark.parametrize("text,parsed", [
    ("2 working days", BusinessDuration(days=2)),
    ("1 working day", BusinessDuration(days=1)),
    ("2个工作日", BusinessDuration(days=2)),
    ("4 working hours", BusinessDuration(hours=4)),
    ("1.5 working hours", BusinessDuration(hours=1.5)),
    ("4个工作小时", BusinessDuration(hours=4)),
    ("next working day 15:00", BusinessDuration(at=time(15))),
    ("次工作日 15:00", BusinessDuration(at=time(15))),
    ("Next  Working Day 9:30", BusinessDuration(at=time(9, 30))),
    ("next day 15:00", BusinessDuration(at=time(15), working=False)),
    ("次日 15:00", BusinessDuration(at=time(15), working=False)),
    ("第二天15:00", BusinessDuration(at=time(15), working=False)),
])
def test_business_forms_in_english_and_chinese_are_parsed(text, parsed):
    assert parse_business(text) == parsed


@pytest.mark.parametrize("text", ["P1D", "PT4H", "2026-11-30T10:00", "due_date", "two working days"])
def test_iso_durations_dates_and_expressions_are_not_business_forms(text):
    assert parse_business(text) is None


@pytest.mark.parametrize("text", ["next working day 25:00", "next day 25:00", "次日 25:00"])
def test_business_form_with_an_impossible_time_is_refused_naming_it(text):
    with pytest.raises(ValueError, match="25:00 is not a time of day"):
        parse_business(text)


def test_parsed_form_computes_on_the_calendar():
    assert parse_business("2 working days").after(at(9, 30), CHINA) == at(10, 9)
    assert parse_business("next working day 15:00").after(at(10, 9, 18), CHINA) == at(10, 10, 15)
    assert parse_business("next day 15:00").after(at(10, 9, 18), CHINA) == at(10, 10, 15)
    assert parse_business("next working day 15:00").after(at(10, 10, 18), CHINA) == at(10, 12, 15)
    assert parse_business("next day 15:00").after(at(10, 10, 18), CHINA) == at(10, 11, 15)  # a Sunday off
