"""The modeler page in a real browser: the procedure opens with its properties panel, a broken change is
refused with its problems listed and marked on the elements, a good change is published as a new version."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, goto, sign_in

pytestmark = pytest.mark.e2e


def open_modeler(page: Page, acme) -> None:
    sign_in(page, acme.email("owner"))
    goto(page, "/procedures/complaint_standard/edit")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=15000)


def rename(page: Page, element_id: str, name: str) -> None:
    page.evaluate("""([id, name]) => {
        const m = window.kesuModeler;
        m.get('modeling').updateLabel(m.get('elementRegistry').get(id), name);
    }""", [element_id, name])


def test_modeler_opens_the_procedure_with_its_properties_panel(page, js_errors, acme):
    open_modeler(page, acme)
    expect(page.locator('#canvas [data-element-id="check_validity"]')).to_have_count(1)
    page.evaluate("""() => {
        const m = window.kesuModeler;
        m.get('selection').select(m.get('elementRegistry').get('check_validity'));
    }""")
    expect(page.locator("#properties .bio-properties-panel-header-label")).to_contain_text("Check validity")
    page.screenshot(path=str(ARTIFACTS / "modeler.png"))
    assert js_errors == []


def test_broken_change_is_refused_and_marked_then_a_good_one_is_published(page, acme):
    open_modeler(page, acme)
    rename(page, "lane_quality", "Qualitty")
    page.click("#publish")
    expect(page.locator("#publish-status")).to_have_class("flash flash-error")
    problem = page.locator('#problems a[data-element="grade_complaint"]')
    expect(problem).to_have_count(1)
    expect(page.locator('#canvas [data-element-id="grade_complaint"].kesu-problem')).to_have_count(1)
    problem.click()
    expect(page.locator('#canvas [data-element-id="grade_complaint"].selected')).to_have_count(1)

    rename(page, "lane_quality", "Quality")
    rename(page, "check_validity", "Check validity first")
    page.fill("#note", "renamed the first check")
    page.click("#publish")
    expect(page.locator("#publish-status")).to_have_class("flash flash-success")
    goto(page, "/procedures/")
    expect(page.locator('tr[data-key="complaint_standard"][data-version="2"]')).to_contain_text("renamed the first check")
