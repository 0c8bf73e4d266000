"""The HTML pages as people use them: register, inbox, claim, complete, release, complaint page, languages, roles."""
from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bench.completion import counting
from complaints.models import Complaint
from conftest import count
from engine.repository.publishing import publish

NUMBER = re.compile(r"\b(\d{6})-(\d{4})\b")
ROW = re.compile(r'<tr data-task-id="([^"]+)" data-element="([^"]+)">(.*?)</tr>', re.S)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def register(browser, data: dict):
    return browser.post("/complaints/new", data, token_from="/complaints/new")


def instance_id(response) -> int:
    """The complaint page a registration redirected to."""
    match = re.fullmatch(r"/complaints/(\d+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def inbox(browser, scope: str = "all") -> list[tuple[str, str, str]]:
    """(task id, element id, row html) for each row of the inbox, top to bottom."""
    return ROW.findall(browser.get(f"/?scope={scope}").get_data(as_text=True))


def task_on(browser, element: str) -> str:
    found = [task_id for task_id, el, _ in inbox(browser) if el == element]
    assert len(found) == 1, f"{element} not (once) in the inbox: {inbox(browser)}"
    return found[0]


def claim(browser, task_id: str):
    return browser.post(f"/tasks/{task_id}/claim", token_from="/")


def complete(browser, task_id: str, data: dict):
    return browser.post(f"/tasks/{task_id}", data, token_from=f"/tasks/{task_id}")


def in_english(browser) -> None:
    response = browser.post("/language/en", {"next": "/"}, token_from="/")
    assert response.status_code == 302


def holder_cell(row_html: str) -> str:
    return re.search(r'<td class="holder">(.*?)</td>', row_html, re.S).group(1)


@pytest.fixture()
def service(acme, login):
    return login(acme.email("service"))


@pytest.fixture()
def registered(service, complaint_data) -> int:
    """A complaint registered through the page; its instance id."""
    response = register(service, complaint_data)
    assert response.status_code == 303
    return instance_id(response)


# -- registration -------------------------------------------------------------------------------------


def test_registering_a_complaint_numbers_it_and_redirects_to_its_page(acme, service, complaint_data):
    before = datetime.now(ZoneInfo(acme.timezone)).strftime("%Y%m")
    response = register(service, complaint_data)
    after = datetime.now(ZoneInfo(acme.timezone)).strftime("%Y%m")
    assert response.status_code == 303
    page = service.get(response.headers["Location"])
    assert page.status_code == 200
    period, serial = NUMBER.search(text(page)).groups()
    assert period in (before, after) and serial == "0001"
    assert f"{period}-0001" in text(page)
    assert complaint_data["customer_name"] in text(page)


def test_each_new_complaint_gets_the_next_number(service, complaint_data):
    first = text(service.get(register(service, complaint_data).headers["Location"]))
    second = text(service.get(register(service, complaint_data).headers["Location"]))
    assert NUMBER.search(first).group(2) == "0001"
    assert NUMBER.search(second).group(2) == "0002"


def test_wrong_registration_keeps_what_was_typed_and_shows_the_error(database, service, complaint_data):
    typed = {**complaint_data, "customer_name": "", "contact_person": "周经理 <ext. 12>"}
    response = register(service, typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="周经理 &lt;ext. 12&gt;"' in page
    assert 'value="HT-2026-0311"' in page
    assert html.escape(complaint_data["content"]) in page
    assert re.search(r'<option selected value="phone">|<option value="phone" selected>', page)
    customer = re.search(r'<div class="field([^"]*)">\s*<label for="customer_name"(.*?)</div>', page, re.S)
    assert "has-error" in customer.group(1) and 'class="error"' in customer.group(2)
    contact = re.search(r'<div class="field([^"]*)">\s*<label for="contact_person"', page)
    assert "has-error" not in contact.group(1)
    assert count(database, Complaint) == 0


def test_unknown_channel_is_refused_and_shown_next_to_the_field(database, service, complaint_data):
    response = register(service, {**complaint_data, "channel": "carrier_pigeon"})
    assert response.status_code == 400
    channel = re.search(r'<div class="field([^"]*)">\s*<label for="channel"', response.get_data(as_text=True))
    assert "has-error" in channel.group(1)
    assert count(database, Complaint) == 0


# -- inbox, claim, complete, release ------------------------------------------------------------------


def test_inbox_lists_tasks_offered_to_my_groups_and_not_to_others(acme, login, service, registered):
    assert [el for _, el, _ in inbox(service)] == ["check_validity"]
    assert [el for _, el, _ in inbox(login(acme.email("service2")), "groups")] == ["check_validity"]
    assert inbox(login(acme.email("quality"))) == []
    assert inbox(login(acme.email("handler"))) == []


def test_held_by_me_lists_only_the_tasks_i_claimed(service, complaint_data):
    register(service, complaint_data)
    register(service, complaint_data)
    first, second = (task_id for task_id, _, _ in inbox(service))
    assert inbox(service, "mine") == []
    claim(service, second)
    assert [task_id for task_id, _, _ in inbox(service, "mine")] == [second]
    assert {task_id for task_id, _, _ in inbox(service, "groups")} == {first, second}


PERSONAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_personal" targetNamespace="http://kesu.test">
  <bpmn:process id="%(key)s" name="%(key)s" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_cs" name="Customer Service">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>look</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>after</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="look" name="Look at it" %(attrs)s>
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="seen" label="Seen" type="boolean" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="after" name="After" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>%(script)s</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look" />
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="after" />
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def publish_small(database, company, key: str, attrs: str = "", script: str = "done = True") -> None:
    """Publish a one-task procedure: `attrs` go on its user task, `script` runs after it."""
    xml = PERSONAL % {b"key": key.encode(), b"attrs": attrs.encode(), b"script": script.encode()}
    with database.session() as s:
        publish(s, company.id, xml, company.users["owner"].id, "test", ("Customer Service",))


def start(api, company, key: str, data: dict) -> dict:
    response = api(company.email("service")).post(f"/processes/{key}/instances", {"data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_inbox_shows_tasks_assigned_to_me_outside_my_groups(database, acme, api, login, complaint_data):
    publish_small(database, acme, "personal", f'camunda:assignee="{acme.email("handler")}"')
    case = start(api, acme, "personal", complaint_data)
    handler = login(acme.email("handler"))
    assert [task_id for task_id, _, _ in inbox(handler, "mine")] == [case["tasks"][0]["id"]]
    assert [el for _, el, _ in inbox(handler)] == ["look"]
    assert inbox(login(acme.email("service"))) == []


def test_inbox_puts_higher_priority_first_then_newest(database, acme, api, service, complaint_data):
    publish_small(database, acme, "triage", """camunda:priority="90 if category == 'delivery' else 20\"""")
    older = start(api, acme, "triage", {**complaint_data, "category": "other"})
    urgent = start(api, acme, "triage", {**complaint_data, "category": "delivery"})
    newer = start(api, acme, "triage", {**complaint_data, "category": "other"})
    assert [task_id for task_id, _, _ in inbox(service)] == [
        urgent["tasks"][0]["id"], newer["tasks"][0]["id"], older["tasks"][0]["id"]]


def test_claimed_task_shows_its_holder_to_the_others(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    response = claim(service, task_id)
    assert response.status_code == 303 and response.headers["Location"] == f"/tasks/{task_id}"
    [(_, _, row)] = inbox(login(acme.email("service2")))
    assert "Service" in holder_cell(row)
    assert f"/tasks/{task_id}/claim" not in row
    [(_, _, mine)] = inbox(service)
    assert f"/tasks/{task_id}/release" in mine


def test_task_form_shows_the_fields_and_the_complaint(service, registered, complaint_data):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    page = service.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    body = text(page)
    assert "判定投诉是否成立" in body
    assert 'name="valid"' in body and 'value="true"' in body and 'value="false"' in body
    assert 'name="validity_note"' in body
    assert complaint_data["customer_name"] in body and complaint_data["content"] in body


def test_completing_a_task_hands_the_next_one_to_the_next_group(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    response = complete(service, task_id, {"valid": "true", "validity_note": "批次问题"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert inbox(service) == []
    quality = login(acme.email("quality"))
    assert [el for _, el, _ in inbox(quality)] == ["grade_complaint"]


def test_completing_an_unclaimed_task_offered_to_me_works(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    assert complete(service, task_id, {"valid": "false"}).status_code == 303
    assert [el for _, el, _ in inbox(service)] == ["reply_invalid"]


def test_incomplete_task_form_is_shown_again_with_the_error(service, registered):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    response = complete(service, task_id, {"validity_note": "forgot the verdict"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "forgot the verdict" in page and 'class="error"' in page
    assert [el for _, el, _ in inbox(service)] == ["check_validity"]


def test_a_page_completion_reads_its_task_once_and_deserializes_the_workflow_once(database, service, registered):
    task_id = task_on(service, "check_validity")
    token = service.csrf(f"/tasks/{task_id}")
    with counting(database.engine) as count:
        response = service.client.post(f"/tasks/{task_id}", data={"valid": "true", "csrf_token": token})
    assert response.status_code == 303
    assert (count.row_reads, count.loads) == (1, 1), count.statements


def test_a_refused_task_form_is_shown_again_from_the_one_read_of_its_step(database, service, registered):
    task_id = task_on(service, "check_validity")
    token = service.csrf(f"/tasks/{task_id}")
    with counting(database.engine) as count:
        response = service.client.post(f"/tasks/{task_id}", data={"validity_note": "没有结论", "csrf_token": token})
    assert response.status_code == 400 and "没有结论" in response.get_data(as_text=True)
    assert (count.row_reads, count.loads) == (1, 1), count.statements


def test_released_task_is_open_again_for_the_group(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    response = service.post(f"/tasks/{task_id}/release", token_from="/")
    assert response.status_code == 303
    [(_, _, row)] = inbox(login(acme.email("service2")))
    assert "Service" not in holder_cell(row)
    assert f"/tasks/{task_id}/claim" in row
    assert inbox(service, "mine") == []


def test_task_held_by_someone_else_cannot_be_completed(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    other = login(acme.email("service2"))
    response = other.post(f"/tasks/{task_id}", {"valid": "true"}, token_from=f"/tasks/{task_id}",
                          follow_redirects=True)
    flashes = re.findall(r'<div class="flash flash-error"[^>]*>(.*?)</div>', text(response), re.S)
    assert any("Service" in f and "Service2" not in f for f in flashes), flashes
    [(_, el, row)] = inbox(other)
    assert el == "check_validity" and "Service" in holder_cell(row)


def test_task_held_by_someone_else_cannot_be_claimed(acme, login, service, registered):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    response = claim(login(acme.email("service2")), task_id)
    assert response.status_code == 303
    [(_, _, row)] = inbox(service, "mine")
    assert "Service" in holder_cell(row)


def test_task_of_another_group_is_forbidden(acme, login, registered, service):
    task_id = task_on(service, "check_validity")
    handler = login(acme.email("handler"))
    assert handler.get(f"/tasks/{task_id}").status_code == 403
    assert claim(handler, task_id).status_code == 403


# -- the complaint page -------------------------------------------------------------------------------


def test_complaint_page_shows_fields_status_procedure_tasks_and_steps(acme, login, service, registered,
                                                                      complaint_data):
    task_id = task_on(service, "check_validity")
    claim(service, task_id)
    complete(service, task_id, {"valid": "true", "validity_note": "批次问题"})
    quality = login(acme.email("quality"))
    claim(quality, task_on(quality, "grade_complaint"))
    in_english(service)
    page = service.get(f"/complaints/{registered}")
    assert page.status_code == 200
    body = text(page)
    for key in ("customer_name", "contact_person", "contact", "product", "specification", "contract_number",
                "content", "customer_request"):
        assert complaint_data[key] in body, key
    assert "Product quality" in body and "Phone" in body
    assert 'class="badge status-running"' in body
    assert "Standard complaint procedure, version 1" in body
    current = re.search(r'<li data-element="grade_complaint">(.*?)</li>', body, re.S).group(1)
    assert "held by Quality" in current
    history = re.search(r'<table class="list history">(.*?)</table>', body, re.S).group(1)
    rows = re.findall(r'<tr class="event-(\w+)">(.*?)</tr>', history, re.S)
    assert [kind for kind, _ in rows] == ["instance_started", "task_claimed", "task_completed", "gateway_taken",
                                         "task_claimed"]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for _, row in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", c[1].strip()) for c in cells)
    assert [c[2].strip() for c in cells] == ["Service", "Service", "Service", "Service", "Quality"]
    assert "Completed “Check validity”" in cells[2][3]
    assert "valid" in cells[2][4] and "Yes" in cells[2][4] and "批次问题" in cells[2][4]


def test_complaint_list_shows_the_company_complaints(service, registered, complaint_data):
    page = text(service.get("/complaints/"))
    assert f'href="/complaints/{registered}"' in page
    assert complaint_data["customer_name"] in page


# -- language -----------------------------------------------------------------------------------------


def test_ui_is_simplified_chinese_by_default(service):
    assert '<html lang="zh-Hans">' in service.get("/").get_data(as_text=True)


def test_language_switch_turns_the_ui_english(service):
    response = service.post("/language/en", {"next": "/complaints/"}, token_from="/")
    assert response.status_code == 302 and response.headers["Location"] == "/complaints/"
    page = service.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<a href="/" class="active">Inbox</a>' in page


def test_chosen_language_is_remembered_at_the_next_sign_in(acme, login, service):
    in_english(service)
    again = login(acme.email("service"))
    assert '<html lang="en">' in again.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(service):
    service.post("/language/xx", {"next": "/"}, token_from="/")
    assert '<html lang="zh-Hans">' in service.get("/").get_data(as_text=True)


def test_navigation_is_translated_into_chinese_by_default(service):
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', service.get("/").get_data(as_text=True), re.S).group(1)
    labels = [label.strip() for label in re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)]
    assert labels and not set(labels) & {"Inbox", "Complaints", "Register a complaint"}, labels


def test_task_names_come_from_the_diagram_in_the_chosen_language(service, registered):
    assert "判定投诉是否成立" in text(service.get("/"))
    in_english(service)
    assert "Check validity" in text(service.get("/"))


# -- roles --------------------------------------------------------------------------------------------


def test_admin_sees_stopped_cases(database, acme, api, login, complaint_data):
    publish_small(database, acme, "fragile", script="result = 1 / 0")
    case = start(api, acme, "fragile", complaint_data)
    response = api(acme.email("service")).post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"seen": True}})
    assert response.status_code == 422
    page = login(acme.email("admin")).get("/admin/errors")
    assert page.status_code == 200
    body = text(page)
    assert case["number"] in body and "after" in body and "division by zero" in body


@pytest.mark.parametrize("role", ["service", "owner", "auditor"])
def test_stopped_cases_page_is_for_admins_only(acme, login, role):
    assert login(acme.email(role)).get("/admin/errors").status_code == 403


def test_auditor_reads_complaints_and_their_history(acme, login, registered, complaint_data):
    auditor = login(acme.email("auditor"))
    assert complaint_data["customer_name"] in text(auditor.get("/complaints/"))
    page = auditor.get(f"/complaints/{registered}")
    assert page.status_code == 200 and complaint_data["customer_name"] in text(page)
    assert auditor.get(f"/complaints/{registered}/diagram.bpmn").status_code == 200


def test_auditor_cannot_register_claim_or_complete(database, acme, login, service, registered, complaint_data):
    task_id = task_on(service, "check_validity")
    auditor = login(acme.email("auditor"))
    assert auditor.get("/complaints/new").status_code == 403
    assert auditor.post("/complaints/new", complaint_data, token_from="/complaints/").status_code == 403
    assert auditor.get(f"/tasks/{task_id}").status_code == 403
    assert auditor.post(f"/tasks/{task_id}/claim", token_from="/complaints/").status_code == 403
    assert auditor.post(f"/tasks/{task_id}", {"valid": "true"}, token_from="/complaints/").status_code == 403
    assert auditor.post(f"/tasks/{task_id}/release", token_from="/complaints/").status_code == 403
    assert count(database, Complaint) == 1
    [(_, el, row)] = inbox(service)
    assert el == "check_validity" and f"/tasks/{task_id}/claim" in row


def test_signed_out_visitors_are_sent_to_the_login_page(app):
    response = app.test_client().get("/complaints/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_complaint_page_offers_claim_only_to_those_the_open_task_is_offered_to(acme, login, registered):
    page = f"/complaints/{registered}"
    claim_form = re.compile(r'action="/tasks/[0-9a-f-]{36}/claim"')
    assert claim_form.search(login(acme.email("service")).get(page).get_data(as_text=True))
    for other in ("quality", "auditor"):
        assert not claim_form.search(login(acme.email(other)).get(page).get_data(as_text=True)), other
