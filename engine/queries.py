"""The read side: inbox lists, one task, one instance, its events. Always scoped to the actor's company."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import serializer
from engine.errors import NotFound
from engine.records import DecisionVersion, Event, InboxTask, Instance, TaskCandidate
from engine.runtime import Engine, current_data, jsonable
from engine.views import Actor, InstanceView, TaskView

Scope = Literal["mine", "groups", "all"]


def task_view(engine: Engine, row: InboxTask, instance: Instance) -> TaskView:
    process = engine.compiled(instance.version)
    meta = process.tasks[row.element_id]
    return TaskView(
        id=row.id, instance_id=row.instance_id, business_key=instance.business_key, element_id=row.element_id,
        name=meta.name, names=meta.names, lane=row.lane, candidate_groups=tuple(row.principals("group")),
        candidate_users=tuple(row.principals("user")), assignee_id=row.assignee_id, claimed_at=row.claimed_at,
        due_at=row.due_at, priority=row.priority, created_at=row.created_at, form_key=meta.form_key,
        fields=engine.fields_of(meta), process_names={"": process.name, **process.element_names.get(process.key, {})},
        group_labels=process.group_labels,
    )


def _scoped(query: sa.Select[InboxTask, Instance], actor: Actor, scope: Scope) -> sa.Select[InboxTask, Instance]:
    if scope == "mine":
        return query.where(InboxTask.assignee_id == actor.user_id)
    offered = sa.select(TaskCandidate.task_id).where(TaskCandidate.principal.in_(actor.principals))
    if scope == "groups":
        return query.where(InboxTask.id.in_(offered))
    return query.where(sa.or_(InboxTask.assignee_id == actor.user_id, InboxTask.id.in_(offered)))


def tasks_for(session: Session, engine: Engine, actor: Actor, scope: Scope = "all") -> list[TaskView]:
    """Tasks I hold and/or tasks offered to my groups, most urgent and newest first."""
    query = (
        sa.select(InboxTask, Instance)
        .join(Instance, Instance.id == InboxTask.instance_id)
        .where(InboxTask.company_id == actor.company_id, Instance.sandbox.is_(False))
        .order_by(InboxTask.priority.desc(), InboxTask.due_at.is_(None), InboxTask.due_at,
                  InboxTask.created_at.desc())
    )
    return [task_view(engine, row, instance) for row, instance in session.execute(_scoped(query, actor, scope))]


def visible_task(session: Session, engine: Engine, actor: Actor, task_id: str) -> TaskView | None:
    """One task, if it is in my company and I hold it or it is offered to me."""
    query = (sa.select(InboxTask, Instance).join(Instance, Instance.id == InboxTask.instance_id)
             .where(InboxTask.id == task_id, InboxTask.company_id == actor.company_id, Instance.sandbox.is_(False)))
    found = session.execute(_scoped(query, actor, "all")).first()
    return task_view(engine, *found) if found else None


def instance_tasks(session: Session, engine: Engine, instance: Instance) -> tuple[TaskView, ...]:
    rows = session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance.id)
                           .order_by(InboxTask.created_at))
    return tuple(task_view(engine, row, instance) for row in rows)


def get_instance(session: Session, instance_id: int, company_id: int) -> Instance:
    instance = session.scalar(sa.select(Instance).where(Instance.id == instance_id, Instance.company_id == company_id))
    if instance is None:
        raise NotFound("no_such_case")
    return instance


def instance_view(session: Session, engine: Engine, instance: Instance) -> InstanceView:
    process = engine.compiled(instance.version)
    workflow = serializer.loads(instance.state, process, engine.script_engine)
    return InstanceView(
        id=instance.id, company_id=instance.company_id, business_key=instance.business_key, status=instance.status,
        process_key=process.key, process_name=instance.version.name, version=instance.version.version,
        version_id=instance.version_id, data=jsonable(current_data(workflow)),
        tasks=instance_tasks(session, engine, instance), created_at=instance.created_at,
        completed_at=instance.completed_at, end_element=instance.end_element, error=instance.error,
        error_element=instance.error_element, element_names=process.element_names,
        field_labels=process.field_labels,
    )


def events(session: Session, instance_id: int, company_id: int) -> list[Event]:
    get_instance(session, instance_id, company_id)
    return list(session.scalars(sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)))


@dataclass(frozen=True)
class Answers:
    """What the case's forms answered, seen from one task: its own latest answers, and the fields only other tasks
    answered. A task's form shows what it entered itself before, never another task's answer (the manager's
    approval must not arrive with the quality lead's yes already chosen)."""

    own: dict[str, Any]
    others_only: frozenset[str]


def answers_for(session: Session, instance_id: int, element_id: str) -> Answers:
    own: dict[str, Any] = {}
    others: set[str] = set()
    for element, data in session.execute(sa.select(Event.element_id, Event.data).where(
            Event.instance_id == instance_id, Event.type == "task_completed").order_by(Event.seq)):
        submitted = (data or {}).get("submitted") or {}
        if element == element_id:
            own.update(submitted)
        else:
            others.update(submitted)
    return Answers(own, frozenset(others - own.keys()))


def latest_decisions(session: Session, company_id: int) -> list[DecisionVersion]:
    """The newest version of each of the company's decision tables."""
    newest = (sa.select(DecisionVersion.decision_key, sa.func.max(DecisionVersion.version).label("v"))
              .where(DecisionVersion.company_id == company_id).group_by(DecisionVersion.decision_key).subquery())
    return list(session.scalars(
        sa.select(DecisionVersion).join(newest, sa.and_(DecisionVersion.decision_key == newest.c.decision_key,
                                                        DecisionVersion.version == newest.c.v))
        .where(DecisionVersion.company_id == company_id).order_by(DecisionVersion.decision_key)))
