"""Comparing two versions in a real browser (colours on both diagrams, the list of changes) and exporting a
published version as SVG and PNG."""
from __future__ import annotations

import re
import struct

import pytest
from playwright.sync_api import Page, expect

from conftest import GROUPS, STANDARD
from engine.repository.publishing import publish

from .conftest import ARTIFACTS, goto, sign_in

pytestmark = pytest.mark.e2e

ADDED_GREEN = "rgb(220, 250, 230)"  # --diff-added-bg
REMOVED_RED = "rgb(217, 45, 32)"  # --diff-removed


def site_visit_replaced(xml: str) -> str:
    """The standard procedure with its site-visit task replaced by a new task in the same place."""
    xml = re.sub(r"(?<![a-z_])visit_site(?![a-z])", "confirm_on_site", xml)
    return (xml.replace("Visit the customer's site", "Confirm on site")
            .replace("现场确认和调查", "现场确认").replace("現場確認和調查", "現場確認"))


@pytest.fixture()
def second_version(database, acme) -> None:
    """Version 2 of the standard procedure: visit_site removed, confirm_on_site added."""
    with database.session() as s:
        xml = site_visit_replaced(STANDARD.read_text(encoding="utf-8"))
        publish(s, acme.id, xml.encode("utf-8"), acme.users["owner"].id, "site confirmation", GROUPS)


def open_diff(page: Page, acme, query: str) -> None:
    sign_in(page, acme.email("owner"))
    goto(page, f"/procedures/complaint_standard/diff?{query}")
    expect(page.locator("#diff")).to_have_attribute("data-ready", "true", timeout=15000)


def first_shape_style(page: Page, selector: str, prop: str) -> str:
    return page.eval_on_selector(f"{selector} .djs-visual > :first-child",
                                 f"node => getComputedStyle(node).{prop}")


def test_diff_colours_an_added_task_green_and_a_removed_one_red_and_lists_them(page, js_errors, acme,
                                                                                second_version):
    open_diff(page, acme, "from=1&to=2")
    added = '#diff-new [data-element-id="confirm_on_site"]'
    removed = '#diff-old [data-element-id="visit_site"]'
    expect(page.locator(f"{added}.diff-added")).to_have_count(1)
    expect(page.locator(f"{removed}.diff-removed")).to_have_count(1)
    expect(page.locator('#diff-new [data-element-id="visit_site"]')).to_have_count(0)
    assert first_shape_style(page, added, "fill") == ADDED_GREEN
    assert first_shape_style(page, removed, "stroke") == REMOVED_RED

    expect(page.locator('.group-added .change[data-element="confirm_on_site"]')).to_contain_text("现场确认")
    expect(page.locator('.group-removed .change[data-element="visit_site"]')).to_contain_text("现场确认和调查")
    rewired = page.locator('.group-changed .change[data-element="flow_site_visit_yes"]')
    expect(rewired).to_contain_text("targetRef")
    expect(rewired.locator(".value.old")).to_have_text("visit_site")
    expect(rewired.locator(".value.new")).to_have_text("confirm_on_site")
    expect(page.locator(".group-layout")).to_have_count(0)

    page.locator('.group-added .change[data-element="confirm_on_site"]').click()
    expect(page.locator(f"{added}.diff-focus")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "diff.png"), full_page=True)
    assert js_errors == []


def test_panning_one_side_moves_the_other(page, acme, second_version):
    open_diff(page, acme, "from=1&to=2")
    page.evaluate("() => window.kesuDiff.old.get('canvas').scroll({ dx: -150, dy: 40 })")
    boxes = page.evaluate("""() => ['old', 'new'].map((side) => {
        const { x, y, width } = window.kesuDiff[side].get('canvas').viewbox();
        return [Math.round(x), Math.round(y), Math.round(width)];
    })""")
    assert boxes[0] == boxes[1]


def test_a_version_compared_with_itself_shows_no_differences(page, acme):
    open_diff(page, acme, "from=1&to=1")
    expect(page.locator("#diff-changes .empty-state")).to_be_visible()
    expect(page.locator("#diff")).to_have_attribute("data-changes", "0")
    expect(page.locator(".diff-canvas .diff-added, .diff-canvas .diff-removed")).to_have_count(0)


def download(page: Page, button: str) -> tuple[str, bytes]:
    with page.expect_download() as started:
        page.click(button)
    return started.value.suggested_filename, started.value.path().read_bytes()


def test_a_published_version_exports_as_svg_and_as_png_at_twice_its_size(page, js_errors, acme):
    sign_in(page, acme.email("owner"))
    goto(page, "/procedures/")
    row = 'tr[data-key="complaint_standard"][data-version="1"]'
    name, svg = download(page, f'{row} button.export-diagram[data-format="svg"]')
    assert name == "complaint_standard-v1.svg"
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b'data-element-id="check_validity"' in svg
    name, png = download(page, f'{row} button.export-diagram[data-format="png"]')
    assert name == "complaint_standard-v1.png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg_width = float(re.search(rb'<svg[^>]* width="([\d.]+)"', svg).group(1))
    png_width, _height = struct.unpack(">II", png[16:24])
    assert png_width == pytest.approx(2 * svg_width, abs=1)
    assert js_errors == []
