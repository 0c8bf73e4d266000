"""What a task form shows before anyone types, beyond the values of an earlier round (test_procedure_walks): the
defaults a diagram declares, read-only fields, and date fields whose value a script set. Each on a variant of the
diagram drawn in Camunda Modeler that the walks publish."""
from __future__ import annotations

from datetime import UTC, datetime, timezone

import pytest

from test_pages import claim, complete, task_on, text
from test_procedure_walks import (
    FOREIGN,
    PLANNED,
    REJECTED,
    clock,  # a fixture
    form_values,
    on_the_clock,  # a fixture
    people,  # a fixture
    register_on,
    walk,
)
from test_procedures import upload

PLAN_FIELDS = {
    "rework_date": '<camunda:formField id="rework_date" label="Rework date" type="date" />',
    "plan_note": '<camunda:formField id="plan_note" label="Note" type="string" />',
    "method": '<camunda:formField id="method" label="Method" type="enum">',
    "customer_informed": '<camunda:formField id="customer_informed" label="Customer informed" type="boolean" />',
    "batches": '<camunda:formField id="batches" label="Batches affected" type="long">',
}
START_TO_PLAN = '<bpmn:sequenceFlow id="Flow_1s0z2ke" sourceRef="StartEvent_1" targetRef="Activity_plan" />'


def variant(*changes: tuple[str, str]) -> bytes:
    """The Camunda Modeler diagram with some of its text replaced."""
    xml = FOREIGN.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml.encode("utf-8")


def with_defaults(**defaults: str) -> tuple[str, str]:
    """Changes giving plan fields a camunda:defaultValue each."""
    return tuple((PLAN_FIELDS[name], PLAN_FIELDS[name].replace(' type=', f' defaultValue="{value}" type=', 1))
                 for name, value in defaults.items())


def with_script_before_plan(script: str) -> tuple[tuple[str, str], ...]:
    """Changes running a script task between the start and the plan (Camunda Modeler writes no DI for it here)."""
    return ((START_TO_PLAN, '<bpmn:sequenceFlow id="Flow_1s0z2ke" sourceRef="StartEvent_1" targetRef="Script_set" />'
             '<bpmn:scriptTask id="Script_set" name="Suggest a date" scriptFormat="python">'
             f'<bpmn:incoming>Flow_1s0z2ke</bpmn:incoming><bpmn:outgoing>Flow_set</bpmn:outgoing>'
             f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
             '<bpmn:sequenceFlow id="Flow_set" sourceRef="Script_set" targetRef="Activity_plan" />'),
            ('<bpmn:incoming>Flow_1s0z2ke</bpmn:incoming>\n      <bpmn:incoming>Flow_rejected</bpmn:incoming>',
             '<bpmn:incoming>Flow_set</bpmn:incoming>\n      <bpmn:incoming>Flow_rejected</bpmn:incoming>'))


@pytest.fixture()
def publish_variant(people):
    """publish_variant(xml): the owner uploads the diagram on the procedures page."""
    def publish(xml: bytes) -> None:
        response = upload(people["owner"], xml, "variant")
        assert response.status_code == 303, text(response)
    return publish


def plan_page(people) -> dict[str, str]:
    """What the plan's form shows the handling department now."""
    handler = people["handler"]
    page = handler.get(f"/tasks/{task_on(handler, 'Activity_plan')}")
    assert page.status_code == 200, text(page)
    return form_values(page.get_data(as_text=True))


def test_declared_defaults_fill_the_first_visit_and_the_earlier_round_the_next(
        database, engine, on_the_clock, acme, people, publish_variant, complaint_data):
    publish_variant(variant(*with_defaults(rework_date="2026-05-01", batches="2", method="repair",
                                           customer_informed="true", plan_note="${now()}")))
    case = register_on(people, "Process_rework", complaint_data)
    assert plan_page(people) == {"rework_date": "2026-05-01", "batches": "2", "method": "repair",
                                 "customer_informed": "true", "plan_note": ""}  # an expression is another engine's

    walk(database, engine, on_the_clock, acme, people, case, [PLANNED, REJECTED],
         answers={"Activity_plan": {  # the defaults, as the plan shows them first
             "rework_date": "2026-05-01", "batches": "2", "method": "repair", "customer_informed": "true"}})
    assert plan_page(people) == {"rework_date": "2026-03-20", "batches": "3", "method": "replace",
                                 "customer_informed": "false", "plan_note": "整批更换"}  # 'no', not the default


SHOWN_DATE = ('<camunda:formField id="review_comment" label="Comment" type="string" />',
              '<camunda:formField id="review_comment" label="Comment" type="string" />'
              '<camunda:formField id="rework_date" label="Rework date" type="date"><camunda:validation>'
              '<camunda:constraint name="readonly" /><camunda:constraint name="required" /></camunda:validation>'
              '</camunda:formField>')  # the review shows the planned date, read-only and "required"


def test_read_only_field_shows_the_case_value_and_never_blocks_the_task(
        database, engine, on_the_clock, acme, people, publish_variant, complaint_data):
    """A required read-only field is one browsers do not send: the review could not be completed at all."""
    publish_variant(variant(SHOWN_DATE))
    case = register_on(people, "Process_rework", complaint_data)
    walk(database, engine, on_the_clock, acme, people, case, [PLANNED])
    quality = people["quality"]
    review = task_on(quality, "Activity_review")
    page = quality.get(f"/tasks/{review}").get_data(as_text=True)
    assert form_values(page)["rework_date"] == "2026-03-20" and 'disabled id="rework_date"' in page
    claim(quality, review)

    unanswered = complete(quality, review, {"review_comment": "看一下"})
    assert unanswered.status_code == 400  # the approval is missing, and the date is still shown
    assert form_values(unanswered.get_data(as_text=True)) == {"approved": "", "review_comment": "看一下",
                                                               "rework_date": "2026-03-20"}
    assert complete(quality, review, {"approved": "false"}).status_code == 303
    assert plan_page(people)["rework_date"] == "2026-03-20"


def test_date_field_holding_a_moment_shows_the_companys_local_date(
        database, engine, on_the_clock, acme, people, publish_variant, complaint_data):
    on_the_clock.now = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)  # 07:00 on 10 March in Shanghai
    publish_variant(variant(*with_script_before_plan('rework_date = deadline("P1D")')))
    register_on(people, "Process_rework", complaint_data)
    assert plan_page(people)["rework_date"] == "2026-03-11"  # 10 March 23:00 in UTC


def test_date_field_holding_no_date_opens_empty(database, engine, on_the_clock, acme, people, publish_variant,
                                                complaint_data):
    """A date field a script filled with a number made the task page answer 500."""
    publish_variant(variant(*with_script_before_plan("rework_date = 20260320")))
    register_on(people, "Process_rework", complaint_data)
    assert plan_page(people)["rework_date"] == ""


def test_read_only_field_never_blocks_the_task_through_the_api(database, engine, on_the_clock, acme, people, api,
                                                               publish_variant, complaint_data):
    publish_variant(variant(SHOWN_DATE))
    case = register_on(people, "Process_rework", complaint_data)
    walk(database, engine, on_the_clock, acme, people, case, [PLANNED])
    quality = api(acme.email("quality"))
    [review] = [t["id"] for t in quality.get("/tasks?scope=groups").get_json() if t["instance_id"] == case]
    response = quality.post(f"/tasks/{review}/complete", {"data": {"approved": False}})
    assert response.status_code == 200, response.get_json()
