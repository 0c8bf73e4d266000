"""Security properties of the web layer: CSRF on every form, hashed secrets, cookie flags, safe redirects,
API tokens, inactive users, and no default secret in production."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

import config
from accounts import tokens
from accounts.models import ApiToken, Company as CompanyRow, User
from accounts.provisioning import create_user
from app import create_app
from complaints.models import Complaint
from conftest import AUDIT_KEY, PASSWORD, count
from engine.records import Event


def set_active(database, email: str, active: bool) -> None:
    with database.session() as s:
        s.scalar(sa.select(User).where(User.email == email)).active = active


def html_lang(browser) -> str:
    return re.search(r'<html lang="([^"]+)"', browser.get("/").get_data(as_text=True)).group(1)


# -- CSRF ---------------------------------------------------------------------------------------------

# Every HTML form that changes something; {task} is an open task offered to the signed-in user.
FORMS = [
    "/logout",
    "/language/en",
    "/complaints/new",
    "/tasks/{task}/claim",
    "/tasks/{task}/release",
    "/tasks/{task}",
    "/procedures/",
    "/procedures/publish.json",
    "/procedures/check.json",
    "/procedures/complaint_standard/draft.json",
    "/procedures/complaint_standard/test-runs",
    "/procedures/complaint_standard/migrate",
    "/decisions/",
    "/complaints/1/verify",
    "/complaints/1/rerun",
    "/decisions/publish.json",
    "/procedures/test-runs/1/tasks/{task}",
    "/complaints/1/corrections/data",
    "/complaints/1/corrections/retry",
    "/complaints/1/corrections/skip",
    "/complaints/1/corrections/rewind",
    "/admin/calendars/new",
    "/admin/calendars/1",
    "/admin/calendars/1/china",
    "/admin/calendars/1/default",
    "/notifications/read",
    "/account/notifications",
    "/account/password",
    "/account/sessions/1/end",
    "/account/sessions/end-others",
    "/account/tokens",
    "/account/tokens/1/revoke",
    "/sla/new",
    "/sla/1",
    "/sla/1/retire",
    "/sla/escalations/1",
]
BAD_TOKENS = {"missing": None, "garbage": "not-a-token", "forged": "ImFiYyI.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"}


@pytest.fixture()
def signed_in(acme, login, api, complaint_data):
    """service@acme, signed in, with one complaint waiting at a task they hold."""
    service = api(acme.email("service"))
    case = service.post("/processes/complaint_standard/instances", {"data": complaint_data}).get_json()
    service.post(f"/tasks/{case['tasks'][0]['id']}/claim")
    return login(acme.email("service")), case["tasks"][0]["id"]


def snapshot(database, browser) -> tuple:
    """What any of the forms could change: complaints, events, the language, being signed in."""
    return count(database, Complaint), count(database, Event), browser.get("/").status_code, html_lang(browser)


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
@pytest.mark.parametrize("path", FORMS)
def test_forms_refuse_a_missing_or_wrong_csrf_token(database, signed_in, complaint_data, path, token):
    browser, task_id = signed_in
    before = snapshot(database, browser)
    data = {**complaint_data, "valid": "true", "next": "/"}
    if token is not None:
        data["csrf_token"] = token
    response = browser.client.post(path.format(task=task_id), data=data)
    assert response.status_code == 400
    assert snapshot(database, browser) == before


def test_csrf_token_of_another_session_is_refused(database, acme, login, signed_in, complaint_data):
    browser, _ = signed_in
    foreign = login(acme.email("service2")).csrf("/")
    before = count(database, Complaint)
    response = browser.client.post("/complaints/new", data={**complaint_data, "csrf_token": foreign})
    assert response.status_code == 400
    assert count(database, Complaint) == before


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_login_form_refuses_a_missing_or_wrong_csrf_token(acme, browser, token):
    data = {"email": acme.email("service"), "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    assert browser.client.post("/login", data=data).status_code == 400
    assert browser.get("/").status_code == 302


def test_every_html_post_endpoint_is_in_the_csrf_list(app):
    """Adding a form endpoint without adding it to FORMS above fails here."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(path.format(task="t"), method="POST")[0] for path in FORMS} | {"auth.login"}
    posting = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")}
    assert posting - covered == set()


def test_the_api_needs_no_csrf_token_because_it_uses_no_cookies(acme, app):
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": PASSWORD})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


# -- passwords, tokens, cookies -----------------------------------------------------------------------


def test_passwords_are_stored_salted_and_hashed(database, acme, real_password_hashing):
    with database.session() as s:
        company = s.get(CompanyRow, acme.id)
        first = create_user(s, company, "first@acme.test", "employee", PASSWORD)
        second = create_user(s, company, "second@acme.test", "employee", PASSWORD)
        hashes = first.password_hash, second.password_hash
    assert all(PASSWORD not in h for h in hashes)
    assert hashes[0] != hashes[1], "the same password must hash differently (salt)"
    assert all(re.fullmatch(r"(scrypt|pbkdf2)[^$]*\$[^$]+\$[0-9a-f]{32,}", h) for h in hashes), hashes
    assert all(check_password_hash(h, PASSWORD) and not check_password_hash(h, PASSWORD + "x") for h in hashes)


def test_api_tokens_are_stored_only_as_digests(database, acme, app):
    token = app.test_client().post("/api/v1/auth/token", json={"email": acme.email("service"),
                                                               "password": PASSWORD}).get_json()["token"]
    with database.session() as s:
        digests = s.scalars(sa.select(ApiToken.digest)).all()
    assert len(digests) == 1 and token not in digests[0]


def test_session_cookie_is_httponly_and_samesite_lax(acme, browser):
    response = browser.login(acme.email("service"))
    assert response.status_code == 302
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=lax" in flags


def test_production_sends_the_session_cookie_over_https_only(monkeypatch):
    monkeypatch.setenv("KESU_ENV", "production")
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "a-real-secret-from-the-environment",
                      "AUDIT_KEY": AUDIT_KEY})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_app_refuses_to_start_in_production_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("KESU_ENV", "production")
    monkeypatch.delenv("KESU_SECRET_KEY", raising=False)
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)  # as if the process started without it
    with pytest.raises(RuntimeError, match="KESU_SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


# -- redirects after login ----------------------------------------------------------------------------


def lands_on_this_site(location: str) -> bool:
    """Whether a browser following `location` stays here (browsers drop tabs/newlines and read \\ as /)."""
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return not parts.scheme and not parts.netloc and seen.startswith("/")


OFF_SITE = ["https://evil.example/", "//evil.example/", "///evil.example/", "/\\evil.example/",
            "\\\\evil.example/", "javascript:alert(1)", "https:evil.example"]
TAB = pytest.param("/\t/evil.example", id="tab")


@pytest.mark.parametrize("target", [*OFF_SITE, TAB])
def test_login_next_cannot_redirect_off_site(acme, browser, target):
    response = browser.client.post("/login", query_string={"next": target},
                                   data={"email": acme.email("service"), "password": PASSWORD,
                                         "csrf_token": browser.csrf()})
    assert response.status_code == 302
    assert lands_on_this_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", [*OFF_SITE, TAB])
def test_language_switch_next_cannot_redirect_off_site(acme, login, target):
    browser = login(acme.email("service"))
    response = browser.post("/language/en", {"next": target}, token_from="/")
    assert response.status_code == 302
    assert lands_on_this_site(response.headers["Location"]), response.headers["Location"]


def test_login_next_on_this_site_is_followed(acme, browser):
    response = browser.client.post("/login", query_string={"next": "/complaints/?status=running"},
                                   data={"email": acme.email("service"), "password": PASSWORD,
                                         "csrf_token": browser.csrf()})
    assert response.headers["Location"] == "/complaints/?status=running"


def test_login_next_with_a_newline_is_not_a_500(acme, browser):
    response = browser.client.post("/login", query_string={"next": "/\r\n/evil.example"},
                                   data={"email": acme.email("service"), "password": PASSWORD,
                                         "csrf_token": browser.csrf()})
    assert response.status_code == 302 and lands_on_this_site(response.headers["Location"])


def test_wrong_password_does_not_sign_in(acme, browser):
    response = browser.login(acme.email("service"), "not-the-password")
    assert response.status_code == 200
    assert browser.get("/").status_code == 302


# -- API tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer garbage-token", "Basic c2VydmljZTpwYXNz", "garbage"])
def test_api_refuses_requests_without_a_valid_token(acme, app, header):
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert response.is_json and "token" in response.get_json()["error"]


def test_api_refuses_an_expired_token(database, acme, app):
    with database.session() as s:
        token = tokens.issue(s, s.get(User, acme.users["service"].id), timedelta(seconds=-1))
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_api_accepts_a_token_until_it_expires(database, acme, app):
    with database.session() as s:
        token = tokens.issue(s, s.get(User, acme.users["service"].id), timedelta(minutes=5))
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# -- inactive users -----------------------------------------------------------------------------------


def test_inactive_user_cannot_sign_in(database, acme, browser):
    set_active(database, acme.email("service"), False)
    response = browser.login(acme.email("service"))
    assert response.status_code == 200
    assert browser.get("/").status_code == 302


def test_inactive_user_gets_no_api_token(database, acme, app):
    set_active(database, acme.email("service"), False)
    response = app.test_client().post("/api/v1/auth/token", json={"email": acme.email("service"), "password": PASSWORD})
    assert response.status_code == 401


def test_deactivating_a_user_ends_their_session_and_tokens(database, acme, login, api):
    browser, client = login(acme.email("service")), api(acme.email("service"))
    assert browser.get("/").status_code == 200 and client.get("/tasks").status_code == 200
    set_active(database, acme.email("service"), False)
    assert browser.get("/").status_code == 302
    assert client.get("/tasks").status_code == 401
