"""Test runs of a draft: a sandbox case the owner plays in every role, invisible everywhere else."""
from __future__ import annotations

import re

import sqlalchemy as sa

from conftest import STANDARD
from engine.records import Instance, ProcessVersion

GRADING_FACTS = ("major_impact", "lawsuit", "repeated", "safety_hazard", "group_complaint", "media_exposure")
DRAFT = STANDARD.read_text(encoding="utf-8").replace('name="Check validity"', 'name="Check validity (draft)"')


def start(browser, xml: str = DRAFT):
    return browser.client.post("/procedures/complaint_standard/test-runs", json={"xml": xml},
                               headers={"X-CSRFToken": browser.csrf("/procedures/")})


def complete(browser, page_url: str, element: str, answers: dict):
    """Submit the form of the open task drawn for `element` on the test-run page."""
    page = browser.get(page_url).get_data(as_text=True)
    action = re.search(rf'data-element="{element}">.*?action="([^"]+)"', page, re.S).group(1)
    prefix = re.search(r"/tasks/(.{8})", action).group(1)
    return browser.post(action, {f"t{prefix}-{k}": v for k, v in answers.items()}, token_from=page_url)


def version_numbers(database, company_id: int) -> list[int | None]:
    with database.session() as s:
        return list(s.scalars(sa.select(ProcessVersion.version).where(ProcessVersion.company_id == company_id)
                              .order_by(ProcessVersion.id)))


def test_owner_plays_a_draft_to_its_end_and_sees_the_path(acme, login):
    owner = login(acme.email("owner"))
    response = start(owner)
    assert response.status_code == 201
    url = response.get_json()["url"]
    assert 'data-element="check_validity"' in owner.get(url).get_data(as_text=True)
    assert complete(owner, url, "check_validity", {"valid": "false"}).status_code == 303
    complete(owner, url, "reply_invalid", {"reply_content": "不属于质量问题，已解释。"})
    page = owner.get(url).get_data(as_text=True)
    done = page.split('data-done="')[1].split('"')[0].split()
    assert {"check_validity", "reply_invalid", "end_invalid"} <= set(done)
    assert 'data-active=""' in page


def test_a_wrong_answer_keeps_what_was_typed(acme, login):
    owner = login(acme.email("owner"))
    url = start(owner).get_json()["url"]
    complete(owner, url, "check_validity", {"valid": "false"})
    response = complete(owner, url, "reply_invalid", {"reply_content": ""})
    assert response.status_code == 400


def test_test_runs_never_reach_inboxes_lists_or_the_api(acme, login, api):
    owner = login(acme.email("owner"))
    url = start(owner).get_json()["url"]
    service = login(acme.email("service"))
    assert "check_validity" not in service.get("/").get_data(as_text=True)
    assert "TEST-" not in service.get("/complaints/").get_data(as_text=True)
    assert api(acme.email("service")).get("/tasks").get_json() == []
    assert service.get(url).status_code == 403


def test_real_users_cannot_act_on_test_run_tasks(database, acme, login, api):
    start(login(acme.email("owner")))
    with database.session() as s:
        task_id = s.execute(sa.text("select id from inbox_tasks")).scalar()
    response = api(acme.email("service")).post(f"/tasks/{task_id}/complete", {"data": {"valid": True}})
    assert response.status_code == 404


def test_a_test_run_publishes_nothing_until_the_owner_publishes_that_content(database, acme, login):
    owner = login(acme.email("owner"))
    start(owner)
    assert version_numbers(database, acme.id) == [1, None]
    response = owner.client.post("/procedures/publish.json", json={"xml": DRAFT, "note": "tested"},
                                 headers={"X-CSRFToken": owner.csrf("/procedures/")})
    assert (response.status_code, response.get_json()["version"]) == (201, 2)
    assert version_numbers(database, acme.id) == [1, 2]
    with database.session() as s:
        assert s.scalar(sa.select(Instance.sandbox)) is True


def test_a_broken_draft_does_not_start_and_says_why(acme, login):
    response = start(login(acme.email("owner")), DRAFT.replace(">valid<", ">${valid}<"))
    assert response.status_code == 400
    assert "flow_valid_yes" in {e["element"] for e in response.get_json()["errors"]}


def test_employees_cannot_start_test_runs(acme, login):
    assert start(login(acme.email("service"))).status_code == 403



TO_ANALYSIS = (
    ("check_validity", {"valid": "true"}),
    ("grade_complaint", {"handling_cost": "20000", "affected_kw": "0", "defect_type": "none", "urgency": "general",
                         **dict.fromkeys(GRADING_FACTS, "false")}),
    ("assign", {"handling_department": "Handling Department", "responsible_person": "handler@acme.test"}),
)
ANALYSED = ("analyse_cause", {"root_cause": "配方偏差", "customer_caused": "false", "site_visit": "false"})


def play(owner, url: str, rows) -> None:
    """Complete each (element, answers) on the test-run page, in order."""
    for element, answers in rows:
        assert complete(owner, url, element, answers).status_code == 303, element
        assert 'flash-error' not in owner.get(url).get_data(as_text=True), element


def test_owner_completes_the_tasks_the_assignment_gave_to_a_person(acme, login):
    """The owner plays every role: a task held by the responsible person the test run's assignment chose is the
    owner's to complete too (it was refused as held by that person, and the test run could go no further)."""
    owner = login(acme.email("owner"))
    url = start(owner).get_json()["url"]
    play(owner, url, [*TO_ANALYSIS, ANALYSED])
    assert re.findall(r'<section class="card" data-element="(\w+)"', owner.get(url).get_data(as_text=True)) == \
        ["plan"]


def test_plan_revisited_in_a_test_run_shows_the_earlier_date(acme, login):
    """The test-run page answered 500 once the plan came round again after a rejection (its date field got the
    stored ISO text)."""
    owner = login(acme.email("owner"))
    url = start(owner).get_json()["url"]
    play(owner, url, [*TO_ANALYSIS, ANALYSED, ("plan", {"countermeasures": "换货", "planned_completion": "2026-03-20"}),
                      ("approve_quality", {"approved": "false", "approval_comment": "不够具体"})])
    page = owner.get(url)
    assert page.status_code == 200
    assert re.search(r'<input[^>]*name="t[0-9a-f]{8}-planned_completion"[^>]*value="2026-03-20"',
                     page.get_data(as_text=True))
