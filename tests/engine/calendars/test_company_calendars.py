"""The engine counts business due dates on the company's default calendar as its admin last saved it; a company
without one works on mainland China's calendar in its own time zone."""
from __future__ import annotations

import sqlalchemy as sa

from accounts.directory import company_calendar
from engine.calendars.company import CHINA_NAME, CompanyCalendar
from engine.calendars.working_time import china
from test_business_due_dates import beijing, due_of_task_opened_at


def default_calendar(database, company_id: int) -> CompanyCalendar:
    with database.session() as s:
        return s.scalar(sa.select(CompanyCalendar).where(CompanyCalendar.company_id == company_id,
                                                         CompanyCalendar.is_default.is_(True)))


def add_holiday_on_the_page(login, admin_email: str, calendar: CompanyCalendar, day: str):
    """What an admin does: the calendar's form as it stands, one more public holiday typed at the end."""
    form = {"name": calendar.name, "timezone": calendar.timezone,
            "periods": ", ".join(f"{start}-{end}" for start, end in calendar.periods),
            "weekdays": [str(d) for d in calendar.weekdays], "holidays": "\n".join([*calendar.holidays, day]),
            "workdays": "\n".join(calendar.workdays)}
    path = f"/admin/calendars/{calendar.id}"
    return login(admin_email).post(path, form, token_from=path)


def test_a_holiday_the_admin_adds_moves_a_working_day_due_date_in_that_company_only(database, engine, acme, rival,
                                                                                      login):
    response = add_holiday_on_the_page(login, acme.email("admin"), default_calendar(database, acme.id),
                                       "2026-12-15 # 公司年会")
    assert response.status_code == 303
    opened = beijing(12, 14, 10)  # a Monday with no official holiday near
    assert due_of_task_opened_at(database, engine, acme, "1 working day", opened) == beijing(12, 16, 10)
    assert due_of_task_opened_at(database, engine, rival, "1 working day", opened) == beijing(12, 15, 10)


def test_the_resolver_rebuilds_a_calendar_only_after_it_is_saved(database, acme, login):
    with database.session() as s:
        first, again = company_calendar(s, acme.id), company_calendar(s, acme.id)
    assert first is again
    add_holiday_on_the_page(login, acme.email("admin"), default_calendar(database, acme.id), "2026-12-15")
    with database.session() as s:
        edited = company_calendar(s, acme.id)
    assert edited is not first and not edited.is_working_day(beijing(12, 15, 10).date())


def test_a_named_calendar_is_found_by_its_name(database, acme):
    with database.session() as s:
        s.add(CompanyCalendar(company_id=acme.id, name="夜班", timezone="Asia/Shanghai", periods=[["20:00", "23:00"]],
                              weekdays=[5, 6], holidays=[], workdays=[], notes={}))
    with database.session() as s:
        night = company_calendar(s, acme.id, "夜班")
        assert night.weekdays == frozenset({5, 6}) and company_calendar(s, acme.id).weekdays == frozenset(range(5))
        assert company_calendar(s, acme.id, CHINA_NAME) == company_calendar(s, acme.id)


def test_a_company_without_a_calendar_works_on_china_in_its_time_zone(database, acme):
    with database.session() as s:
        s.execute(sa.delete(CompanyCalendar).where(CompanyCalendar.company_id == acme.id))
        s.execute(sa.text("UPDATE companies SET timezone = 'Asia/Urumqi' WHERE id = :id"), {"id": acme.id})
    with database.session() as s:
        assert company_calendar(s, acme.id) is china("Asia/Urumqi")
