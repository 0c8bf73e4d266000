"""An auditor's heatmap in headless Chromium: on the procedure's diagram each element carries how often it finished
across the listed complaints, coloured by that count, and each flow how often it was taken."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from test_rerun import reopened_twice  # the engine tests' reopened complaint

from .conftest import ARTIFACTS, goto, sign_in, submit
from .test_diagram import _has, complaint_at_grading

pytestmark = pytest.mark.e2e


def drawn(page: Page, element_id: str):
    return page.locator(f"#heatmap g.djs-element[data-element-id={element_id}]")


def badge(page: Page, element_id: str):
    return page.locator(f"#heatmap .kesu-heat-badge[data-element={element_id}]")


def test_heatmap_shows_on_each_element_how_often_it_ran_across_the_listed_complaints(
        page, js_errors, database, engine, acme, complaint_data):
    reopened_twice(database, engine, acme, complaint_data)  # three callbacks, the customer unsatisfied twice
    complaint_at_grading(database, engine, acme, complaint_data)  # grading open
    sign_in(page, acme.email("auditor"))
    goto(page, "/audit/")
    expect(page.locator("#heatmap")).to_have_attribute("data-ready", "true")

    expect(badge(page, "callback")).to_have_attribute("data-runs", "3")
    expect(badge(page, "callback")).to_contain_text("×3")
    expect(drawn(page, "callback")).to_have_class(_has("kesu-heat-5"))  # the most runs of the set
    expect(badge(page, "check_validity")).to_have_attribute("data-runs", "2")
    # checked right after registering; the page is in Chinese
    expect(badge(page, "check_validity")).to_contain_text("×2 · < 1 分钟")
    expect(badge(page, "grade_complaint")).to_have_attribute("data-open", "1")
    expect(page.locator("#heatmap .kesu-flow-count[data-element=flow_satisfied_no]")).to_have_text("2")
    expect(page.locator("table.audit-cases tbody tr")).to_have_count(2)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit-heatmap.png"), full_page=True)

    page.select_option("#f-status", "completed")
    submit(page, "#audit-filters button[type=submit]")
    expect(page.locator("#heatmap")).to_have_attribute("data-ready", "true")
    expect(badge(page, "check_validity")).to_have_attribute("data-runs", "1")
    expect(badge(page, "grade_complaint")).to_have_attribute("data-open", "0")
    assert js_errors == []
