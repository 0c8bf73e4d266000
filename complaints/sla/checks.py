"""The worker's check: warn and breach the clocks whose moment has come, one transaction each, telling the
case's holders (and on a breach the group it escalates to) and sealing it in the case's history."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from complaints.sla.models import KINDS, SlaClock
from complaints.sla.targets import plan_check
from engine.errors import Conflict
from engine.records import InboxTask, Instance, TaskCandidate
from engine.runtime.steps import Engine
from notifications import notify, recipients

BATCH = 100


def check_clocks(sessions: sessionmaker[Session], engine: Engine, now: datetime, limit: int = BATCH) -> int:
    """Warn and breach the clocks whose moment has come, each in its own transaction (the engine seals them in
    the case's history); returns how many."""
    with sessions() as session:
        due = list(session.scalars(sa.select(SlaClock.id).where(SlaClock.check_at <= now)
                                   .order_by(SlaClock.check_at).limit(limit)))
    done = 0
    for clock_id in due:
        try:
            with sessions.begin() as session:
                due_now = session.execute(  # the case row too: its history gets the note (a step locks it first)
                    sa.select(SlaClock, Instance).join(Instance, Instance.id == SlaClock.instance_id)
                    .where(SlaClock.id == clock_id, SlaClock.check_at <= now)
                    .with_for_update(of=(SlaClock.__table__, Instance.__table__), skip_locked=True)
                    .execution_options(populate_existing=True)).first()
                if due_now is not None:
                    _advance(session, engine, *due_now, now)
                    done += 1
        except (StaleDataError, Conflict):
            continue  # a step or another worker changed the clock or its case first; looked at again next pass
    return done


def next_check(session: Session) -> datetime | None:
    return session.scalar(sa.select(sa.func.min(SlaClock.check_at)))


def _advance(session: Session, engine: Engine, clock: SlaClock, instance: Instance, now: datetime) -> None:
    """Breach the clock if its deadline has come, else warn; tell the case's holders (and, on a breach, the group
    it escalates to), and seal it in the case's history."""
    holders = _holders(session, instance)
    target = clock.policy.target(clock.kind)
    params = {"number": instance.business_key, "clock": KINDS[clock.kind], "target": target,
              "due_at": clock.due_at.isoformat()}
    facts = {"clock": clock.kind, "target": target, "due_at": clock.due_at.isoformat(),
             "policy_version": clock.policy.version}
    if now >= clock.due_at:
        clock.breached_at = now
        escalate_to = clock.policy.escalate_to
        escalation = recipients(session, clock.company_id, [f"group:{escalate_to}"]) if escalate_to else set()
        notify(session, clock.company_id, holders | escalation, "sla_breached", instance_id=instance.id,
               params={**params, "escalated_to": escalate_to}, now=now)
        engine.note(session, instance, "sla_breached", None, now, **facts, escalated_to=escalate_to)
    else:
        clock.warned_at = now
        notify(session, clock.company_id, holders, "sla_warning", instance_id=instance.id, params=params, now=now)
        engine.note(session, instance, "sla_warned", None, now, **facts)
    plan_check(clock)


def _holders(session: Session, instance: Instance) -> set[int]:
    """The users who hold the case's open tasks, or may claim the unclaimed ones."""
    rows = session.execute(sa.select(InboxTask.assignee_id, TaskCandidate.principal)
                           .outerjoin(TaskCandidate, TaskCandidate.task_id == InboxTask.id)
                           .where(InboxTask.instance_id == instance.id)).all()
    held = {row.assignee_id for row in rows if row.assignee_id}
    offered = [row.principal for row in rows if not row.assignee_id and row.principal]
    return held | (recipients(session, instance.company_id, offered) if offered else set())
