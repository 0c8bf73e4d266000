"""The assignment step routes the handling department's tasks: the standard procedure's `assign` chooses one of the
company's groups and one of its users, and `${handling_department}` / `${responsible_person}` on the following tasks
offer them to that group, held by that person, again after a reopen; the history records to whom.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from complaints.registration import register
from conftest import STANDARD
from engine.history.rerun import rerun
from engine.records import Event, InboxTask, Instance, ProcessVersion, TaskCandidate
from engine.repository.specs import TaskMeta
from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError
from engine.runtime.assignment import assign, expression_of
from engine.runtime.formdata import FormError
from notifications.models import Notification
from test_loops import INTAKE, REOPEN_ROUND, complete

ASSIGN = ("assign", "quality", {"handling_department": "Quality", "responsible_person": "service2@acme.test"})


def registered(database, engine, company, complaint_data, steps) -> int:
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        instance_id = register(s, engine, version, company.actor("service"), complaint_data,
                               company.timezone).instance_id
        for element, key, data in steps:
            complete(s, engine, company, instance_id, element, key, data)
    return instance_id


def open_row(database, instance_id: int) -> tuple[str, int | None, list[str]]:
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
        principals = s.scalars(sa.select(TaskCandidate.principal).where(TaskCandidate.task_id == row.id)).all()
        return row.element_id, row.assignee_id, sorted(principals)


def events_of(database, instance_id: int, type_: str) -> list[Event]:
    with database.session() as s:
        return list(s.scalars(sa.select(Event).where(Event.instance_id == instance_id, Event.type == type_)
                              .order_by(Event.seq)))


def test_the_chosen_department_and_person_receive_the_next_task_held_by_that_person(database, engine, acme,
                                                                                    complaint_data):
    case = registered(database, engine, acme, complaint_data, [*INTAKE[:2], ASSIGN])
    assert open_row(database, case) == ("analyse_cause", acme.users["service2"].id, ["group:Quality"])
    [event] = events_of(database, case, "task_assigned")
    assert (event.element_id, event.data) == ("analyse_cause", {
        "assignee": "service2@acme.test", "assignee_id": acme.users["service2"].id, "name": "Service2"})


def test_a_reopened_case_goes_back_to_the_same_responsible_person(database, engine, acme, complaint_data):
    analysed, replied, unsatisfied = REOPEN_ROUND
    round_ = [("analyse_cause", "service2", analysed[2]), replied, unsatisfied]
    case = registered(database, engine, acme, complaint_data, [*INTAKE[:2], ASSIGN, *round_])
    assert open_row(database, case) == ("analyse_cause", acme.users["service2"].id, ["group:Quality"])
    assert [e.element_id for e in events_of(database, case, "task_assigned")] == ["analyse_cause", "analyse_cause"]


@pytest.mark.parametrize("field, value, code", [
    ("responsible_person", "nobody@acme.test", "unknown_user"),
    ("responsible_person", "service@rival.test", "unknown_user"),
    ("handling_department", "生产部", "unknown_group"),
])
def test_assignment_refuses_a_person_or_group_the_company_does_not_have(database, engine, acme, rival, complaint_data,
                                                                        field, value, code):
    case = registered(database, engine, acme, complaint_data, INTAKE[:2])
    with pytest.raises(FormError) as refused, database.session() as s:
        complete(s, engine, acme, case, "assign", "quality", {**INTAKE[2][2], field: value})
    assert {name: error.code for name, error in refused.value.errors.items()} == {field: code}
    assert open_row(database, case)[0] == "assign"


def test_a_deactivated_responsible_person_leaves_the_next_task_offered_to_the_department(database, engine, acme,
                                                                                       complaint_data):
    case = registered(database, engine, acme, complaint_data, INTAKE)
    with database.session() as s:
        s.get(type(acme.users["handler"]), acme.users["handler"].id).active = False
    analysed, replied, unsatisfied = REOPEN_ROUND
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == case))
        engine.complete(s, row.id, acme.actor("handler"), dict(analysed[2]))  # held since before: still theirs
        for element, key, data in (replied, unsatisfied):
            complete(s, engine, acme, case, element, key, data)
    assert open_row(database, case) == ("analyse_cause", None, ["group:Handling Department"])
    last = events_of(database, case, "task_assigned")[-1]
    assert (last.data["assignee"], last.data["assignee_id"]) == ("handler@acme.test", None)


def test_the_history_with_assignments_re_runs_and_a_reopen_tells_who_worked_on_it(database, engine, acme,
                                                                                 complaint_data):
    case = registered(database, engine, acme, complaint_data, [*INTAKE, *REOPEN_ROUND])
    with database.session() as s:
        report = rerun(s, engine, s.get(Instance, case))
    assert report.confirmed, report.divergence
    with database.session() as s:
        told = s.scalars(sa.select(Notification.user_id).where(Notification.kind == "reopened",
                                                               Notification.instance_id == case)).all()
    # the one who closed the callback reopened it; the others who worked on it are told
    assert sorted(told) == sorted(acme.users[key].id for key in ("quality", "handler"))


def test_expressions_are_python_in_dollar_braces_and_an_empty_value_offers_the_lane():
    meta = TaskMeta("t", "T", {}, "Handling Department", ("${department}",), ("${reviewers}",),
                    "${owner}", None, None, None, ())
    values = {"department": "", "reviewers": ["a@x.cn", "b@x.cn"], "owner": None}
    found = assign(meta, values.__getitem__)
    assert (found.groups, found.users, found.assignee) == ((), ("a@x.cn", "b@x.cn"), None)
    assert found.principals("Handling Department") == ["user:a@x.cn", "user:b@x.cn"]
    assert assign(meta, {**values, "reviewers": None}.__getitem__).principals("Handling Department") == [
        "group:Handling Department"]
    assert (expression_of(" ${ responsible } "), expression_of("Quality")) == ("responsible", None)


def test_publishing_names_a_broken_assignment_expression_and_accepts_dynamic_groups():
    xml = STANDARD.read_bytes()
    check_diagram(xml, ("Customer Service", "Quality", "Management"))  # ${handling_department}: any group
    broken = xml.replace(b'camunda:assignee="${responsible_person}" camunda:dueDate="P1D" camunda:priority="50"',
                         b'camunda:assignee="${responsible_person +}" camunda:dueDate="P1D" camunda:priority="50"')
    with pytest.raises(DiagramError) as refused:
        check_diagram(broken)
    assert [(element, message.split(":")[0]) for element, message in refused.value.problems] == [
        ("analyse_cause", "assignee")]
