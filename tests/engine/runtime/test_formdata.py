"""A task submission contributes only the fields its task declares, each of the declared type and limits.

The gateways read instance data, so a key one task does not declare (another lane's `approved`, the
handler's `customer_caused`, the script's `callback_attempts`) must never get in through its form.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from complaints.registration import register
from conftest import GRADING
from engine import queries
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.repository.specs import FieldSpec, Option
from engine.runtime.formdata import FormError, clean


def registered(database, engine, acme, complaint_data) -> int:
    with database.session() as s:
        version = s.get(ProcessVersion, acme.version.id)
        return register(s, engine, version, acme.actor("service"), complaint_data, acme.timezone).instance_id


def open_task(database, instance_id: int) -> InboxTask:
    with database.session() as s:
        return s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))


def instance_data(database, engine, instance_id: int) -> dict:
    with database.session() as s:
        return queries.instance_view(s, engine, s.get(Instance, instance_id)).data


def snapshot(database, instance_id: int) -> tuple:
    with database.session() as s:
        i = s.get(Instance, instance_id)
        events = list(s.scalars(sa.select(Event.type).where(Event.instance_id == instance_id).order_by(Event.seq)))
        return i.state, i.lock_version, i.event_count, events


def complete(database, engine, acme, key: str, task_id: str, data: dict) -> None:
    with database.session() as s:
        engine.complete(s, task_id, acme.actor(key), data)


# -- smuggling through the engine ------------------------------------------------------------------------------

@pytest.mark.parametrize("smuggled", [
    {"approved": True},            # the quality lead's and the manager's decision
    {"customer_caused": True},     # the handling department's decision
    {"satisfied": True},           # the callback's decision
    {"callback_attempts": 3},      # set only by the diagram's scripts
    {"complaint_number": "999999-9999"},  # registration data
])
def test_undeclared_field_is_refused_and_nothing_is_merged(database, engine, acme, complaint_data, smuggled):
    instance_id = registered(database, engine, acme, complaint_data)
    task = open_task(database, instance_id)
    assert task.element_id == "check_validity"
    before = snapshot(database, instance_id)

    with pytest.raises(FormError) as refused:
        complete(database, engine, acme, "service", task.id, {"valid": True, "validity_note": "成立", **smuggled})
    [field] = smuggled
    assert {k: e.code for k, e in refused.value.errors.items()} == {field: "unknown"}
    assert field in str(refused.value)
    assert snapshot(database, instance_id) == before
    data = instance_data(database, engine, instance_id)
    assert "valid" not in data and data.get(field) != smuggled[field]

    complete(database, engine, acme, "service", task.id, {"valid": True, "validity_note": "成立"})
    data = instance_data(database, engine, instance_id)
    assert data["valid"] is True and data.get(field) != smuggled[field]
    assert open_task(database, instance_id).element_id == "grade_complaint"


def test_every_bad_field_of_a_submission_is_reported_at_once(database, engine, acme, complaint_data):
    instance_id = registered(database, engine, acme, complaint_data)
    complete(database, engine, acme, "service", open_task(database, instance_id).id, {"valid": True})
    task = open_task(database, instance_id)
    with pytest.raises(FormError) as refused:
        complete(database, engine, acme, "quality", task.id, {**GRADING, "defect_type": "type_9", "urgency": None,
                                                               "handling_cost": "many", "effective": True})
    assert {k: e.code for k, e in refused.value.errors.items()} == {
        "defect_type": "choice", "handling_cost": "integer", "urgency": "required", "effective": "unknown"}
    assert "1, 2, 3, none" in str(refused.value.errors["defect_type"])


def test_submitted_values_are_stored_typed(database, engine, acme, complaint_data):
    instance_id = registered(database, engine, acme, complaint_data)
    complete(database, engine, acme, "service", open_task(database, instance_id).id,
             {"valid": "true", "validity_note": "  有效  "})
    data = instance_data(database, engine, instance_id)
    assert (data["valid"], data["validity_note"]) == (True, "有效")


def test_reached_callback_without_satisfied_is_refused_by_the_engine(database, engine, acme, complaint_data):
    instance_id = registered(database, engine, acme, complaint_data)
    for key, data in [("service", {"valid": True}), ("quality", GRADING),
                      ("quality", {"handling_department": "Handling Department",
                                   "responsible_person": "handler@acme.test"}),
                      ("handler", {"root_cause": "储存", "customer_caused": True, "site_visit": False}),
                      ("service", {"reply_content": "说明"})]:
        complete(database, engine, acme, key, open_task(database, instance_id).id, data)
    task = open_task(database, instance_id)
    assert task.element_id == "callback"
    with pytest.raises(FormError) as refused:
        complete(database, engine, acme, "service", task.id, {"callback_reached": True})
    assert set(refused.value.errors) == {"satisfied"}


# -- clean() with hand-made fields -----------------------------------------------------------------------------

def spec(type_: str = "string", **kwargs) -> FieldSpec:
    return FieldSpec(id="f", type=type_, label="F", **kwargs)


LEVELS = (Option("level_1", "Level 1", {}), Option("level_2", "Level 2", {}))


@pytest.mark.parametrize("field, value, cleaned", [
    (spec("string"), "  text  ", "text"),
    (spec("string"), 42, "42"),
    (spec("long"), 42, 42),
    (spec("long"), "-7", -7),
    (spec("long", min=1, max=10), 10, 10),
    (spec("boolean"), True, True),
    (spec("boolean"), "false", False),
    (spec("boolean"), "True", True),
    (spec("date"), "2026-02-28", "2026-02-28"),
    (spec("enum", options=LEVELS), "level_2", "level_2"),
    (spec("string", minlength=2, maxlength=3), "abc", "abc"),
    (spec("string", required=False), "", None),
    (spec("string", required=False), None, None),
])
def test_valid_values_are_cleaned_to_their_type(field, value, cleaned):
    assert clean((field,), {"f": value}) == {"f": cleaned}


@pytest.mark.parametrize("field, value, code", [
    (spec("string"), ["a"], "text"),
    (spec("string"), True, "text"),
    (spec("string", minlength=3), "ab", "minlength"),
    (spec("string", maxlength=3), "abcd", "maxlength"),
    (spec("string", required=True), "   ", "required"),
    (spec("long"), "3.5", "integer"),
    (spec("long"), 3.5, "integer"),
    (spec("long"), True, "integer"),
    (spec("long"), "twelve", "integer"),
    (spec("long", min=1), 0, "min"),
    (spec("long", max=10), 11, "max"),
    (spec("long", required=True), None, "required"),
    (spec("boolean"), "yes", "boolean"),
    (spec("boolean"), 1, "boolean"),
    (spec("boolean", required=True), "", "required"),
    (spec("date"), "2026-02-30", "date"),
    (spec("date"), "next monday", "date"),
    (spec("enum", options=LEVELS), "level_3", "choice"),
    (spec("enum", options=LEVELS), "Level 1", "choice"),
    (spec("enum", options=LEVELS, required=True), None, "required"),
    (spec("string", readonly=True), "x", "readonly"),
    (spec("string", readonly=True), "", "readonly"),
])
def test_bad_values_are_refused_naming_the_field(field, value, code):
    with pytest.raises(FormError) as refused:
        clean((field,), {"f": value})
    assert {k: e.code for k, e in refused.value.errors.items()} == {"f": code}
    assert str(refused.value).startswith("f: ")


def test_limit_messages_say_the_limit():
    with pytest.raises(FormError) as refused:
        clean((spec("long", min=1.0), FieldSpec("g", "string", "G", maxlength=2)), {"f": 0, "g": "abc"})
    assert str(refused.value.errors["f"]) == "must be at least 1"
    assert str(refused.value.errors["g"]) == "must be at most 2 characters"


def test_required_field_left_out_is_refused_and_optional_one_is_not_invented():
    fields = (FieldSpec("needed", "string", "N", required=True), FieldSpec("optional", "string", "O"))
    with pytest.raises(FormError) as refused:
        clean(fields, {})
    assert {k: e.code for k, e in refused.value.errors.items()} == {"needed": "required"}
    assert clean(fields, {"needed": "x"}) == {"needed": "x"}


def test_readonly_field_is_never_taken_from_the_submission():
    fields = (FieldSpec("shown", "string", "S", readonly=True), FieldSpec("note", "string", "N"))
    assert clean(fields, {"note": "x"}) == {"note": "x"}
    with pytest.raises(FormError) as refused:
        clean(fields, {"note": "x", "shown": "changed"})
    assert {k: e.code for k, e in refused.value.errors.items()} == {"shown": "readonly"}


@pytest.mark.parametrize("value", [["level_1"], {"id": "level_1"}])
def test_enum_given_a_list_or_dict_is_refused_as_a_bad_choice(value):
    with pytest.raises(FormError) as refused:
        clean((spec("enum", options=LEVELS),), {"f": value})
    assert refused.value.errors["f"].code == "choice"
