"""An auditor replays a reopened complaint in headless Chromium: the stepper's buttons, slider, keys and URL, and
at each step the diagram's markers: what ran so far and how often, this step's elements and flows, what was open."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from test_rerun import reopened_twice  # the engine tests' reopened complaint

from .conftest import ARTIFACTS, goto, sign_in
from .test_diagram import _has

pytestmark = pytest.mark.e2e


def drawn(page: Page, element_id: str):
    return page.locator(f"#replay-diagram g.djs-element[data-element-id={element_id}]")


def at_step(page: Page, number: int) -> None:
    expect(page.locator("#replay")).to_have_attribute("data-step", str(number))
    expect(page.locator("#replay-diagram")).to_have_attribute("data-ready", "true")


def open_replay(page: Page, database, engine, acme, complaint_data, query: str = "") -> tuple[int, int]:
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    sign_in(page, acme.email("auditor"))
    goto(page, f"/complaints/{instance_id}/replay{query}")
    total = int(page.locator("#replay-slider").get_attribute("max"))
    return instance_id, total


def test_stepper_marks_what_ran_the_flows_taken_and_what_was_open_at_each_step(
        page, js_errors, database, engine, acme, complaint_data):
    instance_id, total = open_replay(page, database, engine, acme, complaint_data, "?step=2")
    at_step(page, 2)  # the validity check done: grading is open
    expect(drawn(page, "check_validity")).to_have_class(_has("kesu-current"))
    expect(drawn(page, "grade_complaint")).to_have_class(_has("kesu-active"))
    expect(drawn(page, "flow_valid_yes")).to_have_class(_has("kesu-flow-current"))
    expect(drawn(page, "assign")).not_to_have_class(_has("kesu-done"))
    expect(page.locator("#replay-data tr.changed[data-field=valid]")).to_have_count(1)

    page.locator("[data-go=next]").click()
    at_step(page, 3)  # a claim: nothing runs, grading still open
    expect(page).to_have_url(re.compile(rf"/complaints/{instance_id}/replay\?step=3$"))
    expect(page.locator("#replay-diagram .kesu-current")).to_have_count(0)
    expect(drawn(page, "grade_complaint")).to_have_class(_has("kesu-active"))
    expect(drawn(page, "flow_valid_yes")).to_have_class(_has("kesu-flow"))

    page.locator("[data-go=last]").click()
    at_step(page, total)  # closed after three callbacks
    expect(page.locator("#replay-diagram .kesu-active")).to_have_count(0)
    expect(drawn(page, "end_closed")).to_have_class(_has("kesu-current"))
    expect(page.locator(".kesu-count[data-element=callback]")).to_have_text("×3")
    expect(page.locator(".kesu-count[data-element=analyse_cause]")).to_have_text("×3")
    expect(drawn(page, "flow_satisfied_no")).to_have_class(_has("kesu-flow"))
    assert js_errors == []


def test_keys_slider_and_the_timeline_move_between_steps(page, js_errors, database, engine, acme, complaint_data):
    _, total = open_replay(page, database, engine, acme, complaint_data)
    at_step(page, total)  # the last step by default
    page.keyboard.press("Home")
    at_step(page, 1)
    expect(drawn(page, "check_validity")).to_have_class(_has("kesu-active"))
    page.keyboard.press("ArrowRight")
    at_step(page, 2)
    page.keyboard.press("ArrowLeft")
    at_step(page, 1)
    page.locator("#replay-slider").fill("9")
    at_step(page, 9)  # the first unsatisfied callback: back to the analysis, counted twice now
    expect(drawn(page, "analyse_cause")).to_have_class(_has("kesu-active"))
    expect(drawn(page, "flow_satisfied_no")).to_have_class(_has("kesu-flow-current"))
    expect(page.locator(".kesu-count[data-element=analyse_cause]")).to_have_count(0)  # ran once so far
    page.locator("#step-5 a.step-link").click()
    at_step(page, 5)
    expect(page.locator("#replay-timeline li.current")).to_have_attribute("data-step", "5")
    assert js_errors == []


def test_replay_screenshots_in_chinese_and_english(page, js_errors, database, engine, acme, complaint_data):
    open_replay(page, database, engine, acme, complaint_data, "?step=9")
    at_step(page, 9)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replay-zh.png"), full_page=True)
    page.locator("button.lang", has_text="English").click()
    page.wait_for_load_state()
    at_step(page, 9)
    page.screenshot(path=str(ARTIFACTS / "replay-en.png"), full_page=True)
    assert js_errors == []
