"""Forms that come round again, in a real browser: the countermeasure plan after the quality lead rejects it, and
the plan and its implementation after the customer, called back, is not satisfied. Each shows what was entered in
the earlier round, the dates in their date inputs, and takes the changes."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import GRADING

from .conftest import ARTIFACTS, goto, sign_in, submit
from .test_complaint_journey import claim, do_task, fill_task, register_complaint

pytestmark = pytest.mark.e2e

ANALYSIS = {"root_cause": "包装密封不良导致吸潮", "customer_caused": False, "site_visit": False}
PLAN = {"countermeasures": "更换三桶", "preventive_actions": "改用双层内袋", "planned_completion": "2026-03-31"}
IMPLEMENTATION = {"implementation_note": "已换货", "completed_on": "2026-04-02"}


def reopen_task(page: Page, number: str, element_id: str, shown: dict[str, object]) -> None:
    """Open a task that comes round again and check its form shows `shown`: text and dates as values, a yes/no
    answer checked."""
    claim(page, number, element_id)
    form = page.locator("form.taskform")
    for name, value in shown.items():
        if isinstance(value, bool):
            expect(form.locator(f"input[name={name}][value={'true' if value else 'false'}]")).to_be_checked()
        else:
            expect(form.locator(f"[name={name}]")).to_have_value(str(value))


def finish(page: Page) -> None:
    submit(page, "form.taskform button[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()


def approvals(page: Page, acme, number: str) -> None:
    sign_in(page, acme.email("quality"))
    do_task(page, number, "approve_quality", {"approved": True})
    sign_in(page, acme.email("manager"))
    do_task(page, number, "approve_manager", {"approved": True})


def test_plan_and_implementation_coming_round_again_show_what_was_entered_before(page, acme, complaint_data):
    sign_in(page, acme.email("service"))
    register_complaint(page, complaint_data)
    number = page.locator(".pagehead h1 .number").inner_text().strip()
    complaint_url = page.url
    do_task(page, number, "check_validity", {"valid": True})
    sign_in(page, acme.email("quality"))
    do_task(page, number, "grade_complaint", GRADING)
    do_task(page, number, "assign", {"handling_department": "Handling Department",
                                     "responsible_person": acme.email("handler")})
    sign_in(page, acme.email("handler"))
    do_task(page, number, "analyse_cause", ANALYSIS)
    do_task(page, number, "plan", PLAN)
    sign_in(page, acme.email("quality"))
    do_task(page, number, "approve_quality", {"approved": False, "approval_comment": "完成日期太晚"})

    sign_in(page, acme.email("handler"))
    reopen_task(page, number, "plan", PLAN)
    expect(page.locator("form.taskform input[name=planned_completion]")).to_have_attribute("type", "date")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-after-rejection.png"), full_page=True)
    fill_task(page, {"planned_completion": "2026-03-27"})
    finish(page)
    approvals(page, acme, number)
    sign_in(page, acme.email("handler"))
    do_task(page, number, "implement", IMPLEMENTATION)
    sign_in(page, acme.email("quality"))
    do_task(page, number, "verify", {"effective": True, "verification_note": "新批次无结块"})
    sign_in(page, acme.email("service"))
    do_task(page, number, "callback", {"callback_reached": True, "satisfied": False, "callback_note": "仍有异味"})

    sign_in(page, acme.email("handler"))
    reopen_task(page, number, "analyse_cause", ANALYSIS)
    finish(page)
    reopen_task(page, number, "plan", {**PLAN, "planned_completion": "2026-03-27"})
    finish(page)
    approvals(page, acme, number)
    sign_in(page, acme.email("handler"))
    reopen_task(page, number, "implement", IMPLEMENTATION)
    page.screenshot(path=str(ARTIFACTS / "implementation-after-reopen.png"), full_page=True)
    fill_task(page, {"completed_on": "2026-04-08", "implementation_note": "再次换货并除味"})
    finish(page)
    sign_in(page, acme.email("quality"))
    do_task(page, number, "verify", {"effective": True, "verification_note": "无异味"})
    sign_in(page, acme.email("service"))
    do_task(page, number, "callback", {"callback_reached": True, "satisfied": True})

    goto(page, complaint_url)
    expect(page.locator(".pagehead .badge.status-completed")).to_be_visible()
    history = page.locator("table.history").inner_text()
    for entered in ("2026-03-31", "2026-03-27", "2026-04-02", "2026-04-08"):
        assert entered in history
