"""What the background worker does on each pass: fire due timers, start scheduled runs of periodic procedures,
warn and breach SLA clocks, send mail, checkpoint the histories' heads into the anchor.

Each job does what is due at `now` and says how many seconds it may sleep before it has more to do (0 when it
stopped with work left, `poll` when it cannot tell), so a loop sleeps until the earliest of them. The embedded
thread, `flask kesu worker` and the Celery tick all run the same jobs, built from a configuration, the database and
the engine: the Celery worker builds them without the web app.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from complaints.sla.checks import check_due, next_check
from db import Database
from engine.jobs.periodic import next_start, start_due
from engine.jobs.runner import Report
from engine.jobs.timers import fire_due, next_due
from engine.runtime.steps import Engine
from notifications.mail import Post, send_digests, send_pending

log = logging.getLogger(__name__)
NAP = 0.01  # seconds: the shortest sleep, so work due at this very instant is not spun on
Job = Callable[[datetime, float], float]


def until(moment: datetime | None, now: datetime, poll: float) -> float:
    """Seconds to sleep before `moment` (unknown: `poll`), never more than `poll`."""
    return poll if moment is None else min(poll, max(NAP, (moment - now).total_seconds()))


def pause(report: Report, due: datetime | None, now: datetime, poll: float) -> float:
    """Seconds a due-work job may sleep after a pass."""
    if report.full:
        return 0.0
    if report.failed or report.skipped:
        return poll  # what is left due is failing or in another worker's hands: look again later
    return until(due, now, poll)


def due_work(name: str, database: Database, run: Callable[[datetime], Report],
             earliest: Callable[[Session], datetime | None]) -> Job:
    """A job of engine.jobs.runner's kind: a pass (`run`), then sleep until the `earliest` item falls due."""
    def work(now: datetime, poll: float) -> float:
        report = run(now)
        with database.sessionmaker() as session:
            return pause(report, earliest(session), now, poll)
    work.__qualname__ = name  # how run_pass names it in the log
    return work


def timers(database: Database, engine: Engine) -> Job:
    return due_work("timers", database, lambda now: fire_due(database, engine, now), next_due)


def sla_clocks(database: Database, engine: Engine) -> Job:
    return due_work("sla_clocks", database, lambda now: check_due(database, engine, now), next_check)


def schedules(database: Database, engine: Engine) -> Job:
    """Start the runs of procedures whose start event is a timer (periodic jobs)."""
    return due_work("schedules", database, lambda now: start_due(database, engine, now), next_start)


def mail(post: Post) -> Job:
    def send(now: datetime, poll: float) -> float:
        send_pending(post, now)
        send_digests(post, now)
        return poll
    return send


def anchor(database: Database, engine: Engine, every: float) -> Job:
    """Checkpoint the chain heads that moved into the anchor file, at most every `every` seconds across all
    processes (engine.history.anchor)."""
    def checkpoint(now: datetime, poll: float) -> float:
        engine.auditor.checkpoint(database.sessionmaker, now, every)
        return poll
    return checkpoint


def build(config: Mapping[str, Any], database: Database, engine: Engine) -> list[Job]:
    every = config["AUDIT_CHECKPOINT_SECONDS"]
    return [timers(database, engine), schedules(database, engine), sla_clocks(database, engine),
            mail(Post(config, database, engine)), *([anchor(database, engine, every)] if every > 0 else [])]


class App(Protocol):
    """What the jobs need of a built app (a Flask app), without importing Flask."""

    config: Mapping[str, Any]
    extensions: Mapping[str, Any]


def for_app(app: App) -> list[Job]:
    """The jobs of a built app: its configuration, database and engine."""
    return build(app.config, app.extensions["kesu.db"], app.extensions["kesu.engine"])


def run_pass(jobs: Sequence[Job], now: datetime, poll: float) -> float:
    """Run every job once; seconds until the earliest wants to run again. A failing job (the database is down,
    the mail server refuses) is logged and retried after `poll`, without stopping the others."""
    delays = [poll]
    for job in jobs:
        try:
            delays.append(job(now, poll))
        except Exception:
            log.exception("worker job %s failed", getattr(job, "__qualname__", job))
    return min(delays)
