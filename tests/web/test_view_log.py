"""Auditors' views are themselves recorded: who opened which page of which case, when; append-only, shown to
admins and auditors, never crossing companies."""
from __future__ import annotations

import html
from datetime import UTC, datetime, timezone

import pytest
import sqlalchemy as sa
from flask import render_template_string, session

from complaints.viewlog import CaseView, Viewing, ViewLog, record_view, views_of
from conftest import count
from db import utcnow
from test_audit_pages import registered

PAGES = {"complaint": "/complaints/{case}", "replay": "/complaints/{case}/replay",
         "evidence": "/complaints/{case}/evidence", "evidence.json": "/complaints/{case}/evidence.json"}


def open_every_page(browser, case: int) -> list[int]:
    """Open the case's complaint page, replay and evidence pack (page and JSON); their status codes."""
    return [browser.get(path.format(case=case)).status_code for path in PAGES.values()]


def in_english(browser):
    browser.post("/language/en", {"next": "/"}, token_from="/")
    return browser


def recorded(database) -> list[tuple[int, int, int, str, datetime]]:
    with database.session() as s:
        return [tuple(row) for row in s.execute(sa.select(CaseView.company_id, CaseView.instance_id, CaseView.user_id,
                                                          CaseView.page, CaseView.at).order_by(CaseView.id))]


def test_an_auditors_views_of_the_complaint_replay_and_evidence_pack_are_recorded(database, acme, api, login,
                                                                                   complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    before = utcnow()
    assert open_every_page(auditor, case) == [200] * len(PAGES)
    rows = recorded(database)
    assert [row[:4] for row in rows] == [(acme.id, case, acme.users["auditor"].id, page) for page in PAGES]
    assert all(before <= at <= utcnow() for *_, at in rows)


@pytest.mark.parametrize("who", ["service", "handler", "admin", "owner"])
def test_views_by_anyone_but_an_auditor_are_not_recorded(database, acme, api, login, complaint_data, who):
    case = registered(acme, api, complaint_data)
    assert open_every_page(login(acme.email(who)), case) == [200] * len(PAGES)
    assert count(database, CaseView) == 0


def test_the_evidence_pack_lists_who_viewed_the_case_newest_first(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    auditor.get(f"/complaints/{case}")
    pack = auditor.get(f"/complaints/{case}/evidence.json").get_json()
    assert [(v["who"], v["page"]) for v in pack["views"]] == [("Auditor", "evidence.json"), ("Auditor", "complaint")]
    assert all(datetime.fromisoformat(v["at"]).tzinfo == UTC for v in pack["views"])
    page = html.unescape(in_english(login(acme.email("admin"))).get(f"/complaints/{case}/evidence")
                         .get_data(as_text=True))
    assert "Viewed by auditors" in page and page.count("<td>Auditor</td>") == 2  # the admin's view is not kept


def test_employees_do_not_see_who_viewed_the_case(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    login(acme.email("auditor")).get(f"/complaints/{case}")
    service = login(acme.email("service"))
    assert service.get(f"/complaints/{case}/evidence.json").get_json()["views"] is None
    assert "Viewed by auditors" not in in_english(service).get(f"/complaints/{case}/evidence").get_data(as_text=True)


def test_another_companys_auditor_neither_sees_nor_records_views_of_our_case(database, acme, rival, api, login,
                                                                            complaint_data):
    case = registered(acme, api, complaint_data)
    login(acme.email("auditor")).get(f"/complaints/{case}")
    assert open_every_page(login(rival.email("auditor")), case) == [404] * len(PAGES)
    with database.session() as s:
        assert views_of(s, rival.id, case).total == 0
    assert [row[3] for row in recorded(database)] == ["complaint"]


def test_the_log_gives_the_total_and_the_latest_views_with_names(database, acme, api, complaint_data):
    case = registered(acme, api, complaint_data)
    with database.session() as s:
        for page in ("complaint", "evidence", "replay"):
            record_view(s, acme.users["auditor"], case, page)
        log = views_of(s, acme.id, case, limit=2)
    assert (log.total, [(v.who, v.page) for v in log.latest]) == (3, [("Auditor", "replay"), ("Auditor", "evidence")])


def test_the_partial_says_how_many_views_there_are_beyond_those_shown(app):
    shown = [Viewing(datetime(2026, 3, 1, 1, 30, tzinfo=UTC), "Auditor", "evidence")]
    partial = '{% include "complaints/_views.html" %}'
    with app.test_request_context():
        session["lang"] = "en"
        more = render_template_string(partial, views=ViewLog(7, shown))
        none = render_template_string(partial, views=ViewLog(0, []))
    assert "2026-03-01 09:30:00" in more and "Evidence pack" in more and "1 latest of 7 views in all" in more
    assert "empty-state" in none and "<table" not in none


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE case_views SET page = 'forged'", "DELETE FROM case_views",
                                       "TRUNCATE case_views"])
def test_postgresql_refuses_to_change_or_remove_case_views(database, acme, api, login, complaint_data, statement):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    case = registered(acme, api, complaint_data)
    login(acme.email("auditor")).get(f"/complaints/{case}")
    with pytest.raises(sa.exc.DBAPIError, match="case_views are append-only"), database.engine.begin() as connection:
        connection.execute(sa.text(statement))
    assert [row[3] for row in recorded(database)] == ["complaint"]
