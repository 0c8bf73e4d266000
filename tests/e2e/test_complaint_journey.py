"""A complaint's whole life through the real pages, one signed-in person after another, in the
default Chinese UI (elements are found by id, name and CSS, never by English text)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from complaints.models import Complaint
from conftest import GRADING, STANDARD, count

from .conftest import goto, sign_in, submit

pytestmark = pytest.mark.e2e

# Every user task the standard path passes through, in order, and who does it.
STANDARD_PATH = (("check_validity", "service"), ("grade_complaint", "quality"), ("assign", "quality"),
                 ("analyse_cause", "handler"), ("visit_site", "handler"), ("plan", "handler"),
                 ("approve_quality", "quality"), ("approve_manager", "manager"), ("implement", "handler"),
                 ("verify", "quality"), ("callback", "service"))


def chinese_names() -> dict[str, str]:
    """Each element's Simplified Chinese name (its camunda property name:zh_Hans) in the standard diagram."""
    path = ("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements/{http://camunda.org/schema/1.0/bpmn}"
            "properties/{http://camunda.org/schema/1.0/bpmn}property[@name='name:zh_Hans']")
    return {element.get("id"): found.get("value") for element in ET.parse(STANDARD).iter()
            if element.get("id") and (found := element.find(path)) is not None}


def register_complaint(page: Page, data: dict) -> None:
    """Fill the registration form field by field (selects by value) and submit it."""
    goto(page, "/complaints/new")
    for name, value in data.items():
        field = page.locator(f"form.registration [name={name}]")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    submit(page, "form.registration button[type=submit]")


def inbox_row(page: Page, number: str, element_id: str):
    """The inbox row of task `element_id` of complaint `number`."""
    goto(page, "/")
    return page.locator(f"table.inbox tr[data-element={element_id}]").filter(
        has=page.locator("a.number", has_text=number))


def claim(page: Page, number: str, element_id: str) -> None:
    """Claim the task from the inbox, or open it when the procedure gave it to me; then its form is open."""
    row = inbox_row(page, number, element_id)
    expect(row).to_have_count(1)
    if row.locator("form[action$='/claim'] button").count():
        submit(page, row.locator("form[action$='/claim'] button"))
        expect(page.locator(".flash-success")).to_be_visible()
    else:
        row.locator("a.button.primary").click()
    expect(page.locator("form.taskform")).to_be_visible()


def fill_task(page: Page, values: dict[str, object]) -> None:
    """Fill a task form: booleans pick the yes/no radio, selects their option, others are typed."""
    form = page.locator("form.taskform")
    for name, value in values.items():
        if isinstance(value, bool):
            form.locator(f"input[type=radio][name={name}][value={'true' if value else 'false'}]").check()
        elif form.locator(f"select[name={name}]").count():
            form.locator(f"select[name={name}]").select_option(str(value))
        else:
            form.locator(f"[name={name}]").fill(str(value))


def do_task(page: Page, number: str, element_id: str, values: dict[str, object]) -> None:
    """Claim a task from the inbox, fill its form and complete it; the app returns to the inbox."""
    claim(page, number, element_id)
    fill_task(page, values)
    submit(page, "form.taskform button[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("form.taskform")).to_have_count(0)
    expect(page.locator(f"table.inbox tr[data-element={element_id}]")).to_have_count(0)


def test_complaint_runs_the_standard_procedure_from_registration_to_closure(page, acme, complaint_data):
    sign_in(page, acme.email("service"))
    register_complaint(page, complaint_data)
    expect(page.locator(".flash-success")).to_be_visible()
    number = page.locator(".pagehead h1 .number").inner_text().strip()
    period = datetime.now(ZoneInfo(acme.timezone)).strftime("%Y%m")
    assert re.fullmatch(r"\d{6}-\d{4}", number), number
    assert number == f"{period}-0001"
    complaint_url = page.url
    expect(page.locator(".badge.status-running")).to_be_visible()
    expect(page.locator("ul.current li[data-element=check_validity]")).to_be_visible()

    do_task(page, number, "check_validity", {"valid": True, "validity_note": "批次 2603 确有结块"})

    sign_in(page, acme.email("quality"))
    do_task(page, number, "grade_complaint", {**GRADING, "handling_cost": 2_000_000})
    do_task(page, number, "assign",
            {"handling_department": "Handling Department", "responsible_person": "handler@acme.test"})

    sign_in(page, acme.email("handler"))
    do_task(page, number, "analyse_cause", {"root_cause": "包装密封不良导致吸潮", "responsibility": "包装车间",
                                            "customer_caused": False, "site_visit": True})
    do_task(page, number, "visit_site", {"visit_findings": "仓库湿度偏高，三桶结块", "visit_date": "2026-03-20"})
    do_task(page, number, "plan", {"countermeasures": "更换三桶", "preventive_actions": "改用双层内袋",
                                   "planned_completion": "2026-03-31"})

    sign_in(page, acme.email("quality"))
    do_task(page, number, "approve_quality", {"approved": True, "approval_comment": "同意"})

    sign_in(page, acme.email("manager"))
    do_task(page, number, "approve_manager", {"approved": True})

    sign_in(page, acme.email("handler"))
    do_task(page, number, "implement", {"implementation_note": "已换货并更换包装", "completed_on": "2026-03-28"})

    sign_in(page, acme.email("quality"))
    do_task(page, number, "verify", {"effective": True, "verification_note": "新批次无结块"})

    sign_in(page, acme.email("service"))
    do_task(page, number, "callback", {"callback_reached": True, "satisfied": True, "callback_note": "客户满意"})

    goto(page, complaint_url)
    expect(page.locator(".pagehead .badge.status-completed")).to_be_visible()
    expect(page.locator("ul.current li")).to_have_count(0)
    names = chinese_names()
    completed = page.locator("table.history tr.event-task_completed")
    expect(completed).to_have_count(len(STANDARD_PATH))
    for row, (element_id, who) in zip(completed.all(), STANDARD_PATH, strict=True):
        expect(row.locator("td").nth(2)).to_have_text(acme.users[who].name)
        expect(row.locator("td").nth(3)).to_contain_text(names[element_id])
    closed = page.locator("table.history tr.event-instance_completed")
    expect(closed).to_have_count(1)
    expect(closed.locator("td").nth(3)).to_contain_text(names["end_closed"])
    done = set((page.locator("#diagram").get_attribute("data-done") or "").split())
    assert {element_id for element_id, _ in STANDARD_PATH} | {"end_closed"} <= done
    history = page.locator("table.history").inner_text()
    for typed in ("包装密封不良导致吸潮", "仓库湿度偏高，三桶结块", "已换货并更换包装", "客户满意"):
        assert typed in history


def test_registration_without_content_keeps_the_input_and_shows_the_error(page, acme, complaint_data, database):
    sign_in(page, acme.email("service"))
    register_complaint(page, {**complaint_data, "content": ""})

    content = page.locator(".field.has-error").filter(has=page.locator("#content"))
    expect(content).to_have_count(1)
    expect(content.locator("p.error")).not_to_be_empty()
    expect(page.locator(".field.has-error")).to_have_count(1)
    for name, value in complaint_data.items():
        if name != "content":
            expect(page.locator(f"form.registration [name={name}]")).to_have_value(value)
    expect(page).to_have_url(re.compile(r"/complaints/new$"))
    assert count(database, Complaint) == 0


def test_colleague_sees_who_holds_a_claimed_task(page, acme, complaint_data):
    sign_in(page, acme.email("service"))
    register_complaint(page, complaint_data)
    number = page.locator(".pagehead h1 .number").inner_text().strip()
    claim(page, number, "check_validity")

    sign_in(page, acme.email("service2"))
    row = inbox_row(page, number, "check_validity")
    expect(row).to_have_count(1)
    expect(row.locator("td.holder")).to_have_text(acme.users["service"].name)
    expect(row.locator("form[action$='/claim']")).to_have_count(0)
    expect(row.locator("a.button")).to_have_count(0)
