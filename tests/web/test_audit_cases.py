"""Auditing across complaints: each filter narrows the list, the heatmap counts only the filtered complaints, other
companies' complaints never appear, and only auditors, admins and process owners may look."""
from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timezone

import pytest
import sqlalchemy as sa
from flask import session

from complaints.models import Complaint
from conftest import COMPLAINT, GRADING, GROUPS, STANDARD, tamper
from db import utcnow
from engine.records import Event
from engine.repository.publishing import publish, trial_version
from test_audit_pages import alter_first_submission
from web.audit_cases import duration

RENAMED = STANDARD.read_bytes().replace(b'name="Check validity"', b'name="Check validity (v2)"')
LEVEL_1 = {**GRADING, "handling_cost": 6_000_000}  # the grading table: above 5,000,000 CNY is level 1
INVALID = [("check_validity", "service", {"valid": False}), ("reply_invalid", "service", {"reply_content": "不成立"})]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def case(database, company, api, answers=(), category: str = "product_quality", registered: str | None = None) -> int:
    """A complaint registered through the API, its open tasks completed with `answers` (element, worker, data)."""
    service = api(company.email("service"))
    instance_id = service.post("/processes/complaint_standard/instances",
                               {"data": {**COMPLAINT, "category": category}}).get_json()["id"]
    for element, worker, data in answers:
        client = api(company.email(worker))
        [task] = [t for t in client.get(f"/instances/{instance_id}").get_json()["tasks"] if t["element_id"] == element]
        assert client.post(f"/tasks/{task['id']}/complete", {"data": data}).status_code == 200
    if registered:
        with database.session() as s:
            s.execute(sa.update(Complaint).where(Complaint.instance_id == instance_id)
                      .values(registered_at=utc(registered)))
    return instance_id


@pytest.fixture()
def cases(database, acme, api) -> dict[str, int]:
    """Three acme complaints: graded level 4 late on 4 March (Shanghai), closed as invalid just after midnight on
    5 March (Shanghai; still 4 March in UTC), and graded level 1 on version 2 on 10 March."""
    graded = case(database, acme, api, [("check_validity", "service", {"valid": True}),
                                        ("grade_complaint", "quality", GRADING)], registered="2026-03-04T15:00:00")
    closed = case(database, acme, api, INVALID, category="delivery", registered="2026-03-04T16:30:00")
    with database.session() as s:
        publish(s, acme.id, RENAMED, acme.users["owner"].id, "v2", GROUPS)
    urgent = case(database, acme, api, [("check_validity", "service", {"valid": True}),
                                        ("grade_complaint", "quality", LEVEL_1)], registered="2026-03-10T02:00:00")
    return {"graded": graded, "closed": closed, "urgent": urgent}


def listed(browser, query: str = "") -> list[int]:
    """The instance ids the audit page lists, in order."""
    response = browser.get(f"/audit/{query}")
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'<tr data-instance="(\d+)"', response.get_data(as_text=True))]


def heat(browser, query: str = "") -> dict:
    """The heatmap the page hands to heatmap.js."""
    page = browser.get(f"/audit/{query}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="heatmap-data">(.*?)</script>', page, re.S)
    return json.loads(html.unescape(found.group(1))) if found else {}


def test_all_complaints_of_the_procedure_are_listed_newest_first(cases, acme, login):
    auditor = login(acme.email("auditor"))
    assert listed(auditor) == [cases["urgent"], cases["closed"], cases["graded"]]


@pytest.mark.parametrize("query,expected", [
    ("?status=completed", ["closed"]),
    ("?status=running", ["urgent", "graded"]),
    ("?category=delivery", ["closed"]),
    ("?version=2", ["urgent"]),
    ("?version=1", ["closed", "graded"]),
    ("?grade=level:1", ["urgent"]),
    ("?grade=level:4", ["graded"]),
    ("?from=2026-03-05&to=2026-03-05", ["closed"]),  # the company's day, not UTC's
    ("?to=2026-03-04", ["graded"]),
    ("?from=2026-03-06", ["urgent"]),
    ("?status=running&grade=level:4&category=product_quality", ["graded"]),
])
def test_each_filter_narrows_the_list(cases, acme, login, query, expected):
    assert listed(login(acme.email("auditor")), query) == [cases[name] for name in expected]


def test_unknown_filter_values_are_ignored(cases, acme, login):
    auditor = login(acme.email("auditor"))
    everything = listed(auditor)
    assert listed(auditor, "?status=lost&category=x&version=99&from=yesterday&grade=colour:red") == everything
    assert listed(auditor, "?procedure=no_such_procedure") == everything  # falls back to the standard procedure


def test_grades_are_read_from_each_case_and_labelled(cases, acme, login):
    auditor = login(acme.email("auditor"))
    auditor.post("/language/en", {"next": "/audit/"}, token_from="/audit/")
    page = auditor.get("/audit/").get_data(as_text=True)
    grades = re.findall(r'<option value="(level:\d)"[^>]*>([^<]+)</option>', page)
    assert grades == [("level:1", "Level 1"), ("level:4", "Level 4")]
    closed_row = re.search(rf'<tr data-instance="{cases["closed"]}">.*?</tr>', page, re.S).group(0)
    assert '<td class="grade">—</td>' in closed_row  # closed as invalid before grading


def test_heatmap_counts_only_the_filtered_complaints(cases, acme, login):
    auditor = login(acme.email("auditor"))
    everything = heat(auditor)
    assert everything["elements"]["check_validity"]["runs"] == 3
    assert everything["elements"]["assign"] == {**everything["elements"]["assign"], "runs": 0, "open": 2, "heat": 0}
    assert everything["flows"]["flow_valid_yes"]["count"] == 2
    assert everything["diagram"] == "/procedures/complaint_standard/2.bpmn"  # all versions: the newest diagram

    invalid = heat(auditor, "?category=delivery")
    assert invalid["elements"]["reply_invalid"]["runs"] == 1 and invalid["elements"]["end_invalid"]["runs"] == 1
    assert "grade_complaint" not in invalid["elements"] and "flow_valid_yes" not in invalid["flows"]
    assert invalid["elements"]["check_validity"]["heat"] == 5  # the most runs of the set: the hottest colour

    assert heat(auditor, "?version=1")["diagram"] == "/procedures/complaint_standard/1.bpmn"


def test_each_complaint_links_its_page_and_its_replay_and_counts_its_steps(cases, acme, login):
    page = login(acme.email("auditor")).get("/audit/?category=delivery").get_data(as_text=True)
    row = re.search(rf'<tr data-instance="{cases["closed"]}">.*?</tr>', page, re.S).group(0)
    assert f'href="/complaints/{cases["closed"]}"' in row and f'href="/complaints/{cases["closed"]}/replay"' in row
    assert re.search(r"<td>3</td>", row)  # registered, validity checked, reply sent


def test_a_complaint_whose_history_was_altered_is_flagged_in_the_list(database, cases, acme, login):
    auditor = login(acme.email("auditor"))
    assert "chain-broken" not in auditor.get("/audit/").get_data(as_text=True)
    alter_first_submission(database, cases["closed"])
    rows = re.findall(r'<tr data-instance="(\d+)">(.*?)</tr>', auditor.get("/audit/").get_data(as_text=True), re.S)
    assert [int(instance) for instance, row in rows if "chain-broken" in row] == [cases["closed"]]


def test_a_complaint_cut_short_after_its_checkpoint_is_flagged_in_the_list(database, engine, cases, acme, login):
    engine.auditor.checkpoint(database.sessionmaker, utcnow())
    with database.session() as s:
        first = s.scalar(sa.select(Event.hash).where(Event.instance_id == cases["closed"], Event.seq == 1))
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq > 1",
           "UPDATE instances SET event_count = 1, event_head = :head WHERE id = :i", i=cases["closed"], head=first)
    page = login(acme.email("auditor")).get("/audit/").get_data(as_text=True)
    rows = re.findall(r'<tr data-instance="(\d+)">(.*?)</tr>', page, re.S)
    assert [int(instance) for instance, row in rows if "chain-broken" in row] == [cases["closed"]]


def test_test_run_cases_never_appear_even_with_a_complaint_row(database, engine, cases, acme, login):
    tester = replace(acme.actor("owner"), tester=True)
    with database.session() as s:
        trial = engine.start(s, trial_version(s, acme.id, RENAMED, acme.users["owner"].id, GROUPS), tester, COMPLAINT,
                             "TEST-acme")
        s.add(Complaint(company_id=acme.id, instance_id=trial.id, number="TEST-1", **COMPLAINT))
    assert trial.id not in listed(login(acme.email("auditor")))


def test_empty_set_says_so_instead_of_drawing(cases, acme, login):
    page = login(acme.email("auditor")).get("/audit/?category=other").get_data(as_text=True)
    assert 'class="empty-state"' in page and 'id="heatmap"' not in page


def test_another_company_complaints_never_appear(cases, acme, rival, api, login):
    theirs = case(None, rival, api, INVALID)
    assert theirs not in listed(login(acme.email("auditor")))
    assert listed(login(rival.email("auditor"))) == [theirs]
    assert heat(login(rival.email("auditor")))["elements"]["check_validity"]["runs"] == 1


@pytest.mark.parametrize("role", ["auditor", "admin", "owner"])
def test_auditors_admins_and_owners_see_the_page_and_its_nav_link(acme, login, role):
    browser = login(acme.email(role))
    assert browser.get("/audit/").status_code == 200
    assert 'href="/audit/"' in browser.get("/complaints/").get_data(as_text=True)


def test_employee_gets_403_and_no_nav_link(acme, login):
    employee = login(acme.email("service"))
    assert employee.get("/audit/").status_code == 403
    assert 'href="/audit/"' not in employee.get("/complaints/").get_data(as_text=True)


@pytest.mark.parametrize("seconds,said", [(0, ""), (None, ""), (20, "< 1 min"), (45 * 60, "45 min"), (3 * 3600, "3 h"),
                                          (47 * 3600, "47 h"), (2 * 86400, "2 d")])
def test_durations_are_said_in_minutes_hours_or_days(app, seconds, said):
    with app.test_request_context():
        session["lang"] = "en"
        assert duration(seconds) == said
