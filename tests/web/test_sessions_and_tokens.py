"""Sessions and API tokens end: signing out, a password change, inactivity and revocation refuse a replayed cookie
or token; sign-in guessing meets 429; unknown e-mails cost the same as known ones; every answer carries the
security headers."""
from __future__ import annotations

from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from accounts import models, provisioning as accounts
from accounts.models import ApiToken, User, UserSession
from app import create_app
from conftest import PASSWORD, Browser
from db import utcnow
from web.security import CONTENT_SECURITY_POLICY

NEW_PASSWORD = "a-brand-new-passphrase"


def replayed(app, browser: Browser) -> Browser:
    """A second browser carrying a copy of `browser`'s session cookie, as a thief would."""
    thief = Browser(app.test_client())
    thief.client.set_cookie("session", browser.client.get_cookie("session").value)
    return thief


def signed_in(browser: Browser) -> bool:
    response = browser.get("/")
    return response.status_code == 200 and 'action="/logout"' in response.get_data(as_text=True)


def live_sessions(database, user_id: int) -> int:
    with database.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(UserSession)
                        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None)))


# -- sessions -------------------------------------------------------------------------------------------------

def test_a_session_cookie_replayed_after_logout_is_refused(app, acme, login):
    browser = login(acme.email("service"))
    thief = replayed(app, browser)
    assert signed_in(thief)
    assert browser.post("/logout", token_from="/").status_code == 302
    assert not signed_in(thief)
    assert thief.get("/").headers["Location"].startswith("/login")


def test_a_session_left_idle_longer_than_the_limit_ends(app, acme, login, database, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", timedelta(hours=8))
    browser = login(acme.email("service"))
    with database.session() as s:
        s.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=7, minutes=59)))
    assert signed_in(browser)  # and the request moved last_seen_at on
    with database.session() as s:
        assert s.scalar(sa.select(UserSession.last_seen_at)) > utcnow() - timedelta(minutes=1)
        s.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=8, minutes=1)))
    assert not signed_in(browser)


def test_a_deactivated_user_is_signed_out_at_the_next_request(acme, login, database):
    browser = login(acme.email("service"))
    with database.session() as s:
        s.get(User, acme.users["service"].id).active = False
    assert not signed_in(browser)


def test_a_password_change_signs_out_the_other_sessions_but_not_this_one(app, acme, login, database):
    laptop, phone = login(acme.email("service")), login(acme.email("service"))
    thief = replayed(app, phone)
    response = laptop.post("/account/password", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                           token_from="/account/")
    assert response.status_code == 303
    assert "其他 1 个会话已退出" in laptop.get("/account/").get_data(as_text=True)
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(thief)
    assert live_sessions(database, acme.users["service"].id) == 1
    assert Browser(app.test_client()).login(acme.email("service"), NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("data, message", [
    ({"current": "not-my-password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "不是您当前的密码"),
    ({"current": PASSWORD, "new": "short", "confirm": "short"}, "8"),
    ({"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "两次输入的新密码不一致"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(acme, login, database, data, message):
    laptop, phone = login(acme.email("service")), login(acme.email("service"))
    response = laptop.post("/account/password", data, token_from="/account/")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert signed_in(phone)
    with database.session() as s:
        assert s.get(User, acme.users["service"].id).check_password(PASSWORD)


def test_the_account_page_lists_my_sessions_and_signs_out_another(app, acme, login, database):
    laptop, phone = login(acme.email("service")), login(acme.email("service"))
    login(acme.email("service2"))  # someone else's session is not listed
    page = laptop.get("/account/").get_data(as_text=True)
    assert page.count("data-session=") == 2 and "此浏览器" in page
    with database.session() as s:
        ids = s.scalars(sa.select(UserSession.id).where(UserSession.user_id == acme.users["service"].id)
                        .order_by(UserSession.id)).all()
    assert laptop.post(f"/account/sessions/{ids[1]}/end", token_from="/account/").status_code == 303
    assert signed_in(laptop) and not signed_in(phone)
    assert laptop.post(f"/account/sessions/{ids[1]}/end", token_from="/account/").status_code == 404


def test_sign_out_all_other_sessions_keeps_this_one(acme, login, database):
    browsers = [login(acme.email("service")) for _ in range(3)]
    assert browsers[0].post("/account/sessions/end-others", token_from="/account/").status_code == 303
    assert [signed_in(b) for b in browsers] == [True, False, False]


# -- API tokens -----------------------------------------------------------------------------------------------

def token_for(app, email: str, **extra) -> str:
    response = app.test_client().post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_api_token_expires_after_its_lifetime(app, acme, database):
    token = token_for(app, acme.email("service"))
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    with database.session() as s:
        expires = s.scalar(sa.select(ApiToken.expires_at))
        assert timedelta(days=29, hours=23) < expires - utcnow() <= timedelta(days=30)
        s.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_delete_auth_token_revokes_the_calling_token_only(app, acme):
    first, second = token_for(app, acme.email("service")), token_for(app, acme.email("service"))
    client = app.test_client()
    assert client.delete("/api/v1/auth/token", headers=bearer(first)).status_code == 204
    refused = client.get("/api/v1/tasks", headers=bearer(first))
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]
    assert client.delete("/api/v1/auth/token", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/tasks", headers=bearer(second)).status_code == 200


def test_the_account_page_creates_a_named_token_shown_once_and_revokes_it(app, acme, login, database):
    browser = login(acme.email("service"))
    token_for(app, acme.email("service"), name="ERP 对接")
    page = browser.post("/account/tokens", {"name": "质量看板"}, token_from="/account/").get_data(as_text=True)
    shown = page.split("data-new-token>")[1].split("<")[0]
    assert app.test_client().get("/api/v1/tasks", headers=bearer(shown)).status_code == 200
    listing = browser.get("/account/").get_data(as_text=True)
    assert "ERP 对接" in listing and "质量看板" in listing and shown not in listing
    with database.session() as s:
        token_id = s.scalar(sa.select(ApiToken.id).where(ApiToken.name == "质量看板"))
    assert browser.post(f"/account/tokens/{token_id}/revoke", token_from="/account/").status_code == 303
    assert app.test_client().get("/api/v1/tasks", headers=bearer(shown)).status_code == 401
    assert "已吊销" in browser.get("/account/").get_data(as_text=True)


def test_nobody_revokes_another_user_s_token_or_session(app, acme, login, database):
    token_for(app, acme.email("service2"))
    login(acme.email("service2"))
    with database.session() as s:
        token_id, session_id = s.scalar(sa.select(ApiToken.id)), s.scalar(sa.select(UserSession.id))
    browser = login(acme.email("service"))
    assert browser.post(f"/account/tokens/{token_id}/revoke", token_from="/account/").status_code == 404
    assert browser.post(f"/account/sessions/{session_id}/end", token_from="/account/").status_code == 404
    assert live_sessions(database, acme.users["service2"].id) == 1


# -- guessing -------------------------------------------------------------------------------------------------

def wrong_login(browser: Browser, email: str):
    return browser.login(email, "not-the-password")


def test_ten_failed_sign_ins_meet_429_saying_when_to_try_again_even_with_the_right_password(acme, browser):
    answers = [wrong_login(browser, acme.email("service")).status_code for _ in range(10)]
    assert answers == [200] * 10
    refused = browser.login(acme.email("service"))
    assert refused.status_code == 429
    assert "登录失败次数过多，请于" in refused.get_data(as_text=True)


def test_the_api_counts_failures_with_the_page_and_answers_429_with_retry_after(app, acme, browser):
    for _ in range(10):
        wrong_login(browser, acme.email("service"))
    response = app.test_client().post("/api/v1/auth/token", json={"email": acme.email("service"),
                                                                   "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert response.get_json()["retry_after"] == int(response.headers["Retry-After"])


def test_a_successful_sign_in_clears_the_account_s_count(acme, browser):
    for _ in range(9):
        wrong_login(browser, acme.email("service"))
    assert browser.login(acme.email("service")).status_code == 302
    browser.client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # this address has its own count
    assert [wrong_login(browser, acme.email("service")).status_code for _ in range(11)] == [200] * 10 + [429]


def test_failures_from_one_address_over_many_accounts_are_limited_too(acme, browser):
    emails = [f"guess{n}@acme.test" for n in range(10)]
    assert [wrong_login(browser, email).status_code for email in emails] == [200] * 10
    assert browser.login(acme.email("service")).status_code == 429


def test_failures_are_counted_in_redis_across_processes_when_it_is_configured(acme, database, monkeypatch):
    url = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(url).flushdb()
    config = {"TESTING": True, "DATABASE_URL": database.url, "SECRET_KEY": "test-only-secret", "REDIS_URL": url}
    first, second = create_app(config), create_app(config)
    try:
        for _ in range(10):
            wrong_login(Browser(first.test_client()), acme.email("service"))
        assert Browser(second.test_client()).login(acme.email("service")).status_code == 429
    finally:
        redis.Redis.from_url(url).flushdb()
        for app in (first, second):
            app.extensions["kesu.db"].dispose()


def test_an_unknown_e_mail_is_answered_like_a_wrong_password_after_the_same_hashing(acme, browser, monkeypatch,
                                                                                    real_password_hashing):
    accounts._dummy_hash.cache_clear()  # made with this test's (production) hashing
    checked: list[str] = []
    real_check = models.check_password_hash

    def counted_check(hashed: str, password: str) -> bool:
        checked.append(hashed)
        return real_check(hashed, password)

    monkeypatch.setattr(models, "check_password_hash", counted_check)
    known = wrong_login(browser, acme.email("service")).get_data(as_text=True)
    unknown = wrong_login(browser, "nobody@acme.test").get_data(as_text=True)
    assert "电子邮件或密码错误" in known and "电子邮件或密码错误" in unknown
    method = lambda hashed: hashed.split("$")[0]  # noqa: E731 - e.g. scrypt:32768:8:1
    assert len(checked) == 2 and method(checked[1]) == method(checked[0])
    assert checked[1] == accounts._dummy_hash()
    accounts._dummy_hash.cache_clear()


# -- headers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/api/v1/processes", "/static/kesu.css", "/no-such-page"])
def test_every_answer_carries_the_security_headers(browser, path):
    response = browser.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert (response.headers["X-Frame-Options"], response.headers["X-Content-Type-Options"],
            response.headers["Referrer-Policy"]) == ("DENY", "nosniff", "same-origin")
    assert "Strict-Transport-Security" not in response.headers  # development serves plain HTTP


def test_production_adds_hsts_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("KESU_ENV", "production")
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "a-real-secret-from-the-environment"})
    response = app.test_client().get("/static/kesu.css")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_no_page_carries_an_inline_script(acme, login):
    browser = login(acme.email("admin"))
    for path in ("/", "/complaints/", "/account/", "/procedures/", "/audit/"):
        page = browser.get(path).get_data(as_text=True)
        scripts = [tag for tag in page.split("<script")[1:] if 'type="application/json"' not in tag.split(">")[0]]
        assert all(" src=" in tag.split(">")[0] for tag in scripts), path
        assert " onclick=" not in page and " onload=" not in page and "javascript:" not in page, path
