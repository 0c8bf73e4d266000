"""The API's contract: its OpenAPI document lists every route with its methods and is valid OpenAPI 3; every error
answer, whatever its status, carries a stable code, its params and a text in the caller's language; a request body
off its schema is refused with the fields that are wrong. (Every answer of every API test is also checked against
its schema while testing: web/openapi.py's check_answer.)"""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from conftest import PASSWORD
from sandboxing import scripted, start_scripted
from test_database_outage import down  # the fixture: an app whose database cannot be reached
from web.errors import CATALOG
from web.openapi import api_rules

STANDARD_KEY = "complaint_standard"


def coded(response, status: int, code: str) -> dict:
    """The error answer, after checking its status, its code and that it has a text and params."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["code"] == code and isinstance(body["params"], dict) and body["error"].strip(), body
    return body


@pytest.fixture()
def service(acme, api):
    return api(acme.email("service"))


@pytest.fixture()
def case(service, complaint_data):
    response = service.post(f"/processes/{STANDARD_KEY}/instances", {"data": complaint_data})
    assert response.status_code == 201
    return response.get_json()


# -- the document -------------------------------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document_with_its_methods(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    rules = api_rules(app)
    assert len(rules) >= 12
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in paths, rule.rule
        assert {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}} <= set(paths[path]), rule.rule


def test_the_openapi_document_is_valid_openapi_3(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_error_codes_in_the_document_are_all_in_the_catalog(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    codes = {code for operations in paths.values() for operation in operations.values()
             for response in operation["responses"].values() for code in response.get("x-codes", ())}
    assert {"bad_token", "invalid_body", "held_by", "process_error", "no_such_case"} <= codes <= set(CATALOG)


def test_the_docs_page_lists_every_operation_and_error_code_without_a_token(app):
    response = app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page  # the page's Content-Security-Policy runs no inline script
    assert "POST /api/v1/tasks/{task_id}/complete" in page and 'id="code-held_by"' in page
    assert all(f'id="code-{code}"' in page for code in CATALOG)


def test_the_docs_page_is_in_the_language_asked_for(app):
    page = app.test_client().get("/api/v1/docs", headers={"Accept-Language": "zh-Hant"}).get_data(as_text=True)
    assert "錯誤代碼" in page and "此任務" in page


# -- errors carry a code ------------------------------------------------------------------------------


def test_broken_json_gets_400_invalid_body_naming_the_shape(app):
    response = app.test_client().post("/api/v1/auth/token", data="{not json", content_type="application/json")
    body = coded(response, 400, "invalid_body")
    assert "email" in body["params"]["shape"] and body["errors"]


def test_a_body_off_its_schema_gets_400_with_an_error_per_field(app):
    response = app.test_client().post("/api/v1/auth/token", json={"email": 42})
    body = coded(response, 400, "invalid_body")
    assert set(body["errors"]) == {"email", "password"} and all(body["errors"].values())


def test_a_data_that_is_not_an_object_gets_400_naming_data(service, case):
    body = coded(service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": ["valid"]}), 400, "invalid_body")
    assert set(body["errors"]) == {"data"}


def test_a_refused_form_gets_400_with_code_and_errors(service, case):
    body = coded(service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"smuggled": 1}}), 400,
                 "task_refused")
    assert set(body["errors"]) == {"valid", "smuggled"}


def test_a_query_off_its_schema_gets_400_invalid_query(service):
    body = coded(service.get("/tasks?scope=everything"), 400, "invalid_query")
    assert body["params"] == {"fields": "scope"} and set(body["errors"]) == {"scope"}


def test_401_carries_bad_token(app):
    coded(app.test_client().get("/api/v1/tasks"), 401, "bad_token")


def test_wrong_password_carries_wrong_credentials(acme, app):
    response = app.test_client().post("/api/v1/auth/token", json={"email": acme.email("service"), "password": "no"})
    coded(response, 401, "wrong_credentials")


def test_403_for_a_role_names_the_role(acme, api):
    body = coded(api(acme.email("auditor")).get("/tasks"), 403, "role_not_allowed")
    assert body["params"] == {"role": "auditor"}


def test_403_for_a_task_of_other_groups_carries_not_offered(acme, api, case):
    coded(api(acme.email("handler")).post(f"/tasks/{case['tasks'][0]['id']}/claim"), 403, "not_offered")


@pytest.mark.parametrize("path,code", [("/no/such/endpoint", "not_found"), ("/instances/999999", "no_such_case"),
                                       ("/instances/999999/events", "no_such_case")])
def test_404_carries_a_code(service, path, code):
    coded(service.get(path), 404, code)


def test_405_carries_method_not_allowed(service):
    coded(service.client.delete("/api/v1/processes", headers=service.headers), 405, "method_not_allowed")


def test_409_carries_the_engine_code_and_its_params(acme, api, service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    body = coded(api(acme.email("service2")).post(f"/tasks/{task_id}/claim"), 409, "held_by")
    assert body["params"] == {"name": "Service"} and body["error"] == "This task is held by Service."


def test_413_carries_too_large(acme, api):
    owner = api(acme.email("owner"))
    response = owner.post("/processes", data=b"x" * (5 * 1024 * 1024), content_type="application/xml")
    coded(response, 413, "too_large")


def test_415_of_a_page_taking_forms_carries_a_code_too(acme, login):
    page = login(acme.email("service"))
    response = page.client.post("/complaints/new", json={"customer_name": "x"}, headers={"X-CSRFToken": page.csrf("/")})
    coded(response, 415, "unsupported_media_type")


def test_422_carries_process_error_with_the_diagram_s_words(database, engine, acme, api):
    _, task_id = start_scripted(database, engine, acme, scripted("raise ValueError('no')"), False)
    body = coded(api(acme.email("quality")).post(f"/tasks/{task_id}/complete", {"data": {"amount": 10}}), 422,
                 "process_error")
    assert "(compute)" in body["error"] and body["params"]["error"] == body["error"]


def test_429_carries_too_many_sign_ins_and_when(acme, app):
    client = app.test_client()
    for _ in range(10):
        client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": "wrong"})
    response = client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": PASSWORD})
    body = coded(response, 429, "too_many_sign_ins")
    assert body["params"]["retry_after"] == body["retry_after"] == int(response.headers["Retry-After"])


def test_503_carries_unavailable(down):  # the fixture imported above
    response = down.test_client().get("/api/v1/tasks", headers={"Authorization": "Bearer some-token"})
    coded(response, 503, "unavailable")


# -- texts in the caller's language -------------------------------------------------------------------


@pytest.mark.parametrize("language,text", [("zh-Hans", "此任务已由Service认领。"),
                                           ("zh-Hant", "此任務已由Service認領。"),
                                           ("zh-CN,zh;q=0.9,en;q=0.8", "此任务已由Service认领。"),
                                           ("zh-TW", "此任務已由Service認領。"),
                                           ("fr-FR, en;q=0.5", "This task is held by Service."),
                                           (None, "This task is held by Service.")])
def test_api_errors_speak_the_accept_language(acme, api, service, case, language, text):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    other = api(acme.email("service2"))
    headers = {**other.headers, **({"Accept-Language": language} if language else {})}
    response = other.client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers)
    assert text in coded(response, 409, "held_by")["error"]


def test_pages_show_the_same_catalog_text_translated(acme, login, service, case):
    task_id = case["tasks"][0]["id"]
    service.post(f"/tasks/{task_id}/claim")
    page = login(acme.email("service2"))  # Simplified Chinese, the default
    response = page.post(f"/tasks/{task_id}/claim", token_from="/")
    assert response.status_code == 303
    assert "此任务已由Service认领。" in page.get(response.headers["Location"]).get_data(as_text=True)
