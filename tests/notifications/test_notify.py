"""Who is told what: the engine observer tells the holder of a new task, or everyone it is offered to (never whoever
caused the step, never for test runs); `notify` skips inactive users and other companies' users and never repeats
an unread notification; `recipients` reads group and user principals within one company."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import User
from conftest import GROUPS
from engine.records import InboxTask
from engine.repository.publishing import publish
from notifications import notify, recipients
from notifications.models import Notification, NotificationPreferences

# prepare (offered to Customer Service) -> review (assigned to handler@acme.test, due in two hours) -> end
RELAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_relay" targetNamespace="http://kesu.test">
  <bpmn:process id="relay" name="Relay" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="prepare" name="Prepare the reply" camunda:candidateGroups="Customer Service">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="Review the reply" camunda:assignee="handler@acme.test" camunda:dueDate="PT2H">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="name:zh_Hans" value="审核答复" />
        <camunda:property name="name:zh_Hant" value="審核答覆" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def start_relay(database, engine, company, actor, key: str = "R-1") -> int:
    with database.session() as s:
        version = publish(s, company.id, RELAY, company.users["owner"].id, "", GROUPS)
        return engine.start(s, version, actor, {}, business_key=key).id


def open_task(database, instance_id: int, element_id: str) -> str:
    with database.session() as s:
        return s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == instance_id,
                                                      InboxTask.element_id == element_id))


def told(database, **where) -> list[tuple[int, str]]:
    """(user id, kind) of the notifications matching `where`, in order."""
    with database.session() as s:
        query = sa.select(Notification.user_id, Notification.kind).filter_by(**where).order_by(Notification.id)
        return [tuple(row) for row in s.execute(query)]


def only(database, **where) -> Notification:
    with database.session() as s:
        [found] = s.scalars(sa.select(Notification).filter_by(**where)).all()
        return found


def set_active(database, user_id: int, active: bool) -> None:
    with database.session() as s:
        s.get(User, user_id).active = active


# -- the engine observer ----------------------------------------------------------------------------------------


def test_a_task_offered_to_a_group_tells_its_members_but_not_who_opened_it(database, engine, acme):
    case = start_relay(database, engine, acme, acme.actor("service"))
    assert told(database, instance_id=case) == [(acme.users["service2"].id, "task_offered")]
    notification = only(database, instance_id=case)
    assert notification.task_id == open_task(database, case, "prepare")
    assert notification.params == {"number": "R-1", "task": {"": "Prepare the reply"}}
    assert notification.company_id == acme.id and notification.read_at is None


def test_a_task_with_an_assignee_tells_only_the_assignee_with_its_due_time(database, engine, acme):
    case = start_relay(database, engine, acme, acme.actor("service"))
    with database.session() as s:
        engine.complete(s, open_task(database, case, "prepare"), acme.actor("service2"), {})
    handler = acme.users["handler"].id
    assert told(database, instance_id=case, kind="task_assigned") == [(handler, "task_assigned")]
    notification = only(database, kind="task_assigned")
    assert notification.params["task"] == {"": "Review the reply", "zh_Hans": "审核答复", "zh_Hant": "審核答覆"}
    with database.session() as s:
        due = s.scalar(sa.select(InboxTask.due_at).where(InboxTask.id == notification.task_id))
    assert datetime.fromisoformat(notification.params["due_at"]) == due
    assert due - notification.created_at == timedelta(hours=2)


def test_the_assignee_who_opens_a_task_for_themselves_is_not_told(database, engine, acme):
    case = start_relay(database, engine, acme, acme.actor("service"))
    with database.session() as s:
        engine.complete(s, open_task(database, case, "prepare"), replace(acme.actor("handler"), groups=frozenset(
            {"Customer Service"})), {})
    assert told(database, kind="task_assigned") == []


def test_test_runs_tell_nobody(database, engine, acme):
    tester = replace(acme.actor("owner"), tester=True)
    case = start_relay(database, engine, acme, tester, "TEST-1")
    with database.session() as s:
        engine.complete(s, open_task(database, case, "prepare"), tester, {})
    assert open_task(database, case, "review") is not None
    assert told(database) == []


def test_registering_a_standard_complaint_tells_the_other_service_staff(acme, api, database, complaint_data):
    case = api(acme.email("service")).post("/processes/complaint_standard/instances", {"data": complaint_data})
    assert case.status_code == 201
    offered = told(database, instance_id=case.get_json()["id"], kind="task_offered")
    assert offered == [(acme.users["service2"].id, "task_offered")]


# -- notify ---------------------------------------------------------------------------------------------------


def test_notify_skips_inactive_users_and_other_companies_users(database, acme, rival):
    set_active(database, acme.users["service2"].id, False)
    wanted = [acme.users["service"].id, acme.users["service2"].id, rival.users["service"].id]
    with database.session() as s:
        added = notify(s, acme.id, wanted, "reopened", params={"number": "202611-0001"})
    assert [n.user_id for n in added] == [acme.users["service"].id]
    assert told(database) == [(acme.users["service"].id, "reopened")]


def test_notify_never_repeats_an_identical_unread_notification(database, acme):
    service = acme.users["service"].id
    with database.session() as s:
        notify(s, acme.id, [service], "reopened", params={"number": "202611-0001"})
        assert notify(s, acme.id, [service], "reopened", params={"number": "202611-0001"}) == []
        assert len(notify(s, acme.id, [service], "reopened", params={"number": "202611-0002"})) == 1
    with database.session() as s:
        s.execute(sa.update(Notification).values(read_at=datetime.now().astimezone()))
    with database.session() as s:
        assert len(notify(s, acme.id, [service], "reopened", params={"number": "202611-0001"})) == 1
    assert len(told(database)) == 3


def test_notify_refuses_an_unknown_kind(database, acme):
    with database.session() as s, pytest.raises(ValueError, match="no_such_kind"):
        notify(s, acme.id, [acme.users["service"].id], "no_such_kind", params={})


def test_notify_queues_a_mail_only_for_who_wants_it_mailed_at_once(database, acme):
    users = acme.users
    with database.session() as s:
        s.add(NotificationPreferences(user_id=users["service2"].id, muted=["sla_warning"], digest=False))
        s.add(NotificationPreferences(user_id=users["quality"].id, muted=[], digest=True))
        s.add(NotificationPreferences(user_id=users["handler"].id, muted=["reopened"], digest=False))
        ids = [users[key].id for key in ("service", "service2", "quality")]
        notify(s, acme.id, ids, "sla_warning", params={"number": "202611-0001"})
        notify(s, acme.id, [users["handler"].id], "task_assigned", params={"number": "202611-0001"})
    with database.session() as s:
        queued = dict(s.execute(sa.select(Notification.user_id, Notification.mail_due_at.is_not(None))).all())
    assert queued == {users["service"].id: True, users["service2"].id: False, users["quality"].id: False,
                      users["handler"].id: True}


# -- recipients ---------------------------------------------------------------------------------------------


def test_recipients_are_the_active_members_and_named_users_of_the_company(database, acme, rival):
    set_active(database, acme.users["manager"].id, False)
    with database.session() as s:
        found = recipients(s, acme.id, ["group:Customer Service", "group:Management", "user:Quality@Acme.test",
                                        "user:handler@rival.test", "group:No such group", "lane:Quality"])
    assert found == {acme.users["service"].id, acme.users["service2"].id, acme.users["quality"].id}


def test_recipients_of_no_principals_are_nobody(database, acme):
    with database.session() as s:
        assert recipients(s, acme.id, []) == set()
