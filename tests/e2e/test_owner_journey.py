"""The process owner's whole journey in the browser, as a new user would take it: draw a task into the standard
procedure, see the lint object to it and fix it, publish with a note, see the change in the diff, move a running
complaint to the new version, and watch the employees' inboxes follow. Screenshots of every step go to
test-artifacts/owner-journey-<n>.png."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Response, expect

from conftest import COMPLAINT

from .conftest import ARTIFACTS, goto, sign_in, submit
from .test_complaint_journey import do_task, inbox_row, register_complaint

pytestmark = pytest.mark.e2e

ACKNOWLEDGE = "确认收到"  # the task the owner adds: customer service confirms receipt of a valid complaint
NOTE = "成立的投诉先由客服向客户确认收到"


def shot(page: Page, step: int) -> None:
    """Keep what the user saw at this step, to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"owner-journey-{step}.png"))


def drop_task_on_flow(page: Page, flow_id: str, x: int, y: int) -> str:
    """Drop the palette's task onto a sequence flow, as a drag from the palette does (bpmn-js then splits the
    flow around it, and the lane under it takes it in); returns the new task's id."""
    return page.evaluate("""([flowId, x, y]) => {
        const m = window.kesuModeler;
        const task = m.get('elementFactory').createShape({ type: 'bpmn:Task' });
        m.get('modeling').createShape(task, { x, y }, m.get('elementRegistry').get(flowId));
        return task.id;
    }""", [flow_id, x, y])


def look_at(page: Page, element_id: str) -> None:
    """Zoom the canvas to 100 % around an element, as the owner would to work on it."""
    page.evaluate("""(id) => {
        const m = window.kesuModeler;
        const shape = m.get('elementRegistry').get(id);
        m.get('canvas').viewbox({ x: shape.x - 260, y: shape.y - 230, width: 900, height: 650 });
    }""", element_id)


def flows_of(page: Page, element_id: str) -> dict[str, list[str]]:
    """The element's incoming flows' sources and outgoing flows' targets, as the diagram holds them."""
    return page.evaluate("""(id) => {
        const shape = window.kesuModeler.get('elementRegistry').get(id);
        return { from: shape.incoming.map((flow) => flow.source.id), to: shape.outgoing.map((flow) => flow.target.id) };
    }""", element_id)


def checks_user_task(answer: Response, task: str) -> bool:
    """Whether a response answers the server's check of the diagram with `task` made a user task."""
    request = answer.request
    return (request.url.endswith("/procedures/check.json")
            and f'<bpmn:userTask id="{task}"' in json.loads(request.post_data or "{}").get("xml", ""))


def register_and_see_first_task(page: Page, acme) -> str:
    """The service employee registers a complaint on the real page; its validity check waits in their inbox."""
    sign_in(page, acme.email("service"))
    register_complaint(page, COMPLAINT)
    number = page.locator(".pagehead h1 .number").inner_text().strip()
    expect(inbox_row(page, number, "check_validity")).to_have_count(1)
    shot(page, 1)
    return number


def draw_task_and_see_lint(page: Page, acme) -> str:
    """The owner drops a task on the validity gateway's Yes flow; the lint marks it and lists it."""
    sign_in(page, acme.email("owner"))
    goto(page, "/procedures/complaint_standard/edit")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=15000)
    task = drop_task_on_flow(page, "flow_valid_yes", 511, 290)
    assert flows_of(page, task) == {"from": ["gw_valid"], "to": ["grade_complaint"]}
    marker = f'.djs-overlays[data-container-id="{task}"] li[data-rule="kesu/supported-elements"]'
    expect(page.locator(marker)).to_have_count(1)
    expect(page.locator("#problems li", has=page.locator(f'a[data-element="{task}"]'))
           .filter(has_text="kesu/supported-elements")).to_contain_text("请改为用户任务")
    page.locator(f'#problems a[data-element="{task}"]').first.click()  # selects it, as the owner would
    look_at(page, task)
    shot(page, 2)
    return task


def fix_and_publish(page: Page, task: str) -> None:
    """The owner names the task, makes it a user task with the context pad's wrench, sees no problems left and
    the lane's group named as who does it, then publishes with a note."""
    page.locator('[data-group-id="group-general"] .bio-properties-panel-group-header').click()
    page.locator("#bio-properties-panel-name").fill(ACKNOWLEDGE)
    expect(page.locator(f'#canvas [data-element-id="{task}"]')).to_contain_text(ACKNOWLEDGE)
    page.locator('.djs-context-pad [data-action="replace"]').click()
    with page.expect_response(lambda answer: checks_user_task(answer, task)) as checked:
        page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
        expect(page.locator("#properties .bio-properties-panel-header-type")).to_have_text("用户任务")
        expect(page.locator('[data-entry-id="kesu-candidate-groups"]')).to_contain_text("任务交给所在泳道 客户服务")
        expect(page.locator("#problems li.problem-none")).to_have_count(1)
    assert checked.value.json()["errors"] == []  # the server's check agrees with the lint
    expect(page.locator("#problems li.problem-none")).to_have_count(1)
    page.fill("#note", NOTE)
    shot(page, 3)
    page.click("#publish")
    expect(page.locator("#publish-status")).to_have_class("flash flash-success", timeout=15000)
    shot(page, 4)
    page.locator("#publish-status a").click()
    expect(page.locator('tr[data-key="complaint_standard"][data-version="2"]')).to_contain_text(NOTE)
    shot(page, 5)


def see_the_change(page: Page, task: str) -> None:
    """From the Procedures page's Changes link, the diff colours the new task as added and lists it."""
    page.locator('tr[data-key="complaint_standard"][data-version="2"] a[href*="/diff"]').click()
    expect(page.locator("#diff")).to_have_attribute("data-ready", "true", timeout=15000)
    expect(page.locator(f'#diff-new [data-element-id="{task}"].diff-added')).to_have_count(1)
    expect(page.locator(f'.group-added .change[data-element="{task}"]')).to_contain_text(ACKNOWLEDGE)
    rewired = page.locator('.group-changed .change[data-element="flow_valid_yes"]')
    expect(rewired.locator(".value.old")).to_have_text("grade_complaint")
    expect(rewired.locator(".value.new")).to_have_text(task)
    page.locator(f'.group-added .change[data-element="{task}"]').click()
    shot(page, 6)


def move_the_running_complaint(page: Page, number: str) -> None:
    """From the Procedures page the owner opens the dry run, sees the complaint can move, and moves it."""
    goto(page, "/procedures/")
    submit(page, page.locator('tr[data-key="complaint_standard"][data-version="2"] a[href*="/migrate"]'))
    row = page.locator("table.migration tr.movable").filter(has=page.locator("a.number", has_text=number))
    expect(row).to_have_count(1)
    expect(row.locator("input[name=instance]")).to_be_checked()
    expect(row).to_contain_text("判定投诉是否成立")
    shot(page, 7)
    submit(page, "form button[type=submit].primary")
    expect(page.locator(".migration-results li.moved")).to_contain_text(number)
    expect(page.locator("table.migration")).to_have_count(0)
    shot(page, 8)


def inboxes_follow(page: Page, acme, number: str, task: str) -> None:
    """The validity check waits on version 2; once done, the new task is in customer service's inbox, and after
    it the standard path goes on to quality's grading."""
    sign_in(page, acme.email("service"))
    row = inbox_row(page, number, "check_validity")
    expect(row).to_have_count(1)
    submit(page, row.locator("a.number"))
    expect(page.locator("table.history tr.event-instance_migrated")).to_have_count(1)
    expect(page.locator(".pagehead p.muted")).to_contain_text("第 2 版")
    shot(page, 9)
    do_task(page, number, "check_validity", {"valid": True, "validity_note": "批次 2603 确有结块"})
    acknowledge = inbox_row(page, number, task)
    expect(acknowledge.locator("td.taskname")).to_have_text(ACKNOWLEDGE)
    expect(acknowledge).to_contain_text("客户服务")
    shot(page, 10)
    do_task(page, number, task, {})
    sign_in(page, acme.email("quality"))
    expect(inbox_row(page, number, "grade_complaint")).to_have_count(1)
    shot(page, 11)


def test_owner_adds_a_task_publishes_it_moves_a_running_complaint_and_the_inboxes_follow(page, js_errors, acme):
    number = register_and_see_first_task(page, acme)
    task = draw_task_and_see_lint(page, acme)
    fix_and_publish(page, task)
    see_the_change(page, task)
    move_the_running_complaint(page, number)
    inboxes_follow(page, acme, number, task)
    assert js_errors == []
