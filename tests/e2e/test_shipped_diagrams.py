"""The companies' shipped procedures (QP07, e-commerce) drawn by bpmn-js on the complaint page: every
element with a shape, no import warnings, labels in the page language; a screenshot of each."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

import demo
from complaints.registration import register
from conftest import ROOT
from engine.repository.publishing import publish

from .conftest import ARTIFACTS, goto, sign_in
from .test_diagram import IMPORT_WARNINGS, drawn, wait_for_diagram

pytestmark = pytest.mark.e2e

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SHIPPED = {  # procedure: (its first task, a task and a lane with their simplified Chinese names)
    "complaint_qp07": ("register_list", ("classify", "投诉分类"), ("lane_customer_service", "客户服务中心")),
    "complaint_ecommerce": ("register_appeal", ("callback", "当日回访客户"), ("lane_management", "管理层")),
}


def elements(key: str) -> tuple[set[str], set[str]]:
    """Ids of the process's flow elements (inside its subprocesses too), and of every element with DI."""
    root = ET.parse(ROOT / "processes" / f"{key}.bpmn").getroot()
    containers = [root.find("bpmn:process", NS), *root.iterfind(".//bpmn:subProcess", NS)]
    flow = {e.get("id") for c in containers for e in c if e.get("id") and e.tag != f"{{{NS['bpmn']}}}laneSet"}
    shaped = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNPlane/*", NS)}
    return flow, shaped


def open_case(page, database, engine, acme, complaint_data, key: str) -> None:
    """Publish the procedure, register a complaint on it and open its page once bpmn-js has drawn it."""
    with database.session() as s:
        version = publish(s, acme.id, (ROOT / "processes" / f"{key}.bpmn").read_bytes(), acme.users["owner"].id,
                          "shipped", demo.GROUPS)
        instance_id = register(s, engine, version, acme.actor("service"), complaint_data, acme.timezone).instance_id
    sign_in(page, acme.email("service"))
    goto(page, f"/complaints/{instance_id}")
    wait_for_diagram(page)


@pytest.mark.parametrize("key", SHIPPED)
def test_complaint_page_draws_every_element_of_the_shipped_procedure(page, js_errors, database, engine, acme,
                                                                     complaint_data, key):
    open_case(page, database, engine, acme, complaint_data, key)

    flow, shaped = elements(key)
    assert flow - shaped == set()
    missing = sorted(element for element in shaped if drawn(page, element).count() != 1)
    assert missing == [], f"not drawn: {missing}"
    assert page.evaluate(IMPORT_WARNINGS, page.locator("#diagram").get_attribute("data-src")) == []
    expect(page.locator("#diagram")).to_have_attribute("data-warnings", "0")
    expect(page.locator("#diagram .kesu-active")).to_have_count(1)
    expect(drawn(page, SHIPPED[key][0])).to_have_class(re.compile(r"(^|\s)kesu-active(\s|$)"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{key}-zh.png"), full_page=True)
    assert js_errors == []


@pytest.mark.parametrize("key", SHIPPED)
def test_shipped_procedure_is_labelled_in_the_page_language(page, database, engine, acme, complaint_data, key):
    open_case(page, database, engine, acme, complaint_data, key)
    for element, name in SHIPPED[key][1:]:
        expect(drawn(page, element).locator("text").first).to_have_text(name, timeout=1000)
