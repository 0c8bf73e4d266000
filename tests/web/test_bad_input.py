"""Bad input gets a 4xx a person can act on, never a 5xx: ids no column can hold, whole-number arguments out of
range, JSON that cannot be parsed or is nested too deep, and JSON posted to pages that take forms."""
from __future__ import annotations

import json
import re

import pytest

from app import create_app
from conftest import COMPLAINT, PASSWORD, STANDARD
from web.inputs import INT_MAX, nesting_depth

BEYOND = {"beyond-64-bits": str(2**63), "beyond-postgresql-integer": str(INT_MAX + 1), "5000-digits": "9" * 5000}
PLACEHOLDER = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
DEEP = "[" * 10_000 + "]" * 10_000


def filled(rule: str, number: int | str) -> str:
    """The rule's path with `number` for every int and a harmless word for every other variable."""
    return PLACEHOLDER.sub(lambda m: str(number) if m.group(1) == "int" else "complaint_standard", rule)


def int_rules(app) -> list[tuple[str, str]]:
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules() if "int:" in rule.rule
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


# Every endpoint that reads a JSON body: the API's and the modeler's, the decision editor's and the test runs'.
READS_JSON = ["api.complete", "api.start", "api.token", "decisions.publish_json", "procedures.check_json",
              "procedures.publish_json", "procedures.save_draft", "test_runs.start"]


@pytest.fixture()
def admin(acme, login):
    """An admin may use every page and endpoint, so a refusal is about the input, not the role."""
    return login(acme.email("admin"))


@pytest.fixture()
def token(acme, app) -> str:
    answer = app.test_client().post("/api/v1/auth/token", json={"email": acme.email("admin"), "password": PASSWORD})
    return answer.get_json()["token"]


# -- ids and numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
def test_an_id_beyond_64_bits_is_not_found_on_every_int_route(app, admin, token, number: str):
    rules = int_rules(app)
    assert len(rules) > 20, "the URL map should have its int routes"
    for rule, method in rules:
        path = filled(rule, number)
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        response = admin.client.open(path, method=method, headers=headers,
                                     data={"csrf_token": admin.csrf("/")} if method == "POST" else None)
        assert response.status_code == 404, f"{method} {rule}: {response.status_code}"
        assert response.is_json == path.startswith("/api/"), f"{method} {rule}: the API answers JSON, pages HTML"


def test_the_largest_id_a_column_holds_is_still_looked_up(admin):
    assert admin.get(f"/complaints/{INT_MAX}").status_code == 404
    assert admin.get("/complaints/1").status_code == 404  # an ordinary missing id, for comparison


@pytest.mark.parametrize("page", [str(2**63), str(2**64), "-5", "0", "abc", "9" * 5000, "", "1.5"])
def test_any_page_number_shows_a_page_of_the_list(admin, page):
    response = admin.get("/complaints/", query_string={"page": page})
    assert response.status_code == 200
    newer = re.search(r'page=(\d+)">←', response.get_data(as_text=True))
    assert newer is None or int(newer.group(1)) < INT_MAX, "a page past the end links to the last possible page"


@pytest.fixture()
def complaint(acme, api) -> dict:
    return api(acme.email("service")).post("/processes/complaint_standard/instances", {"data": COMPLAINT}).get_json()


@pytest.mark.parametrize("number", [str(2**63), "-1", "9" * 5000, "²"])
def test_whole_numbers_in_query_strings_and_forms_are_clamped_or_ignored(admin, complaint, number):
    case = complaint["id"]
    assert admin.get(f"/complaints/{case}/replay", query_string={"step": number}).status_code == 200
    assert admin.get("/audit/", query_string={"version": number}).status_code == 200
    assert admin.get("/procedures/complaint_standard/diff", query_string={"to": number}).status_code in (200, 404)
    assert admin.get("/procedures/complaint_standard/migrate", query_string={"to": number}).status_code in (200, 404)
    assert admin.post("/procedures/complaint_standard/migrate", {"instance": [number, str(case)]},
                      token_from="/").status_code == 200
    rewind = admin.post(f"/complaints/{case}/corrections/rewind", {"to_seq": number, "reason": "test"},
                        token_from="/")
    assert 400 <= rewind.status_code < 500


# -- JSON ---------------------------------------------------------------------------------------------------------


def post_json(app, admin, token, endpoint: str, body: str):
    path = filled(next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint), 1)
    headers = {"X-CSRFToken": admin.csrf("/"), "Authorization": f"Bearer {token}"}
    return admin.client.post(path, data=body, content_type="application/json", headers=headers)


def test_every_page_that_reads_json_is_marked_and_so_is_the_api(app):
    marked = {name for name, view in app.view_functions.items() if getattr(view, "takes_json", False)}
    assert marked == {name for name in READS_JSON if not name.startswith("api.")}
    assert app.blueprints["api"].takes_json


@pytest.mark.parametrize("body", [DEEP, '{"data": ' + DEEP + "}", '{"xml": "x", "note": ' + "[" * 100_000 + "}"],
                         ids=["array", "in-an-object", "unclosed-100000"])
def test_json_nested_ten_thousand_deep_is_refused_with_400(app, admin, token, body):
    for endpoint in READS_JSON:
        response = post_json(app, admin, token, endpoint, body)
        assert response.status_code == 400, f"{endpoint}: {response.status_code}"
        answer = response.get_json()
        assert isinstance(answer.get("message") or answer.get("error"), str), f"{endpoint}: {answer}"


@pytest.mark.parametrize("body", ["{not json", "", "\xff", '{"data": ', "[1, 2"], ids=["broken", "empty", "not-utf8",
                                                                                   "unfinished", "list"])
def test_unparseable_json_is_refused_with_400_saying_what_to_send(app, admin, token, body):
    for endpoint in READS_JSON:
        response = post_json(app, admin, token, endpoint, body)
        assert response.status_code == 400, f"{endpoint}: {response.status_code}"
        answer = response.get_json()
        assert "JSON" in (answer.get("message") or answer.get("error")), f"{endpoint}: {answer}"


def test_json_within_the_depth_limit_is_read(admin):
    note = "[" * 60 + "]" * 60
    response = admin.client.post("/procedures/publish.json", json={"xml": STANDARD.read_text(), "note": note},
                                 headers={"X-CSRFToken": admin.csrf("/")})
    assert response.status_code == 201, response.get_json()


def test_the_depth_limit_is_configurable_and_counts_no_bracket_inside_a_string():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "JSON_MAX_DEPTH": 3})
    assert app.json.loads('[["[[[[[[[[", {"a": "}}}{{{{"}]]') == [["[[[[[[[[", {"a": "}}}{{{{"}]]
    with pytest.raises(ValueError, match="deeper than 3"):
        app.json.loads("[[[[]]]]")
    assert nesting_depth(r'{"a": "\"[[[", "b": [{}]}') == 3


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy"], ids=["nul", "lone-high-surrogate", "lone-low"])
def test_json_strings_no_database_can_store_are_refused_with_400(app, admin, token, text):
    body = json.dumps({"email": text, "password": text, "xml": text, "note": text, "data": {"customer_name": text}})
    for endpoint in READS_JSON:
        assert post_json(app, admin, token, endpoint, body).status_code == 400, endpoint


@pytest.mark.parametrize("where", ["path", "query", "form"])
def test_a_nul_character_in_a_path_query_or_form_is_refused_with_400(acme, admin, token, complaint_data, where):
    if where == "path":
        response = admin.client.post("/api/v1/tasks/a%00b/claim", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 400 and "NUL" in response.get_json()["message"]
    elif where == "query":
        assert admin.get("/audit/", query_string={"procedure": "a\x00b"}).status_code == 400
    else:
        assert admin.post("/complaints/new", {**complaint_data, "customer_name": "a\x00b"},
                          token_from="/").status_code == 400


def test_the_api_takes_a_json_body_even_where_it_needs_none(admin, token):
    response = admin.client.post("/api/v1/tasks/no-such-task/claim", json={},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


def test_json_posted_to_a_page_that_takes_forms_is_refused_with_415(admin):
    for body in ("true", "[[1]]", '{"customer_name": {"nested": 1}}'):
        response = admin.client.post("/complaints/new", data=body, content_type="application/json",
                                     headers={"X-CSRFToken": admin.csrf("/")})
        assert response.status_code == 415
        assert "form" in response.get_json()["message"]
