"""The decision-table editor in a real browser: dmn-js opens the grading table in the page's language, a cell
written in FEEL is refused with its rule marked, a corrected table is published and its callers follow."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, goto, sign_in

pytestmark = pytest.mark.e2e


def open_editor(page: Page, acme) -> None:
    sign_in(page, acme.email("owner"))
    goto(page, "/decisions/grading/edit")
    expect(page.locator("#decisions")).to_have_attribute("data-ready", "true", timeout=15000)


def write_cell(page: Page, cell_id: str, text: str) -> None:
    """Type into a table cell as an owner does: click it, select what is there, type over it."""
    page.click(f'#dmn-canvas td[data-element-id="{cell_id}"]')
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def publish(page: Page, note: str) -> None:
    page.fill("#note", note)
    page.click("#publish")


def test_editor_opens_the_grading_table_in_the_pages_language(page, js_errors, acme):
    open_editor(page, acme)
    expect(page.locator("#decision-views a.active")).to_contain_text("投诉分级")
    expect(page.locator("#decision-views a[data-view='drd']")).to_have_count(1)
    hit_policy = page.locator("#dmn-canvas .hit-policy")
    expect(hit_policy).to_contain_text("命中策略")
    expect(hit_policy).to_contain_text("首条命中")
    expect(hit_policy).to_have_attribute("title", "规则可以重叠，取第一条命中的规则")
    expect(page.locator('#dmn-canvas td[data-element-id="level_1_cost_input_cost"]')).to_have_text("> 5000000")
    page.screenshot(path=str(ARTIFACTS / "decisions.png"), full_page=True)
    assert js_errors == []


def test_feel_in_a_cell_is_refused_and_marked_then_the_corrected_table_is_published(page, acme):
    open_editor(page, acme)
    write_cell(page, "level_1_cost_input_lawsuit", "true")
    publish(page, "lawsuits are level 1")
    expect(page.locator("#publish-status")).to_have_class("flash flash-error")
    problem = page.locator('#problems a[data-element="level_1_cost"]')
    expect(problem).to_contain_text("level_1_cost")
    expect(page.locator("#problems")).to_contain_text("True")
    problem.click()
    expect(page.locator('#dmn-canvas .kesu-problem[data-row-id="level_1_cost"]')).not_to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "decisions-refused.png"), full_page=True)

    write_cell(page, "level_1_cost_input_lawsuit", "-")
    write_cell(page, "level_1_cost_input_cost", "> 6000000")
    publish(page, "level 1 from six million")
    expect(page.locator("#publish-status")).to_have_class("flash flash-success")
    expect(page.locator("#decisions")).to_have_attribute("data-version", "2")
    expect(page.locator("#publish-status")).to_contain_text("complaint_standard")
    expect(page.locator("#problems li")).to_have_count(0)

    goto(page, "/decisions/")
    expect(page.locator('tr[data-key="grading"][data-version="2"]')).to_contain_text("level 1 from six million")
    assert "&gt; 6000000" in page.request.get("/decisions/grading/2.dmn").text()
