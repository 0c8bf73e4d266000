"""The modeler page in a real browser: the procedure opens with its properties panel; live lint marks what
publishing would refuse and Kesu's pickers fix it; problems link to their elements; the page speaks Chinese;
shared drafts refuse a stale save and say who saved; token simulation, image export, test runs and publishing."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from lxml import etree
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, VIEWPORT, goto, sign_in

pytestmark = pytest.mark.e2e

# A lane-less procedure whose only user task is offered to nobody: the lint's "offered to nobody" case.
UNASSIGNED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="definitions_unassigned" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="complaint_standard" name="Short procedure" isExecutable="true">
    <bpmn:startEvent id="start" name="Complaint registered"><bpmn:outgoing>to_review</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_review" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review the complaint">
      <bpmn:incoming>to_review</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" name="Closed"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="complaint_standard">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review">
        <dc:Bounds x="280" y="138" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="450" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="to_review_di" bpmnElement="to_review">
        <di:waypoint x="216" y="178" /><di:waypoint x="280" y="178" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="to_end_di" bpmnElement="to_end">
        <di:waypoint x="380" y="178" /><di:waypoint x="450" y="178" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def open_modeler(page: Page, email: str) -> None:
    sign_in(page, email)
    goto(page, "/procedures/complaint_standard/edit")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=15000)


def use_english(page: Page) -> None:
    """Switch the signed-in session to English with the header's language buttons."""
    page.click("header .langs button[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=15000)


def rename(page: Page, element_id: str, name: str) -> None:
    page.evaluate("""([id, name]) => {
        const m = window.kesuModeler;
        m.get('modeling').updateLabel(m.get('elementRegistry').get(id), name);
    }""", [element_id, name])


def set_condition(page: Page, flow_id: str, expression: str) -> None:
    page.evaluate("""([id, body]) => {
        const m = window.kesuModeler;
        const condition = m.get('moddle').create('bpmn:FormalExpression', { body });
        m.get('modeling').updateProperties(m.get('elementRegistry').get(id), { conditionExpression: condition });
    }""", [flow_id, expression])


def select(page: Page, element_id: str) -> None:
    page.evaluate("""(id) => {
        const m = window.kesuModeler;
        m.get('selection').select(m.get('elementRegistry').get(id));
    }""", element_id)


def saved_names(page: Page, element_id: str) -> dict[str, str] | None:
    """The element's `name:*` properties in the XML the modeler saves; None when it has no camunda:properties."""
    xml = page.evaluate("() => window.kesuModeler.saveXML().then((result) => result.xml)")
    element = etree.fromstring(xml.encode("utf-8")).find(f".//*[@id='{element_id}']")
    containers = element.findall("{*}extensionElements/{http://camunda.org/schema/1.0/bpmn}properties")
    if not containers:
        return None
    return {p.get("name"): p.get("value") for c in containers for p in c if p.get("name", "").startswith("name:")}


def wait_for_names(page: Page, element_id: str, expected: dict[str, str] | None) -> None:
    """Wait for the panel's debounced write to reach the saved XML, then check it is the expected one."""
    deadline = time.monotonic() + 5
    while saved_names(page, element_id) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert saved_names(page, element_id) == expected


def name_input(page: Page, locale: str):
    return page.locator(f'[data-entry-id="kesu-name-{locale}"] input')


def lint_issue(page: Page, element_id: str, rule: str):
    """The live lint's overlay entry for `rule` on an element."""
    return page.locator(f'.djs-overlays[data-container-id="{element_id}"] li[data-rule="{rule}"]')


@pytest.fixture()
def other_page(chromium, live_server, database) -> Iterator[Page]:
    """A second browser with its own session, for a second owner working on the same procedure."""
    context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="zh-CN",
                                   timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_modeler_opens_the_procedure_with_its_properties_panel(page, js_errors, acme):
    open_modeler(page, acme.email("owner"))
    expect(page.locator('#canvas [data-element-id="check_validity"]')).to_have_count(1)
    select(page, "check_validity")
    expect(page.locator("#properties .bio-properties-panel-header-label")).to_contain_text("Check validity")
    expect(page.locator("#problems li.problem-none")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "modeler.png"))
    assert js_errors == []


def test_lint_marks_a_user_task_offered_to_nobody_until_a_group_is_picked(page, js_errors, acme):
    open_modeler(page, acme.email("owner"))
    use_english(page)
    page.evaluate("(xml) => window.kesuModeler.importXML(xml)", UNASSIGNED)
    issue = lint_issue(page, "review", "kesu/user-task-offered")
    expect(issue).to_have_count(1)
    expect(page.locator('#problems a[data-element="review"]')).to_have_count(1)
    expect(page.locator("#problems")).to_contain_text("this user task is offered to nobody")

    page.click("#zoom-fit")
    page.click('#canvas [data-element-id="review"]')
    page.locator('[data-entry-id="kesu-candidate-groups"] label', has_text="Quality").click()
    expect(issue).to_have_count(0)
    expect(page.locator("#problems li.problem-none")).to_have_text("No problems found.")
    assert page.evaluate("""() => window.kesuModeler.get('elementRegistry').get('review')
                                .businessObject.get('camunda:candidateGroups')""") == "Quality"
    page.screenshot(path=str(ARTIFACTS / "modeler-picker.png"))
    assert js_errors == []


def test_foreign_condition_gets_its_python_hint_and_a_click_selects_the_flow(page, acme):
    open_modeler(page, acme.email("owner"))
    set_condition(page, "flow_valid_yes", "${valid}")
    problem = page.locator('#problems a[data-element="flow_valid_yes"]')
    expect(problem).to_have_count(1)
    expect(page.locator("#problems li", has=page.locator('a[data-element="flow_valid_yes"]'))).to_contain_text(
        "请写成 valid")
    # the server's check finds the same problem in the same words: it marks the flow, the list keeps one line
    expect(page.locator('#canvas .djs-connection.kesu-problem[data-element-id="flow_valid_yes"]')).to_have_count(
        1, timeout=15000)
    expect(problem).to_have_count(1)

    problem.click()
    expect(page.locator('#canvas .djs-connection.selected[data-element-id="flow_valid_yes"]')).to_have_count(1)
    set_condition(page, "flow_valid_yes", "valid")
    expect(problem).to_have_count(0)


def test_chinese_page_has_a_chinese_palette_panel_and_lint(page, acme):
    open_modeler(page, acme.email("owner"))
    expect(page.locator('.djs-palette [data-action="create.start-event"]')).to_have_attribute(
        "aria-label", "创建开始事件")
    select(page, "check_validity")
    expect(page.locator("#properties .bio-properties-panel-header-type")).to_have_text("用户任务")
    expect(page.locator('#properties [data-group-id="group-kesu"]')).to_contain_text("谁来办理，用什么表单")
    expect(page.locator('[data-entry-id="kesu-candidate-groups"]')).to_contain_text("分派给组")
    rename(page, "lane_quality", "Qualitty")
    expect(page.locator('#problems a[data-element="grade_complaint"]')).to_have_count(1)
    expect(page.locator("#problems")).to_contain_text("本公司没有名为 Qualitty 的组")
    page.screenshot(path=str(ARTIFACTS / "modeler-zh.png"))


def test_chinese_name_entry_edits_its_own_property_and_undo_restores_it(page, js_errors, acme):
    open_modeler(page, acme.email("owner"))
    select(page, "check_validity")
    expect(page.locator('[data-entry-id="kesu-name-zh_Hans"]')).to_contain_text("简体中文名称")
    expect(page.locator('[data-entry-id="kesu-name-zh_Hant"]')).to_contain_text("繁体中文名称")
    expect(name_input(page, "zh_Hans")).to_have_value("判定投诉是否成立")
    original = {"name:zh_Hans": "判定投诉是否成立", "name:zh_Hant": "判定投訴是否成立"}
    assert saved_names(page, "check_validity") == original

    name_input(page, "zh_Hans").fill("判定投诉是否属实")
    wait_for_names(page, "check_validity", {**original, "name:zh_Hans": "判定投诉是否属实"})
    expect(page.locator('#canvas [data-element-id="check_validity"]')).to_contain_text("Check validity")
    page.screenshot(path=str(ARTIFACTS / "modeler-names.png"))

    page.click("#undo")
    wait_for_names(page, "check_validity", original)
    expect(name_input(page, "zh_Hans")).to_have_value("判定投诉是否成立")
    assert js_errors == []


def test_chinese_name_creates_its_container_and_emptying_it_removes_both(page, acme):
    open_modeler(page, acme.email("owner"))
    page.evaluate("(xml) => window.kesuModeler.importXML(xml)", UNASSIGNED)
    expect(page.locator('#properties [data-group-id="group-kesu-names"]')).to_be_visible()  # the process's own
    select(page, "review")
    expect(name_input(page, "zh_Hant")).to_have_value("")

    name_input(page, "zh_Hant").fill("審查投訴")
    wait_for_names(page, "review", {"name:zh_Hant": "審查投訴"})
    page.click("#undo")  # the extension elements, container and property came in one step
    wait_for_names(page, "review", None)

    name_input(page, "zh_Hant").fill("審查投訴")
    wait_for_names(page, "review", {"name:zh_Hant": "審查投訴"})
    name_input(page, "zh_Hant").fill("")
    wait_for_names(page, "review", None)


def test_a_pools_chinese_name_is_written_to_the_pool_and_its_process(page, acme):
    open_modeler(page, acme.email("owner"))
    select(page, "participant_complaint_standard")
    expect(page.locator('#properties [data-group-id="group-kesu-names"]')).to_contain_text("中文名称")
    name_input(page, "zh_Hans").fill("标准投诉流程")
    expected = {"name:zh_Hans": "标准投诉流程", "name:zh_Hant": "標準投訴處理流程"}
    wait_for_names(page, "participant_complaint_standard", expected)
    assert saved_names(page, "complaint_standard") == expected


def test_a_stale_draft_save_is_refused_naming_who_saved_first(page, other_page, acme):
    open_modeler(page, acme.email("owner"))
    open_modeler(other_page, acme.email("admin"))

    rename(page, "check_validity", "Check validity first")
    expect(page.locator("#unsaved")).to_be_visible()
    page.click("#save-draft")
    expect(page.locator("#publish-status")).to_have_class("flash flash-success")
    expect(page.locator("#unsaved")).to_be_hidden()

    rename(other_page, "plan", "Plan the countermeasures")
    other_page.keyboard.press("Control+s")
    status = other_page.locator("#publish-status")
    expect(status).to_have_class("flash flash-error")
    expect(status).to_contain_text("Owner")
    expect(other_page.locator('#canvas [data-element-id="plan"]')).to_contain_text("Plan the countermeasures")
    other_page.screenshot(path=str(ARTIFACTS / "modeler-conflict.png"))

    status.locator("button").first.click()  # load their version
    expect(other_page.locator('#canvas [data-element-id="check_validity"]')).to_contain_text("Check validity first")
    expect(other_page.locator('#canvas [data-element-id="plan"]')).not_to_contain_text("Plan the countermeasures")
    rename(other_page, "plan", "Plan the countermeasures")
    other_page.click("#save-draft")
    expect(status).to_have_class("flash flash-success")


def test_token_simulation_toggles_on_and_off(page, js_errors, acme):
    open_modeler(page, acme.email("owner"))
    page.click(".bts-toggle-mode")
    expect(page.locator("#canvas .bjs-container.simulation")).to_have_count(1)
    expect(page.locator(".djs-palette")).to_have_class("djs-palette two-column open hidden")
    page.click(".bts-toggle-mode")
    expect(page.locator("#canvas .bjs-container.simulation")).to_have_count(0)
    assert js_errors == []


@pytest.mark.parametrize(("button", "suffix", "starts"), [
    ("#export-svg", ".svg", (b"<?xml", b"<svg")),
    ("#export-png", ".png", (b"\x89PNG",)),
])
def test_export_downloads_the_diagram_as_an_image(page, acme, button, suffix, starts):
    open_modeler(page, acme.email("owner"))
    with page.expect_download() as download:
        page.click(button)
    assert download.value.suggested_filename == f"complaint_standard{suffix}"
    with open(download.value.path(), "rb") as image:
        assert image.read(5).startswith(starts)


def test_test_run_saves_the_draft_and_starts_a_sandbox_case(page, acme):
    open_modeler(page, acme.email("owner"))
    rename(page, "check_validity", "Check validity first")
    page.click("#test-run")
    expect(page).to_have_url(re.compile(r"/procedures/test-runs/\d+$"), timeout=15000)
    expect(page.locator("h1")).to_contain_text("TEST-")
    goto(page, "/procedures/complaint_standard/edit")
    expect(page.locator('#canvas [data-element-id="check_validity"]')).to_contain_text("Check validity first")


def test_broken_change_is_refused_and_marked_then_a_good_one_is_published(page, acme):
    open_modeler(page, acme.email("owner"))
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
    page.locator("#publish-status a").click()
    second = page.locator('tr[data-key="complaint_standard"][data-version="2"]')
    expect(second).to_contain_text("renamed the first check")


def set_due_date(page: Page, task_id: str, due: str) -> None:
    page.evaluate("""([id, due]) => {
        const m = window.kesuModeler;
        m.get('modeling').updateProperties(m.get('elementRegistry').get(id), { 'camunda:dueDate': due });
    }""", [task_id, due])


def test_lint_accepts_a_due_date_in_working_days_and_names_an_impossible_time(page, js_errors, acme):
    open_modeler(page, acme.email("owner"))
    use_english(page)
    set_due_date(page, "check_validity", "2 working days")
    issue = lint_issue(page, "check_validity", "kesu/python-expressions")
    page.wait_for_timeout(500)  # the lint runs on every change; nothing may appear
    expect(issue).to_have_count(0)
    set_due_date(page, "check_validity", "next working day 25:00")
    expect(issue).to_contain_text("due date: 'next working day 25:00': 25:00 is not a time of day")
    assert js_errors == []
