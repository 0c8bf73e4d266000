"""Every shipped procedure walked through its HTML pages, on every path of the engine tests' tables, loops included;
the scheduled monthly report's form; and a diagram drawn in Camunda Modeler, published and walked the same way.

The paths are the engine tests' own (tests/engine: test_standard_procedure, test_shipped_procedures,
test_graded_procedure), imported, so each path is written once. Here each row is worked as a person works it: the
lane's employee finds the task in the inbox, opens its page (never a server error), sees in every field of the form
what this task entered in the earlier round, whatever the field's type (another task's answer to the same field
is not carried over: each approver decides afresh), claims it unless the procedure gave it to them, and submits the
form. Time passes on the engine tests' fake clock and the timer worker fires what is due, as there. At the end the
case must have closed at the path's end event, and its page, replay and evidence pack must open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import lxml.html
import pytest

from conftest import ROOT
from engine.jobs.periodic import start_due
from engine.records import Instance
from engine.repository.decisions import publish_decision
from test_graded_procedure import (
    ACCEPTED,
    CLASS_A,
    GM_OK,
    HANDLE,
    LEVEL_1,
    PATHS as GRADED_PATHS,
    REPORT,
    REVIEW_OK,
    REVIEW_REJECTS,
    VALID as GRADED_VALID,
    S as GRADED_S,
)
from test_pages import claim, complete, inbox, instance_id, register, task_on, text
from test_procedure_deadlines import drive_on
from test_procedures import upload
from test_registration_and_routing import publish_more
from test_shipped_procedures import PATHS as SHIPPED_PATHS, Tick, clock, history  # clock: a fixture
from test_standard_procedure import (
    ASSIGN,
    GRADE,
    HANDLING,
    MANAGEMENT,
    MANAGER_REJECTS,
    NO_VISIT,
    PATHS as STANDARD_PATHS,
    PLAN,
    QUALITY,
    QUALITY_APPROVES,
    QUALITY_REJECTS,
    VALID,
    WORKER,
    S,
)

DAY = timedelta(days=1)

# A path only the pages walk: the graded procedure's daily follow-up of class A and B complaints needs days to pass,
# which the graded table (worked within the hour) leaves to test_procedure_deadlines. A class A case is followed up
# on two days, rejected by quality once, and closed.
FOLLOWED_UP = GRADED_S("follow_up", MANAGEMENT, ("handle", "progress_feedback"),
                         follow_up_note="已督促处理部门今日换件")
WALK_ONLY: dict[str, tuple[str, list, str]] = {
    "class_a_followed_up_daily_until_closed": ("complaint_graded", [
        GRADED_VALID, CLASS_A, REPORT, LEVEL_1,
        Tick(DAY + timedelta(minutes=1), fires=("daily_follow_up",)), FOLLOWED_UP,
        Tick(DAY, fires=("daily_follow_up",)), FOLLOWED_UP,
        *HANDLE, REVIEW_REJECTS, *HANDLE, REVIEW_OK, GM_OK, ACCEPTED,
    ], "end_closed"),
}
@dataclass(frozen=True)
class Walk:
    """One path of one procedure: its rows (the engine tests' Steps and Ticks) and the end event it must reach."""

    procedure: str
    steps: list
    end: str


def _walks() -> dict[tuple[str, str], Walk]:
    """Every path of every shipped procedure, by (procedure, path)."""
    walks = {("complaint_standard", name): Walk("complaint_standard", steps, end)
             for name, (steps, end) in STANDARD_PATHS.items()}
    walks |= {(key, name): Walk(key, steps, end) for name, (key, steps, end) in SHIPPED_PATHS.items()}
    walks |= {("complaint_graded", name): Walk("complaint_graded", steps, end)
              for name, (steps, end, _decided) in GRADED_PATHS.items()}
    walks |= {(key, name): Walk(key, steps, end) for name, (key, steps, end) in WALK_ONLY.items()}
    return walks


WALKS = _walks()


# -- the form as the page shows it, and as a browser posts it ----------------------------------------------------

def task_form(page: str):
    """The task form of a task page, parsed."""
    [form] = [f for f in lxml.html.fromstring(page).forms if "taskform" in (f.get("class") or "")]
    return form


def form_values(page: str) -> dict[str, str]:
    """What the task form shows in each field, as a browser would post it untouched ('' for nothing chosen)."""
    form = task_form(page)
    values = dict(form.fields)
    for area in form.xpath(".//textarea"):  # a browser drops the line break that opens a text area's content
        values[area.name] = re.sub(r"^\r?\n", "", area.value or "")
    return {name: value or "" for name, value in values.items() if name != "csrf_token"}


def as_posted(data: dict[str, Any]) -> dict[str, str]:
    """A row's submission as the form posts it: booleans as the radio values, numbers as typed, None left empty."""
    return {key: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for key, value in data.items() if value is not None}


# -- the people, the clock and the case ----------------------------------------------------------------------------

class People:
    """The company's people, each signed in once, in a browser of their own, when first needed."""

    def __init__(self, company, login) -> None:
        self.company, self.login, self.browsers = company, login, {}

    def __getitem__(self, key: str):
        if key not in self.browsers:
            self.browsers[key] = self.login(self.company.email(key))
        return self.browsers[key]


@pytest.fixture()
def people(acme, login) -> People:
    return People(acme, login)


@pytest.fixture()
def on_the_clock(app, clock, monkeypatch):
    """The app's engine (steps, pages, due dates) on the engine tests' fake clock, which Ticks move."""
    monkeypatch.setattr(app.extensions["kesu.engine"], "clock", clock)
    return clock


def publish_procedure(database, company, key: str) -> None:
    """Publish a shipped procedure beside the standard one (the graded one with its class table)."""
    if key == "complaint_graded":
        with database.session() as s:
            publish_decision(s, company.id, (ROOT / "processes" / "complaint_class.dmn").read_bytes(), None)
    if key != "complaint_standard":
        publish_more(database, company, f"{key}.bpmn")


def register_on(people: People, key: str, complaint_data: dict) -> int:
    """Register a complaint on procedure `key` through the registration page; the case's instance id."""
    response = register(people["service"], {**complaint_data, "procedure": key})
    assert response.status_code == 303, text(response)
    return instance_id(response)


def held_from_the_start(engine, database, case: int, element: str) -> bool:
    """Whether the diagram gives this task to a person (camunda:assignee), so it comes held, with nothing to claim."""
    with database.session() as s:
        return bool(engine.compiled(s.get(Instance, case).version).tasks[element].assignee)


Answers = dict[str, dict[str, str]]  # task -> what it posted last, by field


def open_and_check(person, task_id: str, element: str, answers: Answers) -> dict[str, str]:
    """Open the task's page: it must answer 200 and show in every field what this task entered last time (another
    task's answer to the same field is not carried over: each approver decides afresh); what it shows."""
    page = person.get(f"/tasks/{task_id}")
    assert page.status_code == 200, text(page)
    shown = form_values(page.get_data(as_text=True))
    assert shown == {name: answers.get(element, {}).get(name, "") for name in shown}
    return shown


def work_row(people: People, engine, database, case: int, row, answers: Answers) -> None:
    """Work one row as its lane's employee: find it in the inbox, open it, claim it unless held, submit the form."""
    person = people[WORKER[getattr(row, "lane", None) or row.group]]
    task_id = task_on(person, row.task)
    shown = open_and_check(person, task_id, row.task, answers)
    if held_from_the_start(engine, database, case, row.task):
        [listed] = [html for found, _, html in inbox(person, "mine") if found == task_id]
        assert f"/tasks/{task_id}/claim" not in listed
    else:
        assert claim(person, task_id).status_code == 303
    posted = as_posted(row.data)
    response = complete(person, task_id, posted)
    assert response.status_code == 303, text(response)
    answers[row.task] = {name: posted.get(name, "") for name in shown}


def walk(database, engine, clock, company, people: People, case: int, steps: list,
         answers: Answers | None = None) -> Answers:
    """Work the rows on the case through the pages, letting time pass at each Tick; the answers posted."""
    answers = {} if answers is None else answers
    for step in steps:
        if isinstance(step, Tick):
            drive_on(database, engine, clock, company, case, step.delta)  # time passes, the timer worker runs
        else:
            work_row(people, engine, database, case, step, answers)
    return answers


def assert_closed_at(database, company, case: int, path: Walk) -> None:
    """The case ended at the path's end event, having completed exactly its rows and fired exactly its timers."""
    with database.session() as s:
        row = s.get(Instance, case)
        assert (row.status, row.end_element, row.error, row.next_timer_at) == ("completed", path.end, None, None)
    events = history(database, company, case)
    assert [e.element_id for e in events if e.type == "task_completed"] == \
        [s.task for s in path.steps if not isinstance(s, Tick)]
    assert [e.element_id for e in events if e.type == "timer_fired"] == \
        [name for s in path.steps if isinstance(s, Tick) for name in s.fires]
    assert (events[-1].type, events[-1].element_id) == ("instance_completed", path.end)


def assert_record_pages_open(people: People, case: int) -> None:
    """The complaint page, its replay (re-executed without a mismatch) and its evidence pack open for the auditor
    once the case is closed."""
    auditor = people["auditor"]
    page = auditor.get(f"/complaints/{case}")
    assert page.status_code == 200 and 'class="badge status-completed"' in text(page)
    replay = auditor.get(f"/complaints/{case}/replay")
    assert replay.status_code == 200
    assert re.findall(r'<div class="flash flash-error"[^>]*>(.*?)</div>', text(replay), re.S) == []
    assert auditor.get(f"/complaints/{case}/evidence").status_code == 200


# -- every path of every shipped procedure -------------------------------------------------------------------------

@pytest.mark.parametrize("procedure, path", list(WALKS), ids=[f"{key}-{name}" for key, name in WALKS])
def test_every_task_page_opens_shows_what_the_case_holds_and_submits_until_the_case_closes(
        database, engine, on_the_clock, acme, people, complaint_data, procedure, path):
    walked = WALKS[procedure, path]
    publish_procedure(database, acme, procedure)
    case = register_on(people, procedure, complaint_data)
    walk(database, engine, on_the_clock, acme, people, case, walked.steps)
    assert_closed_at(database, acme, case, walked)
    assert_record_pages_open(people, case)


def test_plan_revisited_after_rejection_shows_the_earlier_date(database, engine, on_the_clock, acme, people,
                                                                complaint_data):
    """The task page answered 500 when a date field came round again (WTForms got the stored ISO text)."""
    moved = replace(PLAN, data={**PLAN.data, "planned_completion": "2026-04-02"})
    case = register_on(people, "complaint_standard", complaint_data)
    walk(database, engine, on_the_clock, acme, people, case,
         [VALID, GRADE, ASSIGN, NO_VISIT, PLAN, QUALITY_REJECTS, moved, QUALITY_REJECTS])
    handler = people["handler"]
    page = handler.get(f"/tasks/{task_on(handler, 'plan')}")
    assert page.status_code == 200
    [date] = task_form(page.get_data(as_text=True)).xpath(".//input[@name='planned_completion']")
    assert (date.get("type"), date.get("value")) == ("date", "2026-04-02")  # the latest round's, not the first's


def test_the_manager_decides_afresh_and_sees_only_their_own_earlier_answer(database, engine, on_the_clock, acme,
                                                                            people, complaint_data):
    """Both approvals answer `approved`: the manager's form must not arrive with the quality lead's yes chosen, but
    after sending the plan back the manager sees their own no and comment again."""
    case = register_on(people, "complaint_standard", complaint_data)
    answers = walk(database, engine, on_the_clock, acme, people, case,
                   [VALID, GRADE, ASSIGN, NO_VISIT, PLAN, QUALITY_APPROVES])
    manager = people["manager"]
    first = form_values(manager.get(f"/tasks/{task_on(manager, 'approve_manager')}").get_data(as_text=True))
    assert (first["approved"], first["approval_comment"]) == ("", "")
    walk(database, engine, on_the_clock, acme, people, case, [MANAGER_REJECTS, PLAN, QUALITY_APPROVES], answers)
    again = form_values(manager.get(f"/tasks/{task_on(manager, 'approve_manager')}").get_data(as_text=True))
    assert (again["approved"], again["approval_comment"]) == ("false", MANAGER_REJECTS.data["approval_comment"])


# -- the scheduled monthly report ----------------------------------------------------------------------------------

REPORTED = S("write_report", QUALITY, {"report_month": "2026-03", "complaints_received": 14, "complaints_closed": 12,
                                       "rectification_notices": 2, "findings": "包装吸潮投诉集中，已发整改通知"})


def test_scheduled_monthly_report_form_opens_empty_and_files_the_report(database, engine, on_the_clock, acme, people):
    publish_more(database, acme, "supervision_monthly.bpmn")
    start_due(database, engine)  # works out the first run: 1 April, 09:00 in Shanghai
    on_the_clock.now = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
    [case] = start_due(database, engine).cases
    quality = people["quality"]
    page = quality.get(f"/tasks/{task_on(quality, 'write_report')}").get_data(as_text=True)
    assert 'class="card facts"' in page and not re.search(r'href="/complaints/\d', page)  # no complaint to link to
    walk(database, engine, on_the_clock, acme, people, case, [REPORTED])
    with database.session() as s:
        row = s.get(Instance, case)
        assert (row.status, row.end_element) == ("completed", "end_filed")
    assert [e.data["submitted"] for e in history(database, acme, case) if e.type == "task_completed"] == [
        {**REPORTED.data, "major_complaints": None}]


# -- a diagram drawn in Camunda Modeler ----------------------------------------------------------------------------

FOREIGN = ROOT / "tests" / "web" / "diagrams" / "camunda_modeler_rework.bpmn"
PLANNED = S("Activity_plan", HANDLING, {"rework_date": "2026-03-20", "batches": 3, "method": "replace",
                                        "customer_informed": False, "plan_note": "整批更换"})
REJECTED = S("Activity_review", QUALITY, {"approved": False, "review_comment": "日期太晚"})
REPLANNED = S("Activity_plan", HANDLING, {"rework_date": "2026-03-13", "batches": 4, "method": "repair",
                                          "customer_informed": True, "plan_note": "现场返修"})
APPROVED = S("Activity_review", QUALITY, {"approved": True})


def publish_by_upload(acme, people) -> None:
    response = upload(people["owner"], FOREIGN.read_bytes(), "drawn in Camunda Modeler")
    assert response.status_code == 303, text(response)


def publish_by_api(acme, people, api) -> None:
    response = api(acme.email("owner")).post("/processes", data=FOREIGN.read_bytes(), content_type="application/xml")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("channel", ["upload", "api"])
def test_camunda_modeler_diagram_revisited_after_rejection_shows_every_field_as_entered_before(
        database, engine, on_the_clock, acme, people, api, complaint_data, channel):
    publish_by_upload(acme, people) if channel == "upload" else publish_by_api(acme, people, api)
    case = register_on(people, "Process_rework", complaint_data)
    answers = walk(database, engine, on_the_clock, acme, people, case, [PLANNED, REJECTED])

    handler = people["handler"]
    page = handler.get(f"/tasks/{task_on(handler, 'Activity_plan')}")
    assert page.status_code == 200
    form = task_form(page.get_data(as_text=True))
    [date] = form.xpath(".//input[@name='rework_date']")
    assert (date.get("type"), date.get("value")) == ("date", "2026-03-20")
    [batches] = form.xpath(".//input[@name='batches']")
    assert batches.get("value") == "3"
    assert form.xpath(".//select[@name='method']/option[@selected]/@value") == ["replace"]
    assert form.xpath(".//input[@name='customer_informed'][@checked]/@value") == ["false"]  # 'no' is an answer
    assert form_values(page.get_data(as_text=True))["plan_note"] == "整批更换"

    walk(database, engine, on_the_clock, acme, people, case, [REPLANNED, APPROVED], answers)
    assert_closed_at(database, acme, case, Walk("Process_rework", [PLANNED, REJECTED, REPLANNED, APPROVED],
                                                "Event_done"))
    assert_record_pages_open(people, case)
