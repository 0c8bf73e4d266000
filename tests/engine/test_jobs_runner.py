"""engine.jobs.runner, the loop timers, periodic starts and SLA checks share: each due item in its own transaction,
a failing one written off alone, a lost race skipped, a diagram's failure kept by the job's `stop`. The items here are
company rows renamed by a made-up job; tests/engine (timers, periodic starts, SLA clocks) and tests/worker run the
real jobs on it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import Company
from engine.errors import Conflict, ProcessError
from engine.jobs.runner import STOPPED, Job, Outcome, Report, run
from worker.jobs import pause

NOW = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RenameReport(Report):
    renamed: tuple[int, ...] = ()


def companies(database, *names: str) -> list[int]:
    with database.session() as s:
        rows = [Company(name=name) for name in names]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def names(database, ids: list[int]) -> list[str]:
    with database.session() as s:
        return list(s.scalars(sa.select(Company.name).where(Company.id.in_(ids)).order_by(Company.id)))


def renaming(ids: list[int], fails: dict[str, Exception]) -> Job[Company]:
    """Renames each company to `<name> done`, first raising what `fails` names for its name (after the write)."""
    def act(session: Session, row: Company, _now: datetime) -> Outcome:
        row.name = f"{row.name} done"
        session.flush()
        if row.name.removesuffix(" done") in fails:
            raise fails[row.name.removesuffix(" done")]
        return Outcome("renamed")

    def stop(session: Session, item: int, _now: datetime, error: ProcessError) -> str:
        session.get_one(Company, item).name += f" stopped: {error.params['error']}"
        return STOPPED

    return Job("the company", lambda _s, _now, limit: ids[:limit], lambda s, item, _now: s.get(Company, item), act,
               stop)


def test_each_item_is_done_in_its_own_transaction_and_a_failing_one_leaves_nothing_written(database):
    ids = companies(database, "a", "broken", "raced", "diagram", "b")
    fails = {"broken": RuntimeError("bug"), "raced": Conflict("concurrent_change"), "diagram": ProcessError("oops")}
    report = run(database, renaming(ids, fails), RenameReport, NOW)
    assert (report.renamed, report.failed, report.skipped, report.stopped) == (
        (ids[0], ids[4]), (ids[1],), (ids[2],), (ids[3],))
    assert names(database, ids) == ["a done", "broken", "raced", "diagram stopped: oops", "b done"]


def test_a_pass_is_full_only_when_it_took_its_limit_and_made_progress(database):
    ids = companies(database, "a", "b", "c", "raced", "broken")
    assert run(database, renaming(ids[:3], {}), RenameReport, NOW, limit=2).full
    assert not run(database, renaming(ids[2:3], {}), RenameReport, NOW, limit=2).full  # took fewer than its limit
    raced = renaming(ids[3:], {"raced": Conflict("concurrent_change"), "broken": RuntimeError("bug")})
    stuck = run(database, raced, RenameReport, NOW, limit=2)  # took its limit, but did none of it
    assert (stuck.full, stuck.skipped, stuck.failed) == (False, (ids[3],), (ids[4],))


def test_a_worker_whose_pass_failed_or_lost_a_race_sleeps_its_poll_instead_of_spinning():
    due_now = NOW  # what failed is still due: sleeping until it would spin
    assert pause(RenameReport(due=1, limit=100, failed=(7,)), due_now, NOW, poll=1.0) == 1.0
    assert pause(RenameReport(due=1, limit=100, skipped=(7,)), due_now, NOW, poll=1.0) == 1.0
    assert pause(RenameReport(due=100, limit=100, renamed=tuple(range(100))), due_now, NOW, poll=1.0) == 0.0
