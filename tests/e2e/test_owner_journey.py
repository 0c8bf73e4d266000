"""Scratch exploration (replaced by the real test)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, goto, sign_in

pytestmark = pytest.mark.e2e


def test_explore(page, js_errors, acme):
    sign_in(page, acme.email("owner"))
    goto(page, "/procedures/complaint_standard/edit")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=15000)
    new_id = page.evaluate("""() => {
        const m = window.kesuModeler;
        const registry = m.get('elementRegistry');
        const shape = m.get('elementFactory').createShape({ type: 'bpmn:Task' });
        m.get('modeling').createShape(shape, { x: 511, y: 290 }, registry.get('flow_valid_yes'));
        return shape.id;
    }""")
    print("new", new_id)
    page.wait_for_timeout(2500)
    print(page.locator("#problems").inner_text())
    info = page.evaluate("""(id) => {
        const m = window.kesuModeler; const r = m.get('elementRegistry'); const s = r.get(id);
        return { parent: s.parent.id, incoming: s.incoming.map(c => [c.id, c.source.id]),
                 outgoing: s.outgoing.map(c => [c.id, c.target.id]),
                 lanes: (s.businessObject.get('lanes') || []).map(l => l.id) };
    }""", new_id)
    print(info)
    page.locator(f'#problems a[data-element="{new_id}"]').first.click()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "owner-explore-1.png"))
    print(page.locator(".djs-context-pad").inner_html()[:3000])
