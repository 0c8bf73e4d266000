"""The deadline journey, through the real pages on a controlled clock: a process owner sets "resolve within
5 working days, warn at 80 %" on a grade, employees see the clock in their inbox, and a complaint left alone over
the Dragon Boat Festival weekend warns, breaches, escalates and mails at exactly the right moments. The worker
pass is the one the embedded thread and the Celery tick run; the mail goes to a real SMTP server."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from conftest import GRADING
from worker.jobs import for_app, run_pass

from .conftest import goto, sign_in, submit
from .test_complaint_journey import do_task, inbox_row, register_complaint

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*moment: int) -> datetime:
    """A Shanghai wall-clock moment as the UTC time the app stores."""
    return datetime(*moment, tzinfo=SHANGHAI).astimezone(UTC)


# Thursday 18 June 2026; Friday 19 to Sunday 21 June is the Dragon Boat Festival holiday.
REGISTERED = shanghai(2026, 6, 18, 10, 0)
# 80 % of the 40 working hours: 6.5 h on Thursday, 8 h each on Monday to Wednesday, 1.5 h on Thursday 25 June.
WARNING = shanghai(2026, 6, 25, 10, 0)
# The 5th working day after the 18th, at the same time: 22, 23, 24, 25, 26 June.
DEADLINE = shanghai(2026, 6, 26, 10, 0)
SECOND = timedelta(seconds=1)


class Clock:
    """The app's clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(app, monkeypatch) -> Clock:
    """The engine's clock, which steps and the pages read, on the moment of registration."""
    fake = Clock(REGISTERED)
    monkeypatch.setattr(app.extensions["kesu.engine"], "clock", fake)
    return fake


def worker_pass(app, now: datetime) -> None:
    """One pass of the background worker at `now`: timers, schedules, SLA clocks, mail."""
    run_pass(for_app(app), now, poll=1.0)


def set_policy(page: Page, grade: str, resolve_within: str, warn_percent: int, escalate_to: str) -> None:
    goto(page, "/sla/new")
    page.select_option("#grade", grade)
    page.fill("#resolution_target", resolve_within)
    page.fill("#warn_percent", str(warn_percent))
    page.select_option("#escalate_to", escalate_to)
    page.fill("#note", "质量部 2026 年服务承诺")
    submit(page, "form button[type=submit].primary")


def resolution_clock(page: Page, number: str, element_id: str):
    """The resolution clock shown on the inbox row of task `element_id` of complaint `number`."""
    return inbox_row(page, number, element_id).locator(".deadline[data-source=resolution]")


def sent_at(message) -> datetime:
    return parsedate_to_datetime(message["Date"]).astimezone(UTC)


def test_a_case_left_alone_over_the_dragon_boat_weekend_warns_breaches_escalates_and_mails_on_the_minute(
        app, page, acme, complaint_data, clock, mailbox):
    sign_in(page, acme.email("owner"))
    set_policy(page, "level:4", "5 working days", 80, "Management")
    policy = page.locator("table.sla-policies tr[data-policy-id]")
    expect(policy).to_have_count(1)
    expect(policy).to_contain_text("5 个工作日")
    expect(policy).to_contain_text("80 %")

    sign_in(page, acme.email("service"))
    register_complaint(page, complaint_data)
    number = page.locator(".pagehead h1 .number").inner_text().strip()
    do_task(page, number, "check_validity", {"valid": True, "validity_note": "确有结块"})
    sign_in(page, acme.email("quality"))
    do_task(page, number, "grade_complaint", GRADING)  # the grading table: level 4

    resolution = resolution_clock(page, number, "assign")
    expect(resolution).to_have_attribute("data-state", "ok")
    expect(resolution.locator("time")).to_have_attribute("datetime", DEADLINE.isoformat())
    expect(resolution.locator(".left")).to_have_text("剩余 40 小时 00 分钟")

    worker_pass(app, shanghai(2026, 6, 20, 10, 0))  # the holiday Saturday: nothing due
    worker_pass(app, WARNING - SECOND)
    assert mailbox.messages == []
    worker_pass(app, WARNING)
    [warning] = mailbox.to(acme.email("quality"))
    assert warning["Subject"] == f"期限临近：解决 · {number}" and sent_at(warning) == WARNING
    assert mailbox.to(acme.email("manager")) == []  # a warning goes to who holds the case, not up

    clock.now = WARNING + timedelta(hours=1)
    expect(resolution_clock(page, number, "assign")).to_have_attribute("data-state", "warning")

    worker_pass(app, DEADLINE - SECOND)
    assert len(mailbox.messages) == 1
    worker_pass(app, DEADLINE)
    worker_pass(app, DEADLINE + timedelta(minutes=1))  # a breach is told once
    [breached] = mailbox.to(acme.email("manager"))
    assert breached["Subject"] == f"已超期：解决 · {number}" and sent_at(breached) == DEADLINE
    assert [m["Subject"] for m in mailbox.to(acme.email("quality"))] == [warning["Subject"], breached["Subject"]]

    clock.now = DEADLINE + timedelta(hours=2)
    expect(resolution_clock(page, number, "assign")).to_have_attribute("data-state", "breached")
    expect(resolution_clock(page, number, "assign").locator(".left")).to_have_text("已超时 2 小时 00 分钟")
    goto(page, "/?overdue=1")
    expect(page.locator("table.inbox a.number", has_text=number)).to_have_count(1)

    sign_in(page, acme.email("manager"))
    escalation = page.locator("section.escalations li").filter(has=page.locator("a.number", has_text=number))
    expect(escalation).to_have_count(1)
    escalation.locator("input[name=text]").fill("已致电客户，安排换货")
    submit(page, escalation.locator("button[type=submit]"))
    expect(page.locator("section.escalations li")).to_have_count(0)
