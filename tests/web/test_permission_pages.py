"""Pages show each role what the permissions table lets it do, and nothing more: the menu, the complaint page's
corrections, the inbox's note for auditors, the publish and edit controls of procedures and decision tables."""
from __future__ import annotations

import re

import pytest

from accounts.directory import company_people
from conftest import PEOPLE

ROLES = ("service", "owner", "admin", "auditor")
EVERYONE = {"/", "/complaints/", "/procedures/", "/decisions/"}
MENU = {  # the links of the main menu, role by role, as they were before the table
    "service": EVERYONE | {"/complaints/new"},
    "owner": EVERYONE | {"/complaints/new", "/audit/", "/sla/"},
    "admin": EVERYONE | {"/complaints/new", "/audit/", "/sla/", "/admin/errors", "/admin/calendars/"},
    "auditor": EVERYONE | {"/audit/"},
}
KEEPS_PROCEDURES = {"owner", "admin"}


def page(browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_offers_each_role_the_pages_it_may_open_and_they_open(acme, login, role):
    browser = login(acme.email(role))
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', page(browser, "/"), re.S).group(1)
    links = set(re.findall(r'href="([^"]+)"', nav))
    assert links == MENU[role]
    for link in links:
        page(browser, link)


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_are_offered_corrections_on_a_complaint(acme, api, login, complaint_data, role):
    case = api(acme.email("service")).post("/processes/complaint_standard/instances", {"data": complaint_data})
    case_id = case.get_json()["id"]
    offered = f'href="/complaints/{case_id}/corrections"' in page(login(acme.email(role)), f"/complaints/{case_id}")
    assert offered is (role == "admin")


@pytest.mark.parametrize("role", ROLES)
def test_the_inbox_tells_only_auditors_that_they_have_no_tasks(acme, login, role):
    browser = login(acme.email(role))
    assert browser.post("/language/en", {"next": "/"}, token_from="/").status_code == 302
    assert ("they have no tasks" in page(browser, "/")) is (role == "auditor")


@pytest.mark.parametrize("role", ROLES)
def test_only_procedure_keepers_are_offered_to_publish_and_edit(acme, login, role):
    browser = login(acme.email(role))
    procedures, decisions = page(browser, "/procedures/"), page(browser, "/decisions/")
    assert ('name="diagram"' in procedures) is (role in KEEPS_PROCEDURES)
    assert ('href="/procedures/complaint_standard/edit"' in procedures) is (role in KEEPS_PROCEDURES)
    assert ('name="table"' in decisions) is (role in KEEPS_PROCEDURES)
    assert (re.search(r'href="/decisions/[^"/]+/edit"', decisions) is not None) is (role in KEEPS_PROCEDURES)


def test_people_a_form_may_name_are_those_who_work_cases(acme, database):
    with database.session() as s:
        people, _groups = company_people(s, acme.id)
    assert {person.email for person in people} == {acme.email(key) for key, (role, _) in PEOPLE.items()
                                                   if role != "auditor"}
