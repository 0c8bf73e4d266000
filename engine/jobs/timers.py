"""Firing due timers: the one function the embedded thread, `flask kesu worker` and the Celery task all call.

Instances are found by their `next_timer_at` (indexed, written by every save) and fired one per transaction by
engine.jobs.runner, so a timer counts as fired only once its step commits: a worker killed before the commit leaves
the timer due for the next run, and several workers at once fire each timer once.

Test runs' (sandbox) instances fire too: a test run shows how the procedure behaves, timers included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from db import Database
from engine.dto import Actor
from engine.errors import ProcessError
from engine.jobs.runner import BATCH, STOPPED, Job, Outcome, Report, run
from engine.records import Instance
from engine.runtime.steps import Engine


@dataclass(frozen=True)
class FiringReport(Report):
    """What one pass did, by instance id (a stopped case waits for an admin; a failed one stays due)."""

    fired: tuple[int, ...] = ()


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Instance.next_timer_at <= now, Instance.status == "running")


def due_instances(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of running instances with a timer due, earliest first: one indexed query."""
    return list(session.scalars(sa.select(Instance.id).where(_due(now)).order_by(Instance.next_timer_at).limit(limit)))


def next_due(session: Session) -> datetime | None:
    """When the earliest timer of a running instance is due, for the worker to sleep until then."""
    return session.scalar(sa.select(sa.func.min(Instance.next_timer_at)).where(Instance.status == "running"))


def _claim(session: Session, instance_id: int, now: datetime) -> Instance | None:
    """The instance, locked for this transaction, if it is still due; None if another worker holds or fired it."""
    return session.scalar(sa.select(Instance).where(Instance.id == instance_id, _due(now))
                          .with_for_update(of=Instance.__table__, skip_locked=True)
                          .execution_options(populate_existing=True))


def firing(engine: Engine) -> Job[Instance]:
    """Firing timers as the runner does it: a failing diagram stops its case, recorded as the system's error."""
    def fire(session: Session, instance: Instance, _now: datetime) -> Outcome:
        engine.fire_timers(session, instance, Actor(company_id=instance.company_id))
        return Outcome("fired")

    def stop(session: Session, instance_id: int, _now: datetime, error: ProcessError) -> str:
        instance = session.get(Instance, instance_id)  # record_error finds it in the session, not again by SQL
        if instance is not None:
            engine.record_error(session, error, Actor(company_id=instance.company_id))
        return STOPPED

    return Job("the timers of instance", due_instances, _claim, fire, stop)


def fire_due(database: Database | sessionmaker[Session], engine: Engine, now: datetime | None = None,
             limit: int = BATCH) -> FiringReport:
    """Fire the timers due at `now` (the engine's clock by default) of up to `limit` instances."""
    return run(database, firing(engine), FiringReport, now or engine.clock(), limit)
