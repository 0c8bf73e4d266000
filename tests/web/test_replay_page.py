"""The replay page: every step of a complaint in one page, opened at a linked step, for its own company only."""
from __future__ import annotations

import html
import json
import re

from test_audit_pages import alter_first_submission, registered


def english_auditor(login, company):
    auditor = login(company.email("auditor"))
    auditor.post("/language/en", {"next": "/"}, token_from="/")
    return auditor


def steps_payload(page) -> dict:
    text = page.get_data(as_text=True)
    return json.loads(html.unescape(re.search(r'id="replay-steps">(.*?)</script>', text, re.S).group(1)))


def test_auditor_replays_a_complaint_with_each_step_its_events_and_the_diagram_of_its_version(
        acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    page = login(acme.email("auditor")).get(f"/complaints/{case}/replay")
    assert page.status_code == 200
    payload = steps_payload(page)
    started, validity = payload["steps"]
    assert started["active"] == ["check_validity"] and validity["active"] == ["grade_complaint"]
    assert validity["changes"] == {"valid": {"from": None, "to": True}}
    assert "flow_valid_yes" in validity["flows"]
    assert list(payload["diagrams"].values()) == ["/procedures/complaint_standard/1.bpmn"]
    text = html.unescape(page.get_data(as_text=True))
    assert 'data-step="2"' in text and "#1" in text and "#3" in text  # the last step by default; event numbers


def test_replay_opens_at_the_step_in_the_url_within_the_recorded_steps(acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    assert 'id="replay" data-step="1"' in auditor.get(f"/complaints/{case}/replay?step=1").get_data(as_text=True)
    assert 'id="replay" data-step="2"' in auditor.get(f"/complaints/{case}/replay?step=99").get_data(as_text=True)


def test_replay_of_a_tampered_history_says_where_the_re_execution_stopped_matching(
        database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    alter_first_submission(database, case)
    page = english_auditor(login, acme).get(f"/complaints/{case}/replay")
    assert "The re-execution stopped matching the record at event #2" in html.unescape(page.get_data(as_text=True))
    assert [step["reproduced"] for step in steps_payload(page)["steps"]] == [True, False]


def test_another_companys_auditor_cannot_replay_our_complaint(acme, rival, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    assert login(rival.email("auditor")).get(f"/complaints/{case}/replay").status_code == 404


def test_replay_seen_once_shows_an_event_altered_afterwards(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = english_auditor(login, acme)
    assert "The history is intact" in html.unescape(auditor.get(f"/complaints/{case}/replay").get_data(as_text=True))
    alter_first_submission(database, case)
    page = html.unescape(auditor.get(f"/complaints/{case}/replay").get_data(as_text=True))
    assert "The history was tampered with: event #2 was altered" in page
    assert "The re-execution stopped matching the record at event #2" in page
