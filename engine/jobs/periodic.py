"""Periodic procedures: a procedure whose start event is a timer is started by Kesu at each of its due times.

Publishing a version with a timer start event keeps one schedule per procedure (a PeriodicStart row): the
newest version's start timer, its next run's due time (indexed) and the runs it started. A new version takes
the schedule over: with the same timer its runs go on as they were, with another they are counted anew, and a
version without a start timer ends the schedule. Due times are worked out on the company's calendar
(engine.jobs.recurrence) by the worker, so a schedule gets its first due time at the worker's next pass after
publishing, and counts from then.

The worker calls `start_due`: each due schedule starts one case in its own transaction, claimed by
engine.jobs.runner like the timers, and the case's business key names its run (`<procedure>-<YYYYMMDD-HHMM>`,
local time), which the database keeps unique. A schedule that fell behind (the worker was stopped) starts one
case, for the latest run due, and goes on from there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker

from db import Base, Database, UTCDateTime
from engine.calendars.working_time import BusinessCalendar
from engine.dto import Actor, InstanceView
from engine.errors import ProcessError
from engine.jobs import recurrence
from engine.jobs.runner import BATCH, SKIPPED, STOPPED, Job, Outcome, Report, run
from engine.records import ProcessVersion
from engine.repository.specs import BPMN_NS, executable_process_ids
from engine.repository.xmlload import load_xml

if TYPE_CHECKING:  # the runtime imports `begin` from here
    from engine.runtime.steps import Engine

_BPMN = f"{{{BPMN_NS}}}"


class PeriodicStart(Base):
    """A procedure's schedule: the timer of its newest version's start event, and where its runs stand."""

    __tablename__ = "periodic_starts"
    __table_args__ = (sa.UniqueConstraint("company_id", "process_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))  # indexed by the unique constraint
    process_key: Mapped[str] = mapped_column(sa.String(200))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("process_versions.id"))
    element_id: Mapped[str] = mapped_column(sa.String(200))  # the timer start event
    timer_kind: Mapped[str] = mapped_column(sa.String(16))  # timeDate, timeDuration or timeCycle
    expression: Mapped[str] = mapped_column(sa.Text)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it took effect; None until the worker saw it
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # None: no run left (or not yet seen)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the due time of the latest run
    runs: Mapped[int] = mapped_column(default=0)
    last_instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instances.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(sa.Text)  # why the latest run could not start
    lock_version: Mapped[int] = mapped_column(default=1)

    version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once, when SQLAlchemy maps the class


class StartTimer(NamedTuple):
    element_id: str
    kind: str
    expression: str


# -- the diagram's start timer -----------------------------------------------------------------------------------

def start_events(process: etree._Element) -> list[etree._Element]:
    """The start events of a process itself (not those of its subprocesses)."""
    found: list[etree._Element] = process.findall(f"{_BPMN}startEvent")
    return found


def start_timer(event: etree._Element) -> StartTimer | None:
    """A start event's timer, if it has one."""
    definition = event.find(f"{_BPMN}timerEventDefinition")
    if definition is None:
        return None
    for kind in recurrence.KINDS:
        found = definition.find(f"{_BPMN}{kind}")
        if found is not None:
            return StartTimer(event.get("id"), kind, found.text or "")
    return StartTimer(event.get("id"), "", "")  # recurrence.parse refuses it as empty


def _timer_of(version: ProcessVersion) -> StartTimer | None:
    tree = load_xml(version.bpmn_xml.encode("utf-8"))
    key = executable_process_ids(tree)[0]
    process = next(p for p in tree.iter(f"{_BPMN}process") if p.get("id") == key)
    return next(filter(None, map(start_timer, start_events(process))), None)


def schedule(session: Session, version: ProcessVersion) -> PeriodicStart | None:
    """Point the procedure's schedule at a newly published version (engine.repository.publishing calls this)."""
    timer = _timer_of(version)
    row = session.scalar(sa.select(PeriodicStart).where(PeriodicStart.company_id == version.company_id,
                                                        PeriodicStart.process_key == version.process_key))
    if timer is None:
        if row is not None:
            session.delete(row)
        return None
    if row is None:
        row = PeriodicStart(company_id=version.company_id, process_key=version.process_key)
        session.add(row)
    if (row.element_id, row.timer_kind, row.expression) != timer:
        row.element_id, row.timer_kind, row.expression = timer
        row.since = row.next_at = row.last_at = None  # counted anew from the worker's next pass
    row.version, row.error = version, None
    session.flush()
    return row


# -- starting a case ---------------------------------------------------------------------------------------------

def begin(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    """What starting a case does before its first engine steps (Engine.start, and a re-run of a start): the start
    data goes on the case, and a timer start event counts as fired.

    A case exists because its time came (its schedule started it) or because someone started it by hand, so it
    must not wait for its start timer: SpiffWorkflow would wait, or, for a cycle, add a branch to the case at
    every due time.
    """
    workflow.task_tree.data.update(data)
    for task in workflow.task_tree.children:  # the process's start events
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        task._set_internal_data(event_fired=True)
        if isinstance(definition, CycleTimerEventDefinition):  # a cycle adds its path only when it fires: add it now
            task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
            for child in task.children:
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)


def business_key(row: PeriodicStart, due: datetime, calendar: BusinessCalendar) -> str:
    """A run's case number: the procedure and the local time it was due (instance keys hold 64 characters)."""
    return f"{row.process_key[:50]}-{due.astimezone(calendar.zone):%Y%m%d-%H%M}"


def _advance(row: PeriodicStart, calendar: BusinessCalendar, now: datetime) -> datetime | None:
    """Move the schedule past `now`: the due time of the run to start now (the latest due), or None."""
    rule = recurrence.parse(row.timer_kind, row.expression)
    row.since = row.since or now
    due, upcoming = None, rule.following(row.last_at or row.since, row.since, calendar)
    while upcoming is not None and upcoming <= now:
        due, upcoming = upcoming, rule.following(upcoming, row.since, calendar)
    row.next_at, row.last_at = upcoming, due or row.last_at
    return due


def _start(session: Session, engine: Engine, row: PeriodicStart, due: datetime, calendar: BusinessCalendar
           ) -> InstanceView:
    """Start the run's case on the schedule's version, as the system; its first event names the schedule."""
    trigger = {"type": "schedule", "element": row.element_id, "due": due.isoformat()}
    instance = engine.start(session, row.version, Actor(company_id=row.company_id), {},
                            business_key(row, due, calendar), trigger=trigger)
    row.runs, row.last_instance_id, row.error = row.runs + 1, instance.id, None
    return instance


# -- the worker's pass -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StartReport(Report):
    """What one pass did, by schedule id; `cases` are the ids of the cases it started, and a stopped run is passed
    over with its error kept on the schedule."""

    started: tuple[int, ...] = ()
    planned: tuple[int, ...] = ()  # only given their next due time (new schedules, and those with no run left)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(PeriodicStart.next_at <= now, PeriodicStart.since.is_(None))


def due_schedules(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of the schedules with a run due, or not yet seen by the worker, earliest first."""
    return list(session.scalars(sa.select(PeriodicStart.id).where(_due(now))
                                .order_by(PeriodicStart.next_at.nulls_first()).limit(limit)))


def next_start(session: Session) -> datetime | None:
    """When the earliest run of any schedule is due, for the worker to sleep until then."""
    return session.scalar(sa.select(sa.func.min(PeriodicStart.next_at)))


def _claim(session: Session, schedule_id: int, now: datetime) -> PeriodicStart | None:
    """The schedule, locked for this transaction, if it is still due; None if another worker holds or ran it."""
    return session.scalar(sa.select(PeriodicStart).where(PeriodicStart.id == schedule_id, _due(now))
                          .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def starting(engine: Engine) -> Job[PeriodicStart]:
    """Starting scheduled runs as the runner does it: a run the diagram fails is passed over, not retried."""
    def start(session: Session, row: PeriodicStart, now: datetime) -> Outcome:
        calendar = engine.calendars(session, row.company_id)
        due = _advance(row, calendar, now)
        session.flush()  # the optimistic lock: a worker that read the row before our commit stops here
        if due is None:
            return Outcome("planned")
        return Outcome("started", _start(session, engine, row, due, calendar).id)

    def stop(session: Session, schedule_id: int, now: datetime, error: ProcessError) -> str:
        row = _claim(session, schedule_id, now)
        if row is None:
            return SKIPPED
        _advance(row, engine.calendars(session, row.company_id), now)
        row.error = str(error)
        return STOPPED

    return Job("the scheduled run of schedule", due_schedules, _claim, start, stop)


def start_due(database: Database | sessionmaker[Session], engine: Engine, now: datetime | None = None,
              limit: int = BATCH) -> StartReport:
    """Start the runs due at `now` (the engine's clock by default) of up to `limit` schedules."""
    return run(database, starting(engine), StartReport, now or engine.clock(), limit)
