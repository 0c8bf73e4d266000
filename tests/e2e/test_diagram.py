"""The complaint page draws the case's diagram with bpmn-js: every element of the standard procedure,
no import warnings, and markers for what ran and what is open; screenshots in Chinese and English."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import Page, expect

from complaints.registration import register
from conftest import STANDARD
from engine import queries

from .conftest import ARTIFACTS, goto, sign_in, submit

pytestmark = pytest.mark.e2e

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}

# Imports the page's diagram into a second, detached viewer to read what importXML warns about.
IMPORT_WARNINGS = """async (src) => {
  const xml = await (await fetch(src, { credentials: 'same-origin' })).text();
  const box = document.createElement('div');
  box.style.cssText = 'position:absolute; left:-5000px; width:800px; height:600px';
  document.body.appendChild(box);
  const viewer = new BpmnJS({ container: box });
  try {
    const result = await viewer.importXML(xml);
    return result.warnings.map((w) => String(w.message || w));
  } finally {
    viewer.destroy();
    box.remove();
  }
}"""


def standard_elements() -> tuple[list[str], list[str]]:
    """Ids of the standard procedure's flow nodes and sequence flows, and of its participant and lanes."""
    root = ET.parse(STANDARD).getroot()
    process = root.find("bpmn:process", NS)
    flow = [e.get("id") for e in process if e.get("id") and e.tag != f"{{{NS['bpmn']}}}laneSet"]
    containers = [e.get("id") for e in root.iterfind("bpmn:collaboration/bpmn:participant", NS)] + \
                 [e.get("id") for e in process.iterfind("bpmn:laneSet/bpmn:lane", NS)]
    return flow, containers


def complaint_at_grading(database, engine, acme, complaint_data) -> int:
    """A registered complaint whose validity check is done, so grading is the open task."""
    service = acme.actor("service")
    with database.session() as s:
        complaint = register(s, engine, s.merge(acme.version), service, complaint_data, acme.timezone)
        instance_id = complaint.instance_id
    with database.session() as s:
        task = next(t for t in queries.tasks_for(s, engine, service) if t.element_id == "check_validity")
        engine.complete(s, task.id, service, {"valid": True, "validity_note": "成立"})
    return instance_id


def _has(css_class: str) -> re.Pattern:
    """A class attribute containing `css_class`."""
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


def wait_for_diagram(page: Page) -> None:
    """diagram.js sets data-ready="true" once bpmn-js has imported and marked the diagram."""
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")


def drawn(page: Page, element_id: str):
    """The SVG group bpmn-js drew for a diagram element."""
    return page.locator(f"#diagram g.djs-element[data-element-id={element_id}]")


def test_complaint_page_draws_every_element_of_the_standard_procedure(page, js_errors, database, engine, acme,
                                                                      complaint_data):
    instance_id = complaint_at_grading(database, engine, acme, complaint_data)
    sign_in(page, acme.email("quality"))
    goto(page, f"/complaints/{instance_id}")
    wait_for_diagram(page)

    flow, containers = standard_elements()
    assert {"start", "check_validity", "gw_valid", "reset_attempts", "end_closed", "flow_start_check"} <= set(flow)
    assert len(containers) == 5  # the participant and the four lanes
    missing = [element for element in flow + containers if drawn(page, element).count() != 1]
    assert missing == [], f"not drawn: {missing}"
    warnings = page.evaluate(IMPORT_WARNINGS, page.locator("#diagram").get_attribute("data-src"))
    assert warnings == []
    expect(page.locator("#diagram")).to_have_attribute("data-warnings", "0")  # the page's own, translated import
    assert js_errors == []


def test_diagram_marks_the_open_task_and_the_steps_already_done(page, database, engine, acme, complaint_data):
    instance_id = complaint_at_grading(database, engine, acme, complaint_data)
    sign_in(page, acme.email("quality"))
    goto(page, f"/complaints/{instance_id}")
    wait_for_diagram(page)

    expect(drawn(page, "grade_complaint")).to_have_class(_has("kesu-active"))
    expect(page.locator("#diagram .kesu-active")).to_have_count(1)
    expect(drawn(page, "check_validity")).to_have_class(_has("kesu-done"))
    expect(drawn(page, "assign")).not_to_have_class(_has("kesu-done"))
    expect(drawn(page, "assign")).not_to_have_class(_has("kesu-active"))


def test_diagram_labels_are_in_the_page_language(page, database, engine, acme, complaint_data):
    instance_id = complaint_at_grading(database, engine, acme, complaint_data)
    sign_in(page, acme.email("quality"))
    goto(page, f"/complaints/{instance_id}")
    wait_for_diagram(page)

    expect(drawn(page, "check_validity").locator("text")).to_have_text("判定投诉是否成立", timeout=1000)
    expect(drawn(page, "lane_quality").locator("text")).to_have_text("质量", timeout=1000)


def test_complaint_page_screenshots_in_chinese_and_english(page, js_errors, live_server, database, engine, acme,
                                                          complaint_data):
    instance_id = complaint_at_grading(database, engine, acme, complaint_data)
    sign_in(page, acme.email("quality"))
    goto(page, f"/complaints/{instance_id}")
    wait_for_diagram(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "complaint-page-zh.png"), full_page=True)

    submit(page, "header form.langs button[formaction$='/language/en']")
    expect(page).to_have_url(f"{live_server}/complaints/{instance_id}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    wait_for_diagram(page)
    page.screenshot(path=str(ARTIFACTS / "complaint-page-en.png"), full_page=True)
    assert js_errors == []
