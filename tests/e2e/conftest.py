"""Browser fixtures: the session's app served on a real port, headless Debian Chromium, one fresh
context per test, sign-in through the real login form, and a screenshot of every failed test."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser as ChromiumBrowser,
    Error as PlaywrightError,
    Locator,
    Page,
    expect,
    sync_playwright,
)
from werkzeug.serving import make_server

from conftest import PASSWORD, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
VENDOR = ROOT / "static" / "vendor" / "bpmn-js"
VENDOR_FILES = ("bpmn-navigated-viewer.production.min.js", "assets/bpmn-js.css", "assets/diagram-js.css")
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 900}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The session's app on 127.0.0.1 and a free port, in a daemon thread; yields its base URL."""
    missing = [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]
    if missing:
        pytest.fail(f"bpmn-js is not built ({', '.join(missing)} missing under {VENDOR}): run `make setup`",
                    pytrace=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kesu-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[ChromiumBrowser]:
    """One headless Debian Chromium for the whole session (Playwright cannot download its own here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make test` does it)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _artifact_name(nodeid: str) -> str:
    """A file name for a test's failure screenshot."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150] + ".png"


@pytest.fixture()
def page(request, chromium, live_server, database) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test; on failure its screen goes to test-artifacts/.

    Depends on `database` so the context closes before the tables are emptied."""
    context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="zh-CN",
                                   timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked: Chromium reports it on the console
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    reports = (getattr(request.node, f"report_{when}", None) for when in ("setup", "call"))
    failed = any(report is not None and report.failed for report in reports)
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / _artifact_name(request.node.nodeid)), full_page=True)
        except (PlaywrightError, OSError) as problem:  # the page may be gone; the test's own error matters more
            print(f"could not save a failure screenshot: {problem}")
    context.close()
    if refused and not failed:
        pytest.fail("the page broke its Content-Security-Policy:\n" + "\n".join(refused), pytrace=False)


@pytest.fixture()
def js_errors(page) -> list[str]:
    """Uncaught JavaScript errors of the page, collected while the test runs."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


class ServerError(AssertionError):
    """A page answered 5xx: the app crashed (a known crash can be marked xfail(raises=ServerError))."""


def check_response(response) -> None:
    """Raise ServerError if a page load ended in a server error."""
    if response is not None and response.status >= 500:
        raise ServerError(f"{response.request.method} {response.url} answered {response.status}")


def goto(page: Page, path: str) -> None:
    """Open a page, failing with ServerError if the app crashed on it."""
    check_response(page.goto(path))


def submit(page: Page, button: str | Locator) -> None:
    """Press a submit button and wait for the page it leads to (after redirects); ServerError on 5xx."""
    with page.expect_navigation() as navigation:
        (page.locator(button) if isinstance(button, str) else button).click()
    check_response(navigation.value)


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form (signing out first if someone is signed in)."""
    sign_out(page)
    if not page.locator("section.login").count():
        goto(page, "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    submit(page, "section.login form button[type=submit]")
    expect(page.locator("header .who")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/login"))


def sign_out(page: Page) -> None:
    """Press the header's sign-out button, if the page shows one."""
    if page.locator("header form[action$='/logout'] button").count():
        submit(page, "header form[action$='/logout'] button")
        expect(page.locator("#email")).to_be_visible()
