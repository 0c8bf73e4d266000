"""Shared drafts in the modeler: saved, reopened, never silently overwritten; the live check; publishing ends them."""
from __future__ import annotations

import sqlalchemy as sa

from conftest import STANDARD
from engine.records import Draft

SAVE = "/procedures/complaint_standard/draft.json"


def post_json(browser, path: str, body: dict):
    return browser.client.post(path, json=body, headers={"X-CSRFToken": browser.csrf("/procedures/")})


def standard(name: str = "Check validity") -> str:
    return STANDARD.read_text(encoding="utf-8").replace('name="Check validity"', f'name="{name}"')


def saved_xml(database, company_id: int) -> str | None:
    with database.session() as s:
        return s.scalar(sa.select(Draft.xml).where(Draft.company_id == company_id, Draft.key == "complaint_standard"))


def test_saved_draft_is_what_the_modeler_opens_next_time(acme, login):
    owner = login(acme.email("owner"))
    response = post_json(owner, SAVE, {"xml": standard("校验（草稿）"), "revision": 0})
    assert (response.status_code, response.get_json()["revision"]) == (200, 1)
    assert "校验（草稿）" in owner.get("/procedures/complaint_standard/source.bpmn").get_data(as_text=True)
    assert post_json(owner, SAVE, {"xml": standard("校验（第二稿）"), "revision": 1}).get_json()["revision"] == 2


def test_stale_save_is_refused_naming_who_saved_first_and_keeps_their_draft(database, acme, login):
    owner, admin = login(acme.email("owner")), login(acme.email("admin"))
    assert post_json(owner, SAVE, {"xml": standard("owner's"), "revision": 0}).status_code == 200
    response = post_json(admin, SAVE, {"xml": standard("admin's"), "revision": 0})
    assert response.status_code == 409
    body = response.get_json()
    assert body["saved_by"] == acme.users["owner"].name and body["saved_by"] in body["message"]
    assert body["revision"] == 1 and body["saved_at"] in body["message"]
    assert "owner's" in saved_xml(database, acme.id)


def test_first_saves_of_two_owners_conflict_too(database, acme, login):
    """Both opened the published version (revision 0): the second first-save is told who saved."""
    owner, admin = login(acme.email("owner")), login(acme.email("admin"))
    post_json(owner, SAVE, {"xml": standard("first"), "revision": 0})
    assert post_json(admin, SAVE, {"xml": standard("second"), "revision": 0}).status_code == 409
    assert "first" in saved_xml(database, acme.id)


def test_unreadable_xml_is_refused_and_the_previous_draft_is_kept(database, acme, login):
    owner = login(acme.email("owner"))
    post_json(owner, SAVE, {"xml": standard("good"), "revision": 0})
    response = post_json(owner, SAVE, {"xml": "<bpmn:definitions", "revision": 1})
    assert response.status_code == 400 and response.get_json()["errors"]
    assert "good" in saved_xml(database, acme.id)


def test_a_draft_with_problems_is_saved_and_its_problems_listed(database, acme, login):
    broken = standard().replace('name="Quality"', 'name="Qualitty"')
    response = post_json(login(acme.email("owner")), SAVE, {"xml": broken, "revision": 0})
    assert response.status_code == 200
    assert "grade_complaint" in {e["element"] for e in response.get_json()["errors"]}
    assert saved_xml(database, acme.id) == broken


def test_live_check_lists_problems_by_element_and_stores_nothing(database, acme, login):
    owner = login(acme.email("owner"))
    assert post_json(owner, "/procedures/check.json", {"xml": standard()}).get_json() == {"errors": []}
    broken = standard().replace(">valid<", ">${valid}<")
    errors = post_json(owner, "/procedures/check.json", {"xml": broken}).get_json()["errors"]
    assert any(e["element"] == "flow_valid_yes" and "valid" in e["message"] for e in errors)
    assert saved_xml(database, acme.id) is None


def test_publishing_ends_the_draft(database, acme, login):
    owner = login(acme.email("owner"))
    post_json(owner, SAVE, {"xml": standard("to publish"), "revision": 0})
    response = post_json(owner, "/procedures/publish.json", {"xml": standard("to publish"), "note": "renamed"})
    assert response.status_code == 201
    assert saved_xml(database, acme.id) is None
    assert "to publish" in owner.get("/procedures/complaint_standard/source.bpmn").get_data(as_text=True)


def test_employees_can_neither_save_drafts_nor_check(acme, login):
    service = login(acme.email("service"))
    assert post_json(service, SAVE, {"xml": standard(), "revision": 0}).status_code == 403
    assert post_json(service, "/procedures/check.json", {"xml": standard()}).status_code == 403


def test_body_without_a_diagram_gets_a_clear_400(acme, login):
    response = post_json(login(acme.email("owner")), SAVE, {"revision": 0})
    assert response.status_code == 400 and "xml" in response.get_json()["message"]
