"""The worker's check: warn and breach the clocks whose moment has come, one transaction each (engine.jobs.runner),
telling the case's holders (and on a breach the group it escalates to) and sealing it in the case's history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from complaints.sla.models import KINDS, SlaClock
from complaints.sla.targets import plan_check
from db import Database
from engine.jobs.runner import BATCH, Job, Outcome, Report, run
from engine.records import InboxTask, Instance, TaskCandidate
from engine.runtime.steps import Engine
from notifications import notify, recipients


@dataclass(frozen=True)
class CheckReport(Report):
    """What one pass did, by clock id."""

    warned: tuple[int, ...] = ()
    breached: tuple[int, ...] = ()


def due_clocks(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of the clocks whose warning or deadline has come, earliest first: one indexed query on `check_at`."""
    return list(session.scalars(sa.select(SlaClock.id).where(SlaClock.check_at <= now)
                                .order_by(SlaClock.check_at).limit(limit)))


def _claim(session: Session, clock_id: int, now: datetime) -> tuple[SlaClock, Instance] | None:
    """The clock and its case, both locked, if the clock is still due: its history gets the note, and a step locks
    the case first, so a case a step holds is skipped rather than waited for."""
    row = session.execute(sa.select(SlaClock, Instance).join(Instance, Instance.id == SlaClock.instance_id)
                          .where(SlaClock.id == clock_id, SlaClock.check_at <= now)
                          .with_for_update(of=(SlaClock.__table__, Instance.__table__), skip_locked=True)
                          .execution_options(populate_existing=True)).first()
    return None if row is None else (row[0], row[1])


def checking(engine: Engine) -> Job[tuple[SlaClock, Instance]]:
    """Checking clocks as the runner does it; the engine seals each warning and breach in the case's history."""
    def check(session: Session, due: tuple[SlaClock, Instance], now: datetime) -> Outcome:
        return Outcome(_advance(session, engine, *due, now))
    return Job("the SLA clock", due_clocks, _claim, check)


def check_due(database: Database | sessionmaker[Session], engine: Engine, now: datetime, limit: int = BATCH
              ) -> CheckReport:
    """Warn and breach up to `limit` clocks whose moment has come at `now`, each in its own transaction."""
    return run(database, checking(engine), CheckReport, now, limit)


def check_clocks(sessions: sessionmaker[Session], engine: Engine, now: datetime, limit: int = BATCH) -> int:
    """How many clocks a pass (check_due) warned or breached."""
    report = check_due(sessions, engine, now, limit)
    return len(report.warned) + len(report.breached)


def next_check(session: Session) -> datetime | None:
    """When the earliest clock's warning or deadline comes, for the worker to sleep until then."""
    return session.scalar(sa.select(sa.func.min(SlaClock.check_at)))


def _advance(session: Session, engine: Engine, clock: SlaClock, instance: Instance, now: datetime) -> str:
    """Breach the clock if its deadline has come, else warn; tell the case's holders (and, on a breach, the group
    it escalates to), and seal it in the case's history. Says which it did."""
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
        outcome = "breached"
    else:
        clock.warned_at = now
        notify(session, clock.company_id, holders, "sla_warning", instance_id=instance.id, params=params, now=now)
        engine.note(session, instance, "sla_warned", None, now, **facts)
        outcome = "warned"
    plan_check(clock)
    return outcome


def _holders(session: Session, instance: Instance) -> set[int]:
    """The users who hold the case's open tasks, or may claim the unclaimed ones."""
    rows = session.execute(sa.select(InboxTask.assignee_id, TaskCandidate.principal)
                           .outerjoin(TaskCandidate, TaskCandidate.task_id == InboxTask.id)
                           .where(InboxTask.instance_id == instance.id)).all()
    held = {row.assignee_id for row in rows if row.assignee_id}
    offered = [row.principal for row in rows if not row.assignee_id and row.principal]
    return held | (recipients(session, instance.company_id, offered) if offered else set())
