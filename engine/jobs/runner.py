"""The one loop behind every job (timers, periodic starts, SLA checks): find what is due with one indexed query,
then claim and act on each item in its own transaction.

An item counts as done only once its transaction commits, so a worker killed mid-pass leaves the item in hand due
for the next pass (nothing is lost), and a failure loses at most that item's transaction. Several workers may run
at once and none does an item twice: on PostgreSQL the claim locks the row with FOR UPDATE SKIP LOCKED (None: another
worker holds it, or did it already); on SQLite the row's optimistic lock lets only the first commit through and the
others see a Conflict (or SQLAlchemy's StaleDataError) and skip the item.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from db import Database
from engine.errors import Conflict, ProcessError

log = logging.getLogger(__name__)
BATCH = 100  # the most items one pass takes
SKIPPED, STOPPED, FAILED = "skipped", "stopped", "failed"
LOST_RACE = (Conflict, StaleDataError)  # a step or another worker changed the item first

R = TypeVar("R")  # the claimed row
ReportT = TypeVar("ReportT", bound="Report")


class Outcome(NamedTuple):
    """What acting on one item did: a field of the job's report, and the case it started, if any."""

    name: str
    case: int | None = None


@dataclass(frozen=True)
class Job(Generic[R]):
    """One kind of due work: how to find it, claim one item, act on it, and pass over one the diagram failed."""

    what: str  # names an item in the log, before its id: "the timers of instance"
    find: Callable[[Session, datetime, int], list[int]]  # ids of what is due, earliest first, one indexed query
    claim: Callable[[Session, int, datetime], R | None]  # the row, locked, if it is still due
    act: Callable[[Session, R, datetime], Outcome]
    stop: Callable[[Session, int, datetime, ProcessError], str] | None = None  # in a fresh transaction: an outcome


@dataclass(frozen=True)
class Report:
    """What one pass did, by item id; each job's report adds the fields its actions name."""

    due: int  # items found due
    limit: int  # the most one pass takes
    skipped: tuple[int, ...] = ()  # another worker (or a user's step) had it, or had done it already
    stopped: tuple[int, ...] = ()  # a ProcessError: passed over, the error kept where an admin sees it
    failed: tuple[int, ...] = ()  # anything else went wrong; the item stays due
    cases: tuple[int, ...] = ()  # the cases the pass started

    @property
    def full(self) -> bool:
        """More items may be due than this pass took, and it made progress: run another at once."""
        return self.due >= self.limit and len(self.skipped) + len(self.failed) < self.due


def run(database: Database | sessionmaker[Session], job: Job[R], report: type[ReportT], now: datetime,
        limit: int = BATCH) -> ReportT:
    """Do up to `limit` items of `job` due at `now`, each in its own transaction; one failing item never stops the
    others."""
    sessions = database.sessionmaker if isinstance(database, Database) else database
    with sessions() as session:
        due = job.find(session, now, limit)
    outcomes: dict[str, list[int]] = defaultdict(list)
    for item in due:
        outcome = _one(sessions, job, item, now)
        outcomes[outcome.name].append(item)
        if outcome.case is not None:
            outcomes["cases"].append(outcome.case)
    fields: dict[str, Any] = {name: tuple(ids) for name, ids in outcomes.items()}
    return replace(report(len(due), limit), **fields)


def _one(sessions: sessionmaker[Session], job: Job[R], item: int, now: datetime) -> Outcome:
    """What became of one item: anything unforeseen is logged and leaves the item due."""
    try:
        return _attempt(sessions, job, item, now)
    except Exception:  # one broken item must not stop the others
        log.exception("%s %s failed", job.what, item)
        return Outcome(FAILED)


def _attempt(sessions: sessionmaker[Session], job: Job[R], item: int, now: datetime) -> Outcome:
    """Claim and act on one item in its own transaction; a diagram's failure goes to the job's `stop`, if any."""
    try:
        with sessions.begin() as session:
            row = job.claim(session, item, now)
            return Outcome(SKIPPED) if row is None else job.act(session, row, now)
    except LOST_RACE:
        return Outcome(SKIPPED)
    except ProcessError as error:
        if job.stop is None:
            raise
        return Outcome(_stop(sessions, job.stop, job.what, item, now, error))


def _stop(sessions: sessionmaker[Session], stop: Callable[[Session, int, datetime, ProcessError], str], what: str,
          item: int, now: datetime, error: ProcessError) -> str:
    """Keep the diagram's failure on the item (its own transaction is gone), so it is not tried again every pass."""
    log.warning("%s %s stopped: %s", what, item, error)
    try:
        with sessions.begin() as session:
            return stop(session, item, now, error)
    except LOST_RACE:
        return SKIPPED  # someone changed it meanwhile; the next pass tries again

