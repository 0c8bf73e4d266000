"""Firing due timers: the one function the embedded thread, `flask kesu worker` and the Celery task all call.

Instances are found by their `next_timer_at` (indexed, written by every save) and fired one per transaction, so
a failure or a crash loses at most the instance in hand, and a timer counts as fired only once its step commits:
a worker killed before the commit leaves the timer due for the next run. Several workers may run at once: on
PostgreSQL each claims its instance with FOR UPDATE SKIP LOCKED, on SQLite the instance row's optimistic lock
lets only the first commit through and the others see a Conflict and skip the instance.

Test runs' (sandbox) instances fire too: a test run shows how the procedure behaves, timers included.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from db import Database
from engine.dto import Actor
from engine.errors import Conflict, ProcessError
from engine.records import Instance
from engine.runtime.steps import Engine

log = logging.getLogger(__name__)
BATCH = 100


@dataclass(frozen=True)
class FiringReport:
    """What one pass did, by instance id."""

    due: int  # instances found due
    limit: int  # the most one pass takes
    fired: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()  # another worker (or a user's step) had it, or had fired it already
    stopped: tuple[int, ...] = ()  # a ProcessError stopped the case; an admin sees it
    failed: tuple[int, ...] = ()  # anything else went wrong; the timer stays due

    @property
    def full(self) -> bool:
        """More instances may be due than this pass took, and it made progress: run another at once."""
        return self.due >= self.limit and bool(self.fired or self.stopped)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Instance.next_timer_at <= now, Instance.status == "running")


def due_instances(session: Session, now: datetime, limit: int = BATCH) -> list[tuple[int, int]]:
    """(instance id, company id) of running instances with a timer due, earliest first: one indexed query."""
    rows = session.execute(sa.select(Instance.id, Instance.company_id).where(_due(now))
                           .order_by(Instance.next_timer_at).limit(limit))
    return [(row.id, row.company_id) for row in rows]


def next_due(session: Session) -> datetime | None:
    """When the earliest timer of a running instance is due, for the worker to sleep until then."""
    return session.scalar(sa.select(sa.func.min(Instance.next_timer_at)).where(Instance.status == "running"))


def _claim(session: Session, instance_id: int, now: datetime) -> Instance | None:
    """The instance, locked for this transaction, if it is still due; None if another worker holds or fired it."""
    return session.scalar(sa.select(Instance).where(Instance.id == instance_id, _due(now))
                          .with_for_update(of=Instance.__table__, skip_locked=True)
                          .execution_options(populate_existing=True))


def fire_one(sessions: sessionmaker[Session], engine: Engine, instance_id: int, actor: Actor,
             now: datetime) -> str:
    """Fire one instance's due timers in its own transaction; says 'fired', 'skipped' or 'stopped'."""
    try:
        with sessions.begin() as session:
            instance = _claim(session, instance_id, now)
            if instance is None:
                return "skipped"
            engine.fire_timers(session, instance, actor)
        return "fired"
    except Conflict:
        return "skipped"
    except ProcessError as error:
        return _stop(sessions, engine, error, actor)


def _stop(sessions: sessionmaker[Session], engine: Engine, error: ProcessError, actor: Actor) -> str:
    """Record the failure on its case (the failed transaction is gone) so it stops instead of failing again."""
    log.warning("timer of instance %s stopped the case: %s", error.instance_id, error)
    try:
        with sessions.begin() as session:
            engine.record_error(session, error, actor)
    except Conflict:
        return "skipped"  # someone changed the case meanwhile; the next pass tries again
    return "stopped"


def fire_due(database: Database | sessionmaker[Session], engine: Engine, now: datetime | None = None,
             limit: int = BATCH) -> FiringReport:
    """Fire the timers due at `now` (the engine's clock by default) of up to `limit` instances."""
    sessions = database.sessionmaker if isinstance(database, Database) else database
    now = now or engine.clock()
    with sessions() as session:
        due = due_instances(session, now, limit)
    outcomes: dict[str, list[int]] = {"fired": [], "skipped": [], "stopped": [], "failed": []}
    for instance_id, company_id in due:
        try:
            outcome = fire_one(sessions, engine, instance_id, Actor(company_id=company_id), now)
        except Exception:  # one broken case must not stop the others' timers
            log.exception("firing the timers of instance %s failed", instance_id)
            outcome = "failed"
        outcomes[outcome].append(instance_id)
    return FiringReport(len(due), limit, *(tuple(outcomes[k]) for k in ("fired", "skipped", "stopped", "failed")))
