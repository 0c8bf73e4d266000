"""Telling users: who a task's principals are, one notification per user, and the engine observer that tells
people about the tasks a step opened. Everything runs in the caller's transaction."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import Group, User, user_groups
from db import utcnow
from notifications.kinds import KINDS
from notifications.models import Notification, NotificationPreferences, mailed_alone

# The statements every step runs, built once: building a select costs about what running it does on SQLite.
_MEMBERS = (sa.select(user_groups.c.user_id).join(Group, Group.id == user_groups.c.group_id)
            .where(Group.company_id == sa.bindparam("company_id"),
                   Group.name.in_(sa.bindparam("groups", expanding=True))))
_RECIPIENTS = sa.select(User.id).where(
    User.company_id == sa.bindparam("company_id"), User.active.is_(True),
    sa.or_(User.email.in_(sa.bindparam("emails", expanding=True)), User.id.in_(_MEMBERS)))
_AUDIENCE = (sa.select(User.id, NotificationPreferences)
             .outerjoin(NotificationPreferences, NotificationPreferences.user_id == User.id)
             .where(User.id.in_(sa.bindparam("user_ids", expanding=True)),
                    User.company_id == sa.bindparam("company_id"), User.active.is_(True)))
_UNREAD_ALIKE = sa.select(Notification.user_id, Notification.params).where(
    Notification.user_id.in_(sa.bindparam("user_ids", expanding=True)), Notification.read_at.is_(None),
    Notification.kind == sa.bindparam("kind"),
    Notification.instance_id.is_not_distinct_from(sa.bindparam("instance_id", type_=sa.Integer)),
    Notification.task_id.is_not_distinct_from(sa.bindparam("task_id", type_=sa.String)))


def recipients(session: Session, company_id: int, principals: Iterable[str]) -> set[int]:
    """The active users of the company that principals ('group:<name>', 'user:<e-mail>') stand for."""
    groups, emails = set(), set()
    for principal in principals:
        kind, _sep, name = principal.partition(":")
        if kind == "group":
            groups.add(name)
        elif kind == "user":
            emails.add(name.strip().lower())
    if not groups and not emails:
        return set()
    return set(session.scalars(_RECIPIENTS, {"company_id": company_id, "groups": sorted(groups),
                                             "emails": sorted(emails)}))


def notify(session: Session, company_id: int, user_ids: Iterable[int], kind: str, *, instance_id: int | None = None,
           task_id: str | None = None, params: dict[str, Any], now: datetime | None = None) -> list[Notification]:
    """Tell each active user of the company among `user_ids` (others are skipped) what happened, unless an unread
    notification already says exactly that. Those who want this kind mailed one by one go to the outbox."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    params = json.loads(json.dumps(params))  # as the JSON column gives it back, to compare with stored ones
    users = session.execute(_AUDIENCE, {"user_ids": sorted(set(user_ids)), "company_id": company_id}).all()
    if not users:
        return []
    told = {row.user_id for row in session.execute(_UNREAD_ALIKE, {
        "user_ids": [user.id for user in users], "kind": kind, "instance_id": instance_id, "task_id": task_id})
        if row.params == params}
    now = now or utcnow()
    rows = [{"company_id": company_id, "user_id": user_id, "kind": kind, "instance_id": instance_id,
             "task_id": task_id, "params": params, "created_at": now,
             "mail_due_at": now if mailed_alone(prefs, kind) else None}
            for user_id, prefs in users if user_id not in told]
    if not rows:
        return []
    return list(session.scalars(sa.insert(Notification).returning(Notification), rows))


class Outcome(Protocol):
    """What the engine tells its observers after a saved step (engine.runtime.StepOutcome)."""

    instance: Any  # engine.records.Instance: id, company_id, business_key, sandbox
    process: Any  # engine.repository.specs.CompiledProcess: element_names
    actor_id: int | None
    now: datetime
    new_tasks: tuple[tuple[dict[str, Any], list[str]], ...]  # (inbox row, principals) of each task the step opened


def on_step(session: Session, outcome: Outcome) -> None:
    """Tell the holder of each task the step opened, or everyone it is offered to, except whoever caused the step.
    Test runs (sandbox instances) tell nobody."""
    instance = outcome.instance
    if instance.sandbox:
        return
    for row, principals in outcome.new_tasks:
        params = {"number": instance.business_key,
                  "task": outcome.process.element_names.get(row["element_id"], {"": row["element_id"]})}
        if row["due_at"] is not None:
            params["due_at"] = row["due_at"].isoformat()
        if row["assignee_id"] is not None:
            kind, users = "task_assigned", {row["assignee_id"]}
        else:
            kind, users = "task_offered", recipients(session, instance.company_id, principals)
        notify(session, instance.company_id, users - {outcome.actor_id}, kind, instance_id=instance.id,
               task_id=row["id"], params=params, now=outcome.now)
