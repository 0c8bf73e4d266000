"""Company isolation: a user of `rival` can neither see nor touch anything of `acme`, on any page or API endpoint.

Each endpoint is one line in PAGES, PAGE_LISTS, WORKBOOKS, API or API_LISTS; a guard test fails when the app gains an
endpoint that none of these lists covers.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from accounts.models import ApiToken, Company as CompanyRow, User, UserSession
from accounts.provisioning import create_user
from complaints import sla
from complaints.sla import SlaClock
from conftest import COMPLAINT, GRADING_TABLE, GROUPS, PASSWORD, STANDARD
from db import utcnow
from engine.calendars.company import CompanyCalendar
from engine.records import Event, InboxTask, Instance
from engine.repository.decisions import publish_decision
from engine.repository.drafts import save_draft
from engine.repository.publishing import publish, trial_version
from notifications import notify

ACME_CUSTOMER = "Acme 独有客户 甲"
RIVAL_CUSTOMER = "Rival 自己的客户 乙"
PRIVATE_KEY = "acme_private"
PRIVATE_TABLE = "acme_private_grading"

# (method, path): {instance} is an acme complaint; {held} an acme task claimed by an acme user; {open} an
# unclaimed acme task offered to a group the rival user is in too; {done} an acme task already completed.
PAGES = [
    ("GET", "/complaints/{instance}"),
    ("GET", "/complaints/{instance}/diagram.bpmn"),
    ("GET", "/tasks/{held}"),
    ("GET", "/tasks/{open}"),
    ("GET", "/tasks/{done}"),
    ("POST", "/tasks/{held}"),
    ("POST", "/tasks/{open}"),
    ("POST", "/tasks/{done}"),
    ("POST", "/tasks/{held}/claim"),
    ("POST", "/tasks/{open}/claim"),
    ("POST", "/tasks/{done}/claim"),
    ("POST", "/tasks/{held}/release"),
    ("POST", "/tasks/{open}/release"),
    ("GET", "/procedures/{process}/1.bpmn"),
    ("GET", "/procedures/{process}/edit"),
    ("GET", "/procedures/{process}/source.bpmn"),
    ("GET", "/procedures/{process}/diff"),
    ("GET", "/procedures/{process}/migrate"),
    ("POST", "/procedures/{process}/migrate"),
    ("GET", "/procedures/test-runs/{testrun}"),
    ("GET", "/procedures/test-runs/{testrun}/diagram.bpmn"),
    ("POST", "/procedures/test-runs/{testrun}/tasks/{testtask}"),
    ("POST", "/complaints/{instance}/verify"),
    ("POST", "/complaints/{instance}/rerun"),
    ("GET", "/complaints/{instance}/evidence"),
    ("GET", "/complaints/{instance}/evidence.json"),
    ("GET", "/complaints/{instance}/evidence.pdf"),
    ("GET", "/complaints/{instance}/replay"),
    ("GET", "/decisions/{decision}/1.dmn"),
    ("GET", "/decisions/{decision}/edit"),
    ("GET", "/complaints/{instance}/corrections"),
    ("POST", "/complaints/{instance}/corrections/data"),
    ("POST", "/complaints/{instance}/corrections/retry"),
    ("POST", "/complaints/{instance}/corrections/skip"),
    ("POST", "/complaints/{instance}/corrections/rewind"),
    ("GET", "/admin/calendars/{calendar}"),
    ("POST", "/admin/calendars/{calendar}"),
    ("POST", "/admin/calendars/{calendar}/china"),
    ("POST", "/admin/calendars/{calendar}/default"),
    ("GET", "/notifications/{notification}"),
    ("GET", "/sla/{policy}"),
    ("POST", "/sla/{policy}"),
    ("POST", "/sla/{policy}/retire"),
    ("POST", "/sla/escalations/{clock}"),
    ("POST", "/account/sessions/{session}/end"),
    ("POST", "/account/tokens/{token}/revoke"),
]
PAGE_LISTS = ["/", "/?scope=mine", "/?scope=groups", "/complaints/", "/complaints/?status=running",
              "/complaints/?status=error", "/complaints/?status=completed", "/complaints/?status=invalid",
              "/complaints/?status=abnormal", "/complaints/?mine=1", "/complaints/?mine=1&status=running",
              "/admin/errors", "/procedures/", "/decisions/",
              "/audit/", "/audit/?status=running&grade=level:4", "/admin/calendars/", "/admin/calendars/new",
              "/notifications", "/account/notifications", "/sla/", "/sla/new", "/?sort=due&overdue=1", "/account/",
              "/complaints/?q=%E7%8B%AC%E6%9C%89", "/complaints/export.csv",  # ?q=独有, in acme's customer
              "/complaints/export.csv?q=%E7%8B%AC%E6%9C%89"]
WORKBOOKS = ["/complaints/export.xlsx", "/complaints/export.xlsx?q=%E7%8B%AC%E6%9C%89"]  # zipped: read cell by cell
API = [
    ("GET", "/instances/{instance}"),
    ("GET", "/instances/{instance}/events"),
    ("POST", "/tasks/{held}/claim"),
    ("POST", "/tasks/{open}/claim"),
    ("POST", "/tasks/{done}/claim"),
    ("POST", "/tasks/{held}/release"),
    ("POST", "/tasks/{open}/release"),
    ("POST", "/tasks/{held}/complete"),
    ("POST", "/tasks/{open}/complete"),
    ("POST", "/tasks/{done}/complete"),
    ("POST", "/processes/{process}/instances"),
]
API_LISTS = ["/tasks", "/tasks?scope=mine", "/tasks?scope=groups", "/processes", "/complaints",
             "/complaints?status=running", "/complaints?mine=true", "/complaints?limit=1"]
# The register's files through the API; ?q=独有 is in acme's customer only (the rival's file has just its header).
API_FILES = ["/complaints/export?format=csv", "/complaints/export?format=csv&q=%E7%8B%AC%E6%9C%89",
             "/complaints/export?format=xlsx", "/complaints/export?q=%E7%8B%AC%E6%9C%89"]
# Endpoints that take no id of another company's data (sign-in, language, static files), or only create in the
# caller's own company (registering, publishing: see the tests at the end).
NOT_COMPANY_DATA = {"static", "auth.login", "auth.logout", "auth.language", "api.token", "complaints.new",
                    "api.publish", "procedures.publish_json", "procedures.check_json", "procedures.save_draft",
                    "test_runs.start", "decisions.publish_json", "notifications.read_all", "api.revoke_token",
                    "account.password", "account.end_other_sessions", "account.new_token",  # the user's own
                    "api.openapi", "api.docs"}  # the API's description, the same for everyone
MISSING = {"instance": 987654, "held": "00000000-0000-0000-0000-000000000000", "process": "procedure_nobody_published",
           "open": "00000000-0000-0000-0000-000000000000", "done": "00000000-0000-0000-0000-000000000000",
           "testrun": 987654, "testtask": "00000000-0000-0000-0000-000000000000", "decision": "no_such_table",
           "calendar": 987654, "notification": 987654, "policy": 987654, "clock": 987654, "session": 987654,
           "token": 987654}
ANSWERS = {"valid": "true", "seen": "true"}

FRAGILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_fragile" targetNamespace="http://kesu.test">
  <bpmn:process id="fragile" name="Fragile" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_cs" name="Customer Service">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>look</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>boom</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="look" name="Look at it">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="seen" label="Seen" type="boolean" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="boom" name="Boom" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>result = 1 / 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look" />
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="boom" />
    <bpmn:sequenceFlow id="f3" sourceRef="boom" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def task(client, instance_id: int, element_id: str) -> dict:
    return next(t for t in ok(client.get(f"/instances/{instance_id}"))["tasks"] if t["element_id"] == element_id)


@pytest.fixture()
def acme_ids(database, engine, acme, api, login) -> dict:
    """acme's things a rival might try: a complaint, held / open / done tasks, a private procedure with a draft,
    a stopped case, and a test run."""
    private = STANDARD.read_bytes().replace(b'"complaint_standard"', f'"{PRIVATE_KEY}"'.encode())
    tester = replace(acme.actor("owner"), tester=True)
    with database.session() as s:
        publish(s, acme.id, private, acme.users["owner"].id, "", GROUPS)
        publish(s, acme.id, FRAGILE, acme.users["owner"].id, "", GROUPS)
        publish_decision(s, acme.id, GRADING_TABLE.read_bytes().replace(b'"grading"', f'"{PRIVATE_TABLE}"'.encode()),
                         acme.users["owner"].id, "")
        save_draft(s, acme.id, "bpmn", PRIVATE_KEY, private.decode(), 0, acme.users["owner"].id)
        trial = engine.start(s, trial_version(s, acme.id, private, acme.users["owner"].id, GROUPS), tester,
                             COMPLAINT, "TEST-acme")
        testrun, testtask = trial.id, s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == trial.id))
        calendar = s.scalar(sa.select(CompanyCalendar.id).where(CompanyCalendar.company_id == acme.id))
        policy = sla.save_policy(s, acme.id, None, grade="", category="", resolution_target="PT0S",
                                 escalate_to="Management").id  # every case breaches at once and escalates
    service = api(acme.email("service"))
    data = {**COMPLAINT, "customer_name": ACME_CUSTOMER}
    held = ok(service.post("/processes/complaint_standard/instances", {"data": data}), 201)
    ok(service.post(f"/tasks/{held['tasks'][0]['id']}/claim"))
    moved = ok(service.post("/processes/complaint_standard/instances", {"data": data}), 201)
    ok(service.post(f"/tasks/{moved['tasks'][0]['id']}/complete", {"data": {"valid": True}}))
    stopped = ok(service.post("/processes/fragile/instances", {"data": data}), 201)
    assert service.post(f"/tasks/{stopped['tasks'][0]['id']}/complete", {"data": {"seen": True}}).status_code == 422
    sla.check_clocks(database.sessionmaker, engine, utcnow() + timedelta(seconds=1))
    with database.session() as s:
        clock = s.scalar(sa.select(SlaClock.id).where(SlaClock.instance_id == held["id"]))
        [notice] = notify(s, acme.id, [acme.users["admin"].id], "reopened", instance_id=held["id"],
                          params={"number": held["number"]})
    login(acme.email("service"))  # a signed-in browser of acme's, next to the service's API token
    with database.session() as s:
        session_id = s.scalar(sa.select(UserSession.id).where(UserSession.user_id == acme.users["service"].id))
        token_id = s.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == acme.users["service"].id))
    return {"instance": held["id"], "held": held["tasks"][0]["id"],
            "open": task(service, moved["id"], "grade_complaint")["id"], "done": moved["tasks"][0]["id"],
            "process": PRIVATE_KEY, "instances": (held["id"], moved["id"], stopped["id"], testrun),
            "testrun": testrun, "testtask": testtask, "decision": PRIVATE_TABLE, "calendar": calendar,
            "notification": notice.id, "policy": policy, "clock": clock, "session": session_id, "token": token_id}


@pytest.fixture()
def intruder(database, rival, api) -> str:
    """A rival admin in every group acme uses, with a complaint of rival's own: the most a rival can be."""
    with database.session() as s:
        user = create_user(s, s.get(CompanyRow, rival.id), "intruder@rival.test", "admin", PASSWORD, GROUPS, "Intruder")
    client = api(user.email)
    own = ok(client.post("/processes/complaint_standard/instances",
                         {"data": {**COMPLAINT, "customer_name": RIVAL_CUSTOMER}}), 201)
    ok(client.post(f"/tasks/{own['tasks'][0]['id']}/claim"))
    return user.email


def acme_state(database, acme) -> tuple:
    """Everything a rival's attempt could change in acme: instances (status, lock), inbox rows and holders, events."""
    with database.session() as s:
        return (s.execute(sa.select(Instance.id, Instance.status, Instance.lock_version)
                          .where(Instance.company_id == acme.id).order_by(Instance.id)).all(),
                s.execute(sa.select(InboxTask.id, InboxTask.assignee_id)
                          .where(InboxTask.company_id == acme.id).order_by(InboxTask.id)).all(),
                s.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.company_id == acme.id)),
                s.execute(sa.select(UserSession.id, UserSession.ended_at).join(User)
                          .where(User.company_id == acme.id).order_by(UserSession.id)).all(),
                s.execute(sa.select(ApiToken.id, ApiToken.revoked_at).join(User)
                          .where(User.company_id == acme.id).order_by(ApiToken.id)).all())


def leaks(body: str, ids: dict) -> list[str]:
    """acme markers found in a rival's response."""
    markers = [ACME_CUSTOMER, ids["held"], ids["open"], ids["done"], PRIVATE_KEY, PRIVATE_TABLE, "Fragile", "TEST-acme",
               ids["testtask"]]
    markers += [f"/complaints/{i}\"" for i in ids["instances"]] + [f'"instance_id": {i},' for i in ids["instances"]]
    return [m for m in markers if m in body]


# -- pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", PAGES)
def test_rival_gets_404_for_acme_things_on_pages(database, acme, acme_ids, intruder, login, method, path):
    before = acme_state(database, acme)
    browser = login(intruder)
    url = path.format(**acme_ids)
    response = browser.get(url) if method == "GET" else browser.post(url, ANSWERS, token_from="/complaints/")
    assert response.status_code == 404
    echo_removed = response.get_data(as_text=True).replace(url, "")  # the language switch echoes the URL asked for
    assert leaks(echo_removed, acme_ids) == []
    assert acme_state(database, acme) == before


@pytest.mark.parametrize("path", PAGE_LISTS)
def test_rival_lists_never_show_acme_items(acme_ids, intruder, login, path):
    response = login(intruder).get(path)
    assert response.status_code == 200
    assert leaks(response.get_data(as_text=True), acme_ids) == []


@pytest.mark.parametrize("path", WORKBOOKS)
def test_rival_workbooks_never_hold_acme_items(acme_ids, intruder, login, path):
    response = login(intruder).get(path)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    cells = "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                      for value in row if value is not None)
    assert RIVAL_CUSTOMER in cells or "?q=" in path  # the control: the rival's own complaint is there
    assert leaks(cells, acme_ids) == []


def test_rival_lists_show_rival_own_items(acme_ids, intruder, login):
    """The control for the list test: the same pages do list the rival's own complaint and task."""
    browser = login(intruder)
    assert RIVAL_CUSTOMER in browser.get("/complaints/").get_data(as_text=True)
    assert 'data-element="check_validity"' in browser.get("/").get_data(as_text=True)


def test_acme_sees_what_the_rival_cannot(acme, acme_ids, login, api):
    """The control for the 404s: the same URLs work for acme's own users."""
    admin = login(acme.email("admin"))
    assert admin.get(f"/complaints/{acme_ids['instance']}").status_code == 200
    assert ACME_CUSTOMER in admin.get("/complaints/").get_data(as_text=True)
    found = api(acme.email("auditor")).get("/complaints?q=%E7%8B%AC%E6%9C%89").get_json()["items"]
    assert {item["customer_name"] for item in found} == {ACME_CUSTOMER}
    assert {item["id"] for item in found} == set(acme_ids["instances"][:3])
    assert f"/complaints/{acme_ids['instances'][2]}\"" in admin.get("/admin/errors").get_data(as_text=True)
    assert login(acme.email("quality")).get(f"/tasks/{acme_ids['open']}").status_code == 200


# -- API ----------------------------------------------------------------------------------------------


def call(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    body = {"data": COMPLAINT} if url.endswith("/instances") else {"data": {"valid": True, "grade": "level_1",
                                                                           "urgency": "urgent"}}
    return client.post(url, body)


@pytest.mark.parametrize("method,path", API)
def test_rival_gets_404_for_acme_things_in_the_api(database, acme, api, acme_ids, intruder, method, path):
    before = acme_state(database, acme)
    client = api(intruder)
    response = call(client, method, path.format(**acme_ids))
    assert response.status_code == 404, response.get_json()
    placeholder = re.search(r"{(\w+)}", path).group(1)
    missing = call(client, method, path.format(**{**acme_ids, placeholder: MISSING[placeholder]}))
    seen = response.get_data(as_text=True).replace(str(acme_ids[placeholder]), "ID")
    assert seen == missing.get_data(as_text=True).replace(str(MISSING[placeholder]), "ID"), \
        "acme's ids must look exactly like missing ones"
    assert acme_state(database, acme) == before


@pytest.mark.parametrize("path", API_LISTS)
def test_rival_api_lists_never_show_acme_items(acme_ids, api, intruder, path):
    response = api(intruder).get(path)
    assert response.status_code == 200
    body = response.get_json()
    items = body["items"] if isinstance(body, dict) else body  # the register answers a page of items
    assert items, "the rival's own items should be listed"
    assert leaks(response.get_data(as_text=True), acme_ids) == []
    assert leaks(json.dumps(body, ensure_ascii=False), acme_ids) == []  # the JSON escapes Chinese markers
    assert not any(item.get("instance_id") in acme_ids["instances"] for item in items)
    if path.startswith("/complaints"):
        assert not any(item["id"] in acme_ids["instances"] for item in items)


@pytest.mark.parametrize("path", API_FILES)
def test_rival_api_exports_never_hold_acme_items(acme_ids, api, intruder, path):
    response = api(intruder).get(path)
    assert response.status_code == 200
    if "spreadsheetml" in response.mimetype:
        book = load_workbook(io.BytesIO(response.data), read_only=True)
        content = "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                            for value in row if value is not None)
    else:
        content = response.data.decode("utf-8-sig")
    assert RIVAL_CUSTOMER in content or "q=" in path  # the control: the rival's own complaint is there
    assert leaks(content, acme_ids) == []


def test_rival_publishing_the_same_procedure_does_not_change_acme_versions(acme, rival, api):
    owner = api(rival.email("owner"))
    revised = STANDARD.read_bytes().replace(b'id="complaint_standard" name="Standard complaint procedure"',
                                            b'id="complaint_standard" name="Rival revision"')
    assert ok(owner.post("/processes", data=revised, content_type="application/xml"), 201)["version"] == 2
    assert [(p["version"], p["name"]) for p in ok(api(acme.email("owner")).get("/processes"))] == [
        (1, "Standard complaint procedure")]


def test_complaint_numbers_count_per_company(acme_ids, intruder, api, login):
    """acme has three complaints; the rival's first one is still number 0001, and registers in the rival's company."""
    [own] = api(intruder).get("/tasks?scope=mine").get_json()
    assert own["number"].endswith("-0001")
    assert RIVAL_CUSTOMER in login(intruder).get(f"/complaints/{own['instance_id']}").get_data(as_text=True)


def test_rival_cannot_start_acme_private_procedure_but_acme_can(acme, api, acme_ids, intruder):
    body = {"data": COMPLAINT}
    assert api(intruder).post(f"/processes/{PRIVATE_KEY}/instances", body).status_code == 404
    assert api(acme.email("service")).post(f"/processes/{PRIVATE_KEY}/instances", body).status_code == 201


# -- every endpoint is covered ------------------------------------------------------------------------


def test_every_endpoint_with_company_data_is_in_an_isolation_list(app):
    """Adding an endpoint without adding it to PAGES/PAGE_LISTS/API/API_LISTS above fails here."""
    sample = {"instance": 1, "held": "t", "open": "t", "done": "t", "process": "p", "testrun": 1, "testtask": "t",
              "decision": "d", "calendar": 1, "notification": 1, "policy": 1, "clock": 1, "session": 1, "token": 1}
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(path.format(**sample), method=method)[0] for method, path in PAGES}
    covered |= {adapter.match(path.split("?")[0], method="GET")[0] for path in PAGE_LISTS + WORKBOOKS}
    covered |= {adapter.match("/api/v1" + path.format(**sample), method=method)[0] for method, path in API}
    covered |= {adapter.match("/api/v1" + path.split("?")[0], method="GET")[0] for path in API_LISTS + API_FILES}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - covered - NOT_COMPANY_DATA == set()
