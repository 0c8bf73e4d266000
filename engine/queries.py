"""The read side: inbox lists, one task, one instance, its events. Always scoped to the actor's company."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.dto import Actor, InstanceView, TaskView
from engine.errors import NotFound
from engine.records import DecisionVersion, Event, InboxTask, Instance, TaskCandidate
from engine.runtime import serializer
from engine.runtime.steps import Engine, current_data, instance_view_from, jsonable, task_view

Scope = Literal["mine", "groups", "all"]


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
    """A case as it is stored; a step's own answer comes from the step (Step.view), not from here."""
    workflow = serializer.loads(instance.state, engine.compiled(instance.version), engine.script_engine)
    data = jsonable(current_data(workflow))
    return instance_view_from(engine, instance, data, instance_tasks(session, engine, instance))


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
