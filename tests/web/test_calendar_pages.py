"""Admins keep their company's business calendars: create and edit them (a wrong field is named and what was typed
stays), fill in mainland China's official days by year, and choose the default; nobody else may, and no company
sees another's."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from engine.calendars.company import CHINA_NAME, CompanyCalendar

FACTORY = {"name": "深圳工厂", "timezone": "Asia/Shanghai", "periods": "09:00-12:00, 13:30-18:00",
           "weekdays": ["0", "1", "2", "3", "4", "5"], "holidays": "2099-05-04 # 厂庆\n2099-05-05",
           "workdays": "2099-05-09 # 补班"}


def english_admin(acme, login):
    admin = login(acme.email("admin"))
    admin.post("/language/en", {"next": "/"}, token_from="/")
    return admin


def calendar_named(database, company_id: int, name: str) -> CompanyCalendar | None:
    with database.session() as s:
        return s.scalar(sa.select(CompanyCalendar).where(CompanyCalendar.company_id == company_id,
                                                         CompanyCalendar.name == name))


def create(admin, data: dict):
    return admin.post("/admin/calendars/new", data, token_from="/admin/calendars/new")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_new_company_lists_its_default_mainland_china_calendar(acme, login):
    listing = page(english_admin(acme, login).get("/admin/calendars/"))
    assert re.search(rf'>{CHINA_NAME}</a>\s*<span class="badge[^"]*">Default<', listing)


def test_admin_creates_a_calendar_and_sees_its_days_coming_up(database, acme, login):
    admin = english_admin(acme, login)
    response = create(admin, FACTORY)
    assert response.status_code == 303
    stored = calendar_named(database, acme.id, "深圳工厂")
    assert stored.periods == [["09:00", "12:00"], ["13:30", "18:00"]] and stored.weekdays == [0, 1, 2, 3, 4, 5]
    assert (stored.holidays, stored.workdays) == (["2099-05-04", "2099-05-05"], ["2099-05-09"])
    assert stored.is_default is False and stored.updated_by_id == acme.users["admin"].id
    assert "2099-05-05\n2099-05-04 # 厂庆" in page(admin.get(response.headers["Location"]))  # notes kept, newest first


def test_the_edit_page_shows_the_next_days_off_and_adjusted_working_days(database, acme, login):
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    saturday = monday + timedelta(days=5)
    admin = english_admin(acme, login)
    response = create(admin, {**FACTORY, "weekdays": ["0", "1", "2", "3", "4"],
                              "holidays": f"{monday} # 厂庆", "workdays": f"{saturday} # 补班"})
    shown = page(admin.get(response.headers["Location"]))
    days_off, adjusted = re.search(r"taken off</h3>(.*?)</ul>.*?Adjusted working days</h3>(.*?)</ul>", shown,
                                   re.S).groups()
    assert re.findall(r'"number">([\d-]+)</span> ?([^<]*)<', days_off) == [(monday.isoformat(), "厂庆")]
    assert re.findall(r'"number">([\d-]+)</span> ?([^<]*)<', adjusted) == [(saturday.isoformat(), "补班")]


@pytest.mark.parametrize("field,typed,message", [
    ("periods", "09:00-12:00, 13:30-8:00", "“13:30-8:00” ends before it starts"),
    ("periods", "09:00-12:00, 11:30-18:00", "09:00-12:00 and 11:30-18:00 overlap"),
    ("periods", "9 to 5", "“9 to 5” is not a working period"),
    ("periods", "08:30-12:60", "“08:30-12:60” is not a working period"),
    ("holidays", "2099-05-04\n\n2099-13-01 # typo", "Line 3, “2099-13-01 # typo”: not a date"),
    ("workdays", "2099-05-05", "2099-05-05 is listed both as a public holiday and as an adjusted working day"),
    ("weekdays", [], "Choose at least one working weekday"),
])
def test_a_wrong_field_is_named_and_everything_typed_stays(database, acme, login, field, typed, message):
    admin = english_admin(acme, login)
    response = create(admin, {**FACTORY, field: typed})
    assert response.status_code == 400
    shown = page(response)
    assert message in shown
    typed_in = {**FACTORY, field: typed}
    assert all(typed_in[key] in shown for key in ("periods", "holidays", "workdays"))
    assert 'value="深圳工厂"' in shown and shown.count(" checked ") == len(typed_in["weekdays"])
    assert calendar_named(database, acme.id, "深圳工厂") is None


def test_a_calendar_name_is_used_once_per_company(database, acme, rival, login):
    admin = english_admin(acme, login)
    refused = create(admin, {**FACTORY, "name": CHINA_NAME})
    assert refused.status_code == 400 and f"already has a calendar called “{CHINA_NAME}”" in page(refused)
    assert create(login(rival.email("admin")), FACTORY).status_code == 303  # the rival's own names are its own
    assert create(admin, FACTORY).status_code == 303


def test_admin_edits_the_default_calendar(database, acme, login):
    admin = english_admin(acme, login)
    china = calendar_named(database, acme.id, CHINA_NAME)
    edited = {**FACTORY, "name": CHINA_NAME, "timezone": "Asia/Urumqi", "holidays": "2099-05-04 # 厂庆"}
    assert admin.post(f"/admin/calendars/{china.id}", edited, token_from="/admin/calendars/").status_code == 303
    saved = calendar_named(database, acme.id, CHINA_NAME)
    assert (saved.timezone, saved.holidays, saved.notes) == ("Asia/Urumqi", ["2099-05-04"],
                                                            {"2099-05-04": "厂庆", "2099-05-09": "补班"})
    assert saved.updated_at > china.updated_at and saved.is_default


def test_filling_in_china_adds_the_years_official_days_and_an_unknown_year_is_refused(database, acme, login):
    admin = english_admin(acme, login)
    create(admin, {**FACTORY, "workdays": "2026-10-01 # 我们那天上班"})
    factory = calendar_named(database, acme.id, "深圳工厂")
    url = f"/admin/calendars/{factory.id}/china"
    assert admin.post(url, {"year": "2026"}, token_from=f"/admin/calendars/{factory.id}").status_code == 303
    filled = calendar_named(database, acme.id, "深圳工厂")
    assert {"2026-10-01", "2026-10-07", "2099-05-04"} <= set(filled.holidays)
    assert "2026-10-01" not in filled.workdays and "2026-10-10" in filled.workdays  # China's word wins for the year
    assert filled.notes["2026-10-01"] == "National Day"
    refused = admin.post(url, {"year": "2099"}, token_from=f"/admin/calendars/{factory.id}")
    assert refused.status_code == 400 and "known for 2004 to 2026 only, not for 2099" in page(refused)
    assert calendar_named(database, acme.id, "深圳工厂").holidays == filled.holidays


def test_making_a_calendar_default_takes_it_from_the_other(database, acme, login):
    admin = english_admin(acme, login)
    create(admin, FACTORY)
    factory = calendar_named(database, acme.id, "深圳工厂")
    response = admin.post(f"/admin/calendars/{factory.id}/default", token_from="/admin/calendars/")
    assert response.status_code == 303
    assert calendar_named(database, acme.id, "深圳工厂").is_default
    assert not calendar_named(database, acme.id, CHINA_NAME).is_default


@pytest.mark.parametrize("who", ["owner", "service", "auditor"])
def test_only_admins_may_see_or_change_calendars(database, acme, login, who):
    china = calendar_named(database, acme.id, CHINA_NAME)
    user = login(acme.email(who))
    for path in ("/admin/calendars/", "/admin/calendars/new", f"/admin/calendars/{china.id}"):
        assert user.get(path).status_code == 403
    for path, data in ((f"/admin/calendars/{china.id}", {**FACTORY, "name": CHINA_NAME}),
                       (f"/admin/calendars/{china.id}/china", {"year": "2025"}),
                       ("/admin/calendars/new", FACTORY)):
        assert user.post(path, data, token_from="/").status_code == 403
    assert calendar_named(database, acme.id, CHINA_NAME).updated_at == china.updated_at
    assert "/admin/calendars/" not in user.get("/").get_data(as_text=True)


def test_rival_admin_gets_404_for_acme_calendars(database, acme, rival, login):
    china = calendar_named(database, acme.id, CHINA_NAME)
    intruder = login(rival.email("admin"))
    assert intruder.get(f"/admin/calendars/{china.id}").status_code == 404
    for path in (f"/admin/calendars/{china.id}", f"/admin/calendars/{china.id}/china",
                 f"/admin/calendars/{china.id}/default"):
        assert intruder.post(path, {**FACTORY, "year": "2025"}, token_from="/").status_code == 404
    assert calendar_named(database, acme.id, CHINA_NAME).updated_at == china.updated_at
    assert page(intruder.get("/admin/calendars/")).count(CHINA_NAME) == 1  # its own, not acme's
