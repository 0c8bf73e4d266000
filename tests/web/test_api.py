"""The JSON API (/api/v1) as an integration sees it: tokens, procedures, instances, tasks, events, errors."""
from __future__ import annotations

import io

import pytest

from bench.completion import counting
from conftest import GRADING, PASSWORD, STANDARD

STANDARD_KEY = "complaint_standard"
TASK_KEYS = {"id", "instance_id", "number", "name", "element_id", "lane", "candidate_groups", "assignee",
             "due", "priority", "form_fields"}
FIELD_KEYS = {"id", "type", "label", "required", "options"}


def message(response) -> str:
    """The person-readable message of an API error; fails unless the error is JSON without a stack trace."""
    assert response.is_json, response.get_data(as_text=True)[:300]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "<html" not in text.lower()
    body = response.get_json()
    found = body.get("message") or body.get("error")
    assert isinstance(found, str) and found.strip(), body
    return found


def renamed_standard(name: str) -> bytes:
    """The standard procedure with another name: same key, different content, so a new version."""
    old = b'<bpmn:process id="complaint_standard" name="Standard complaint procedure"'
    return STANDARD.read_bytes().replace(old, f'<bpmn:process id="complaint_standard" name="{name}"'.encode(), 1)


def start(client, complaint_data):
    response = client.post(f"/processes/{STANDARD_KEY}/instances", {"data": complaint_data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_task(client, instance_id: int, element_id: str) -> dict:
    tasks = client.get(f"/instances/{instance_id}").get_json()["tasks"]
    return next(t for t in tasks if t["element_id"] == element_id)


@pytest.fixture()
def service(acme, api):
    return api(acme.email("service"))


@pytest.fixture()
def case(service, complaint_data):
    """A freshly registered complaint, waiting at the validity check."""
    return start(service, complaint_data)


# -- tokens -------------------------------------------------------------------------------------------


def test_token_is_issued_for_right_password_and_opens_the_api(acme, client):
    response = client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": PASSWORD})
    assert response.status_code == 200
    token = response.get_json()["token"]
    assert client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_with_wrong_password_is_refused_with_401(acme, client):
    response = client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": "wrong-one!"})
    assert response.status_code == 401
    assert "token" not in response.get_json()
    assert message(response)


def test_token_for_unknown_email_is_refused_with_401(acme, client):
    response = client.post("/api/v1/auth/token", json={"email": "nobody@acme.test", "password": PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize("body", [
    {"data": "{not json", "content_type": "application/json"},
    {"json": ["service@acme.test", PASSWORD]},
    {"json": {"email": "service@acme.test"}},
    {"json": {"email": 42, "password": PASSWORD}},
    {"data": "email=service@acme.test&password=x", "content_type": "application/x-www-form-urlencoded"},
], ids=["broken-json", "list", "no-password", "email-not-text", "form-encoded"])
def test_malformed_token_request_gets_400(acme, client, body):
    response = client.post("/api/v1/auth/token", **body)
    assert response.status_code == 400
    assert "email" in message(response)


@pytest.fixture()
def client(app):
    return app.test_client()


# -- procedures ---------------------------------------------------------------------------------------


def test_processes_lists_my_company_procedures_with_key_version_and_name(acme, service):
    response = service.get("/processes")
    assert response.status_code == 200
    assert [(p["key"], p["version"], p["name"]) for p in response.get_json()] == [
        (STANDARD_KEY, 1, "Standard complaint procedure")]


def test_process_owner_publishes_new_version_from_xml_body(acme, api):
    owner = api(acme.email("owner"))
    response = owner.post("/processes", data=renamed_standard("Standard procedure, revised"),
                          content_type="application/xml")
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"key": STANDARD_KEY, "version": 2, "name": "Standard procedure, revised"}
    listed = owner.get("/processes").get_json()
    assert [(p["key"], p["version"]) for p in listed] == [(STANDARD_KEY, 2)]


def test_process_owner_publishes_new_version_from_multipart_file(acme, api):
    owner = api(acme.email("owner"))
    upload = {"file": (io.BytesIO(renamed_standard("Uploaded as a file")), "complaint_standard.bpmn")}
    response = owner.post("/processes", data=upload, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    assert owner.get("/processes").get_json()[0]["name"] == "Uploaded as a file"


def test_new_instances_run_on_the_newest_version_and_old_ones_keep_theirs(acme, api, service, case, complaint_data):
    owner = api(acme.email("owner"))
    assert owner.post("/processes", data=renamed_standard("v2"), content_type="application/xml").status_code == 201
    newer = start(service, complaint_data)
    assert service.get(f"/instances/{case['id']}").get_json()["version"] == 1
    assert service.get(f"/instances/{newer['id']}").get_json()["version"] == 2


@pytest.mark.parametrize("role", ["service", "auditor"])
def test_only_process_owners_may_publish(acme, api, role):
    response = api(acme.email(role)).post("/processes", data=renamed_standard("not mine to publish"),
                                          content_type="application/xml")
    assert response.status_code == 403
    assert message(response)
    assert api(acme.email("owner")).get("/processes").get_json()[0]["version"] == 1


def test_broken_diagram_is_refused_with_400_listing_element_and_message(acme, api):
    broken = STANDARD.read_bytes().replace(b'<bpmn:lane id="lane_quality" name="Quality">',
                                           b'<bpmn:lane id="lane_quality" name="Nobody Here">', 1)
    assert broken != STANDARD.read_bytes()
    owner = api(acme.email("owner"))
    response = owner.post("/processes", data=broken, content_type="application/xml")
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert errors and all(set(e) == {"element", "message"} for e in errors)
    assert any(e["element"] == "grade_complaint" and "Nobody Here" in e["message"] for e in errors), errors
    assert owner.get("/processes").get_json()[0]["version"] == 1


def test_malformed_xml_is_refused_with_400(acme, api):
    response = api(acme.email("owner")).post("/processes", data=b"<bpmn:definitions", content_type="application/xml")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["message"]


def test_empty_publish_body_is_refused_with_400(acme, api):
    response = api(acme.email("owner")).post("/processes", data=b"", content_type="application/xml")
    assert response.status_code == 400
    assert "BPMN" in message(response)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="xxe" name="&secret;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bomb" name="&lol3;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""


def utf16(document: bytes) -> bytes:
    """The same document in UTF-16, where the bytes `<!DOCTYPE` do not appear literally."""
    declared = document.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    return declared.encode("utf-16")


@pytest.mark.parametrize("payload", [
    pytest.param(XXE, id="xxe"),
    pytest.param(ENTITY_BOMB, id="entity-expansion"),
    pytest.param(utf16(XXE), id="xxe-utf16"),
    pytest.param(utf16(ENTITY_BOMB), id="entity-expansion-utf16"),
])
def test_entity_attacks_are_refused(acme, api, payload):
    owner = api(acme.email("owner"))
    response = owner.post("/processes", data=payload, content_type="application/xml")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "root:" not in text and "lollol" not in text
    assert [p["key"] for p in owner.get("/processes").get_json()] == [STANDARD_KEY]


@pytest.mark.parametrize("encoding", ["GB18030", "UTF-16"])
def test_diagram_not_in_utf8_is_refused_with_400(acme, api, encoding):
    text = STANDARD.read_text(encoding="utf-8").replace('encoding="UTF-8"', f'encoding="{encoding}"')
    owner = api(acme.email("owner"))
    response = owner.post("/processes", data=text.encode(encoding), content_type="application/xml")
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["errors"][0]["message"]
    assert owner.get("/processes").get_json()[0]["version"] == 1


def test_oversized_diagram_is_refused_without_a_500(acme, api):
    huge = STANDARD.read_bytes().replace(b"</bpmn:definitions>", b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->"
                                         b"</bpmn:definitions>")
    response = api(acme.email("owner")).post("/processes", data=huge, content_type="application/xml")
    assert response.status_code in (400, 413)
    assert message(response)


# -- starting instances -------------------------------------------------------------------------------


def test_starting_an_instance_returns_201_with_id_number_status_and_tasks(service, complaint_data):
    response = service.post(f"/processes/{STANDARD_KEY}/instances", {"data": complaint_data})
    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["status"] == "running"
    assert len(body["number"]) == 11 and body["number"][6] == "-" and body["number"].endswith("0001")
    assert [t["element_id"] for t in body["tasks"]] == ["check_validity"]
    assert set(body["tasks"][0]) >= TASK_KEYS


def test_starting_with_bad_data_gets_400_with_an_error_per_field(service, complaint_data):
    bad = {**complaint_data, "customer_name": "", "channel": "carrier pigeon"}
    response = service.post(f"/processes/{STANDARD_KEY}/instances", {"data": bad})
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert set(errors) == {"customer_name", "channel"}
    assert all(isinstance(m, str) and m for m in errors.values())
    assert service.get("/tasks?scope=groups").get_json() == []


def test_starting_with_an_undeclared_field_gets_400_naming_it(service, complaint_data):
    response = service.post(f"/processes/{STANDARD_KEY}/instances", {"data": {**complaint_data, "valid": True}})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"valid"}
    assert service.get("/tasks?scope=groups").get_json() == []


def test_undeclared_and_invalid_fields_are_reported_together(service, complaint_data):
    bad = {**complaint_data, "customer_name": "", "smuggled": "x"}
    response = service.post(f"/processes/{STANDARD_KEY}/instances", {"data": bad})
    assert set(response.get_json()["errors"]) == {"customer_name", "smuggled"}


@pytest.mark.parametrize("body", [None, [], {"data": "x"}, {"data": ["a"]}, {"fields": {}}])
def test_starting_without_a_data_object_gets_400(service, body):
    response = service.post(f"/processes/{STANDARD_KEY}/instances", json=body)
    assert response.status_code == 400
    assert "data" in message(response)


def test_starting_an_unknown_process_gets_404(service, complaint_data):
    response = service.post("/processes/no_such_process/instances", {"data": complaint_data})
    assert response.status_code == 404
    assert "no_such_process" in message(response)


def test_auditor_cannot_start_instances(acme, api, complaint_data):
    response = api(acme.email("auditor")).post(f"/processes/{STANDARD_KEY}/instances", {"data": complaint_data})
    assert response.status_code == 403


# -- tasks --------------------------------------------------------------------------------------------


def test_group_tasks_carry_every_documented_key(acme, api, service, case):
    tasks = service.get("/tasks?scope=groups").get_json()
    assert len(tasks) == 1
    task = tasks[0]
    assert set(task) >= TASK_KEYS
    assert task["instance_id"] == case["id"] and task["number"] == case["number"]
    assert task["element_id"] == "check_validity" and task["name"] == "Check validity"
    assert task["lane"] == "Customer Service" and task["candidate_groups"] == ["Customer Service"]
    assert task["assignee"] is None and task["priority"] == 60 and task["due"]
    fields = {f["id"]: f for f in task["form_fields"]}
    assert set(fields) == {"valid", "validity_note"}
    assert all(set(f) >= FIELD_KEYS for f in fields.values())
    assert fields["valid"]["type"] == "boolean" and fields["valid"]["required"] is True
    assert fields["validity_note"]["required"] is False


def test_enum_fields_list_their_options(acme, api, service, case):
    assert service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": True}}).status_code == 200
    quality = api(acme.email("quality"))
    [task] = quality.get("/tasks?scope=groups").get_json()
    defect_type = next(f for f in task["form_fields"] if f["id"] == "defect_type")
    assert defect_type["type"] == "enum"
    assert [o["id"] for o in defect_type["options"]] == ["1", "2", "3", "none"]
    assert all(o["name"] for o in defect_type["options"])


def test_mine_lists_only_tasks_i_hold_and_groups_shows_the_holder(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    assert service.get("/tasks?scope=mine").get_json() == []
    assert service.post(f"/tasks/{task_id}/claim").status_code == 200
    [mine] = service.get("/tasks?scope=mine").get_json()
    assert mine["id"] == task_id and mine["assignee"] == "Service"
    [offered] = api(acme.email("service2")).get("/tasks?scope=groups").get_json()
    assert offered["id"] == task_id and offered["assignee"] == "Service"
    assert api(acme.email("service2")).get("/tasks?scope=mine").get_json() == []


def test_tasks_of_other_groups_are_not_listed(acme, api, case):
    assert api(acme.email("handler")).get("/tasks?scope=groups").get_json() == []


def test_unknown_task_scope_gets_400(service):
    response = service.get("/tasks?scope=everything")
    assert response.status_code == 400
    assert "scope" in message(response)


def test_claim_and_release_answer_200_and_reopen_the_task(service, case):
    task_id = case["tasks"][0]["id"]
    assert service.post(f"/tasks/{task_id}/claim").status_code == 200
    assert open_task(service, case["id"], "check_validity")["assignee"] == "Service"
    response = service.post(f"/tasks/{task_id}/release")
    assert response.status_code == 200
    assert open_task(service, case["id"], "check_validity")["assignee"] is None


def test_claiming_a_task_held_by_someone_else_gets_409_naming_the_holder(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    response = api(acme.email("service2")).post(f"/tasks/{task_id}/claim")
    assert response.status_code == 409
    assert "Service" in message(response)


def test_releasing_a_task_i_do_not_hold_gets_409(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    assert service.post(f"/tasks/{task_id}/release").status_code == 409
    service.post(f"/tasks/{task_id}/claim")
    response = api(acme.email("service2")).post(f"/tasks/{task_id}/release")
    assert response.status_code == 409
    assert open_task(service, case["id"], "check_validity")["assignee"] == "Service"


def test_claiming_a_task_not_offered_to_my_groups_gets_403(acme, api, case):
    response = api(acme.email("handler")).post(f"/tasks/{case['tasks'][0]['id']}/claim")
    assert response.status_code == 403
    assert message(response)


@pytest.mark.parametrize("action", ["claim", "release", "complete"])
def test_unknown_task_gets_404(service, action):
    response = service.post(f"/tasks/00000000-0000-0000-0000-000000000000/{action}", {"data": {}})
    assert response.status_code == 404
    assert message(response)


def test_completing_moves_the_procedure_on_and_answers_200_with_the_instance(acme, api, service, case):
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete",
                            {"data": {"valid": True, "validity_note": "batch problem"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == case["id"] and body["status"] == "running"
    assert body["data"]["valid"] is True and body["data"]["validity_note"] == "batch problem"
    assert [t["element_id"] for t in body["tasks"]] == ["grade_complaint"]
    assert [t["element_id"] for t in api(acme.email("quality")).get("/tasks").get_json()] == ["grade_complaint"]


def test_completing_without_a_required_field_gets_400_naming_it(service, case):
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"validity_note": "no verdict"}})
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert set(errors) == {"valid"} and errors["valid"]
    assert open_task(service, case["id"], "check_validity")


def test_completing_with_an_undeclared_field_gets_400_naming_it(service, case):
    data = {"valid": True, "approved": True}
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": data})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"approved"}
    instance = service.get(f"/instances/{case['id']}").get_json()
    assert "approved" not in instance["data"] and "valid" not in instance["data"]


def test_completing_with_undeclared_and_missing_fields_names_both(service, case):
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"approved": True}})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"valid", "approved"}


def test_completing_with_a_wrongly_typed_value_gets_400(acme, api, service, case):
    service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": True}})
    quality = api(acme.email("quality"))
    grade = open_task(quality, case["id"], "grade_complaint")
    response = quality.post(f"/tasks/{grade['id']}/complete", {"data": {**GRADING, "defect_type": "type_9"}})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"defect_type"}


def test_completing_a_task_held_by_someone_else_gets_409(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    response = api(acme.email("service2")).post(f"/tasks/{task_id}/complete", {"data": {"valid": True}})
    assert response.status_code == 409
    assert "Service" in message(response)
    assert open_task(service, case["id"], "check_validity")["assignee"] == "Service"


def test_completing_twice_gets_409_saying_it_is_already_completed(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    assert service.post(f"/tasks/{task_id}/complete", {"data": {"valid": True}}).status_code == 200
    for client in (service, api(acme.email("service2"))):
        response = client.post(f"/tasks/{task_id}/complete", {"data": {"valid": False}})
        assert response.status_code == 409
        assert "already completed" in message(response)
    events = service.get(f"/instances/{case['id']}/events").get_json()
    assert [e["type"] for e in events].count("task_completed") == 1


@pytest.mark.parametrize("body", [
    {"data": "{broken", "content_type": "application/json"},
    {"json": None},
    {"json": [1, 2]},
    {"json": {"data": "valid=true"}},
    {"json": {"valid": True}},
], ids=["broken-json", "no-body", "list", "data-not-object", "no-data-key"])
def test_complete_with_a_malformed_body_gets_400(service, case, body):
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", **body)
    assert response.status_code == 400
    assert message(response)


def test_nested_values_are_not_accepted_as_answers(service, case):
    response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": {"$ne": False}}})
    assert response.status_code == 400
    assert "valid" in response.get_json()["errors"]


def test_auditor_cannot_work_on_tasks(acme, api, case):
    auditor = api(acme.email("auditor"))
    task_id = case["tasks"][0]["id"]
    assert auditor.get("/tasks").status_code == 403
    for action in ("claim", "release", "complete"):
        assert auditor.post(f"/tasks/{task_id}/{action}", {"data": {"valid": True}}).status_code == 403


# -- instances and events -----------------------------------------------------------------------------


def test_instance_shows_status_version_number_data_and_open_tasks(acme, api, case, complaint_data):
    auditor = api(acme.email("auditor"))
    response = auditor.get(f"/instances/{case['id']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "running" and body["version"] == 1 and body["number"] == case["number"]
    assert body["process"] == STANDARD_KEY
    assert {k: body["data"][k] for k in complaint_data} == complaint_data
    assert [t["element_id"] for t in body["tasks"]] == ["check_validity"]


def test_unknown_instance_gets_404(service):
    assert service.get("/instances/999999").status_code == 404
    assert service.get("/instances/999999/events").status_code == 404


def test_events_record_who_did_what_and_when(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    service.post(f"/tasks/{task_id}/complete", {"data": {"valid": True}})
    response = api(acme.email("auditor")).get(f"/instances/{case['id']}/events")
    assert response.status_code == 200
    events = response.get_json()
    assert [e["type"] for e in events] == ["instance_started", "task_claimed", "task_completed", "gateway_taken"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert all(e["actor"] == "Service" and e["at"].endswith("+00:00") for e in events)
    completed = events[2]
    assert completed["task_id"] == task_id and completed["element_id"] == "check_validity"
    assert completed["data"]["submitted"]["valid"] is True
    assert completed["data"]["changes"]["valid"] == {"from": None, "to": True}
    assert events[3]["data"]["target"] == "grade_complaint"


def test_instance_completes_and_reports_its_end(service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/complete", {"data": {"valid": False}})
    reply = open_task(service, case["id"], "reply_invalid")
    response = service.post(f"/tasks/{reply['id']}/complete", {"data": {"reply_content": "Sorry, but no."}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "completed" and body["end"] == "end_invalid" and body["tasks"] == []
    assert service.get(f"/instances/{case['id']}/events").get_json()[-1]["type"] == "instance_completed"


# -- errors are JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/v1/no/such/endpoint"),
    ("DELETE", "/api/v1/processes"),
    ("GET", "/api/v1/instances/not-a-number"),
])
def test_http_errors_under_the_api_are_json(service, method, path):
    response = service.client.open(path, method=method, headers=service.headers)
    assert response.status_code in (404, 405)
    assert message(response)


def test_an_api_start_answers_from_its_step_without_reading_the_case_back_or_deserializing_it(database, service,
                                                                                              complaint_data):
    """The start step builds its workflow fresh and its view is the answer: the one workflow it has is never
    deserialized, nor the case read back after the commit; the answer says what reading the case says."""
    with counting(database.engine) as count:
        case = start(service, complaint_data)
    assert [t["element_id"] for t in case["tasks"]] == ["check_validity"]
    assert (count.row_reads, count.loads) == (0, 0), count.statements
    stored = service.get(f"/instances/{case['id']}").get_json()
    assert case == {key: stored[key] for key in ("id", "number", "status", "tasks")}


def test_an_api_completion_reads_its_task_once_and_deserializes_the_workflow_once(database, service, case):
    with counting(database.engine) as count:
        response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete",
                                {"data": {"valid": True, "validity_note": "batch problem"}})
    assert response.status_code == 200
    assert [t["element_id"] for t in response.get_json()["tasks"]] == ["grade_complaint"]
    assert (count.row_reads, count.loads) == (1, 1), count.statements


def test_an_api_completion_the_form_refuses_writes_nothing_and_reads_once(database, service, case):
    with counting(database.engine) as count:
        response = service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"validity_note": "no verdict"}})
    assert response.status_code == 400 and "valid" in response.get_json()["errors"]
    assert (count.row_reads, count.loads) == (1, 1), count.statements
    assert not [s for s in count.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE instances"))]
