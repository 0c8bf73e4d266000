"""Service-level agreements: the policies process owners set per grade and category, and the clocks they run
on each complaint.

A policy gives a response target (until an employee first completes a task of the case) and a resolution target
(until the case closes), each in business time on the company's calendar ('5 working days') or calendar time
(ISO 8601, 'PT24H'); a warning at a fraction of the target; and a group the case escalates to on a breach.
Policies are versioned: saving one adds a version, and a clock keeps the version it started on unless the case's
grade or category later selects another policy.

Clocks start when the case is registered. They are updated by every step (an engine observer, in the step's
transaction): the case's grade is usually known only after grading, so the matching policy may change; a task
the diagram marks `sla: pause` (waiting for the customer) stops the clocks while it is open and moves the
deadlines on by the time it took. The background worker (`check_clocks`) finds clocks whose warning or deadline
has come with one indexed query on `check_at`, marks them and notifies. Warnings, breaches and acknowledgements
are sealed in the case's history (Engine.note), so auditors see when a deadline was missed and what the
next level up did about it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from complaints.choices import N_, grade_key
from db import Base, UTCDateTime, utcnow
from engine.calendar import BusinessCalendar, parse_business
from engine.errors import Conflict
from engine.records import Event, InboxTask, Instance, TaskCandidate
from engine.runtime import Engine, StepOutcome
from notifications import notify, recipients

log = logging.getLogger(__name__)
KINDS: dict[str, str] = {"response": N_("Response"), "resolution": N_("Resolution")}
EVENT_TYPES = frozenset({"sla_warned", "sla_breached", "sla_acknowledged"})  # what clocks seal in a case's history
BATCH = 100
_P = TypeVar("_P", bound="_Slot | SlaPolicy")


class SlaPolicy(Base):
    """One version of the policy for a grade and category ('' = any); the newest version of a slot is in force,
    unless it retires the policy."""

    __tablename__ = "sla_policies"
    # ids are not handed out again once committed, even after rows are deleted (SQLite AUTOINCREMENT): see _STAMP
    __table_args__ = (sa.UniqueConstraint("company_id", "grade", "category", "version"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))  # indexed by the unique constraint
    grade: Mapped[str] = mapped_column(sa.String(64), default="")  # "field:value" as grade_key gives it
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    version: Mapped[int] = mapped_column(default=1)
    response_target: Mapped[str] = mapped_column(sa.String(64), default="")
    resolution_target: Mapped[str] = mapped_column(sa.String(64), default="")
    warn_fraction: Mapped[float] = mapped_column(default=0.8)
    escalate_to: Mapped[str] = mapped_column(sa.String(100), default="")  # a group of the company, or none
    note: Mapped[str] = mapped_column(sa.Text, default="")
    retired: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def target(self, kind: str) -> str:
        return self.response_target if kind == "response" else self.resolution_target


class SlaClock(Base):
    """One running (or finished) target of one case."""

    __tablename__ = "sla_clocks"
    __table_args__ = (sa.UniqueConstraint("instance_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_policies.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(default=0.0)  # paused so far, in the target's own time
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # when the worker looks next
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledgement: Mapped[str] = mapped_column(sa.Text, default="")
    lock_version: Mapped[int] = mapped_column(default=1)  # a step and the worker may change one clock at once

    policy: Mapped[SlaPolicy] = relationship(lazy="joined")
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once, when SQLAlchemy maps the class

    @property
    def status(self) -> str:
        """met, late (met after the deadline), breached, paused, warning or running."""
        if self.met_at is not None:
            return "late" if self.met_at > self.due_at else "met"
        if self.breached_at is not None:
            return "breached"
        if self.paused_at is not None:
            return "paused"
        return "warning" if self.warned_at is not None else "running"


# -- targets ---------------------------------------------------------------------------------------------------

def target_problem(text: str) -> str | None:
    """Why `text` is not a target ('5 working days', '4 working hours', 'next working day 15:00', 'PT24H',
    'P3D'), or None when it is one (or empty: no target)."""
    text = text.strip()
    if not text:
        return None
    try:
        if parse_business(text) is not None:
            return None
    except ValueError as error:
        return str(error)
    if text.startswith("P"):
        try:
            TimerEventDefinition.parse_iso_duration(text)
            return None
        except Exception:  # noqa: BLE001 - SpiffWorkflow says only "Invalid duration", with a bare Exception
            pass
    return N_("Write business time ('5 working days', '4 working hours', 'next working day 15:00') or an ISO 8601 "
              "duration ('PT24H', 'P3D').")


@dataclass(frozen=True)
class _Measure:
    """How a target counts time: working time on the calendar for business targets, else wall-clock time."""

    target: str
    calendar: BusinessCalendar

    @property
    def business(self) -> bool:
        return parse_business(self.target) is not None

    def deadline(self, start: datetime) -> datetime:
        business = parse_business(self.target)
        if business is not None:
            return business.after(start, self.calendar)
        duration = TimerEventDefinition.parse_iso_duration(self.target)
        length: timedelta = TimerEventDefinition.get_timedelta_from_start(duration, start)
        return start + length

    def between(self, start: datetime, end: datetime) -> float:
        if self.business:
            return self.calendar.working_time_between(start, end).total_seconds()
        return (end - start).total_seconds()

    def add(self, start: datetime, seconds: float) -> datetime:
        if seconds <= 0:
            return start
        if self.business:
            return self.calendar.add_working_hours(start, seconds / 3600)
        return start + timedelta(seconds=seconds)


def _schedule(clock: SlaClock, policy: SlaPolicy, calendar: BusinessCalendar) -> None:
    """Set the clock's deadline and warning point from its start, its policy and the time it spent paused."""
    measure = _Measure(policy.target(clock.kind), calendar)
    base = measure.deadline(clock.started_at)
    window = measure.between(clock.started_at, base)
    clock.policy_id, clock.policy = policy.id, policy
    clock.due_at = measure.add(base, clock.paused_seconds)
    clock.warn_at = measure.add(clock.started_at, window * policy.warn_fraction + clock.paused_seconds)
    _next_check(clock)


def _next_check(clock: SlaClock) -> None:
    if clock.met_at is not None or clock.paused_at is not None or clock.breached_at is not None:
        clock.check_at = None
    elif clock.warned_at is None and clock.warn_at < clock.due_at:
        clock.check_at = clock.warn_at
    else:
        clock.check_at = clock.due_at


# -- policies ---------------------------------------------------------------------------------------------------

def current_policies(session: Session, company_id: int) -> list[SlaPolicy]:
    """The policies in force: the newest version of each grade-and-category slot that does not retire it."""
    newest = (sa.select(SlaPolicy.grade, SlaPolicy.category, sa.func.max(SlaPolicy.version).label("version"))
              .where(SlaPolicy.company_id == company_id).group_by(SlaPolicy.grade, SlaPolicy.category).subquery())
    return list(session.scalars(
        sa.select(SlaPolicy).join(newest, sa.and_(SlaPolicy.grade == newest.c.grade,
                                                  SlaPolicy.category == newest.c.category,
                                                  SlaPolicy.version == newest.c.version))
        .where(SlaPolicy.company_id == company_id, SlaPolicy.retired.is_(False))
        .order_by(SlaPolicy.grade, SlaPolicy.category)))


def history(session: Session, company_id: int, grade: str, category: str) -> list[SlaPolicy]:
    """Every version of one slot, newest first."""
    return list(session.scalars(sa.select(SlaPolicy).where(
        SlaPolicy.company_id == company_id, SlaPolicy.grade == grade, SlaPolicy.category == category)
        .order_by(SlaPolicy.version.desc())))


def save_policy(session: Session, company_id: int, user_id: int | None, **values: Any) -> SlaPolicy:
    """Add the next version of the slot `values` names (grade, category); `retired=True` ends the policy."""
    latest = history(session, company_id, values["grade"], values["category"])
    policy = SlaPolicy(company_id=company_id, version=latest[0].version + 1 if latest else 1,
                       created_by_id=user_id, **values)
    session.add(policy)
    session.flush()
    session.info[_SAVED_HERE] = True
    return policy


def policy_for(policies: Iterable[_P], grade: str, category: str) -> _P | None:
    """The most specific policy for a case: its grade and category, then its grade, its category, the default."""
    by_slot = {(p.grade, p.category): p for p in policies}
    return next((by_slot[slot] for slot in ((grade, category), (grade, ""), ("", category), ("", ""))
                 if slot in by_slot), None)


class _Slot(NamedTuple):
    """A policy in force, as the step observer needs it: which one, and what it is for."""

    id: int
    grade: str
    category: str


# (database, company id) -> (the company's policy stamp, the policies in force then). Every step asks which
# policy fits its case, so the policies in force are read again only when the stamp changes: how many policy rows
# the company has and the newest id. Rows are only ever added (a change or a retirement is a new row) and ids come
# in increasing order, so a committed save changes the stamp even when saves commit out of order (PostgreSQL).
# A session that saved a policy never fills the cache: its save may still be rolled back, and SQLite would then
# hand the id out again.
_IN_FORCE: dict[tuple[Any, int], tuple[tuple[int, int], tuple[_Slot, ...]]] = {}
_STAMP = sa.select(sa.func.count(SlaPolicy.id), sa.func.max(SlaPolicy.id)).where(
    SlaPolicy.company_id == sa.bindparam("company_id"))
_CLOCKS_OF = sa.select(SlaClock).where(SlaClock.instance_id == sa.bindparam("instance_id"))
_SAVED_HERE = "kesu.sla_policies_saved"  # session.info key


def _stamp(session: Session, company_id: int) -> tuple[int, int] | None:
    """(policy rows, newest id) of the company; None when it never had a policy."""
    count, newest = session.execute(_STAMP, {"company_id": company_id}).one()
    return (count, newest) if count else None


def _in_force(session: Session, company_id: int, stamp: tuple[int, int]) -> tuple[_Slot, ...]:
    if session.info.get(_SAVED_HERE):
        return _read_in_force(session, company_id)
    key = session.get_bind(), company_id
    cached = _IN_FORCE.get(key)
    if cached is None or cached[0] != stamp:
        cached = _IN_FORCE[key] = stamp, _read_in_force(session, company_id)
    return cached[1]


def _read_in_force(session: Session, company_id: int) -> tuple[_Slot, ...]:
    return tuple(_Slot(p.id, p.grade, p.category) for p in current_policies(session, company_id))


# -- the observer: clocks follow every step -----------------------------------------------------------------------

def on_step(session: Session, outcome: StepOutcome) -> None:
    """Start, re-target, pause, resume and stop the case's clocks after a step; notify of a reopen."""
    instance = outcome.instance
    if instance.sandbox:
        return
    if outcome.reopened:
        _notify_reopen(session, outcome)
    stamp = _stamp(session, instance.company_id)
    if stamp is None:
        return  # the company never had a policy, so the case has no clocks
    clocks = {clock.kind: clock for clock in session.scalars(_CLOCKS_OF, {"instance_id": instance.id})}
    slot = policy_for(_in_force(session, instance.company_id, stamp), grade_key(outcome.data) or "",
                      str(outcome.data.get("category") or ""))
    waiting = any(outcome.process.tasks[element].pauses_sla for element in outcome.open_elements
                  if element in outcome.process.tasks)
    for kind in KINDS:
        _follow(session, clocks.get(kind), kind, slot, outcome, waiting)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("concurrent_change") from None


def _met(kind: str, outcome: StepOutcome) -> bool:
    if kind == "resolution":
        return outcome.instance.status == "completed"
    return any(event["type"] == "task_completed" and event["actor_id"] for event in outcome.events)


def _follow(session: Session, clock: SlaClock | None, kind: str, slot: _Slot | None, outcome: StepOutcome,
            waiting: bool) -> None:
    if clock is not None and clock.met_at is not None:
        return
    policy = session.get(SlaPolicy, slot.id) if slot is not None else None  # mostly the clock's own: no query
    target = policy.target(kind) if policy else ""
    if clock is None:
        if policy is None or not target:
            return
        clock = SlaClock(company_id=outcome.instance.company_id, instance_id=outcome.instance.id, kind=kind,
                         started_at=outcome.instance.created_at, paused_seconds=0.0)
        _schedule(clock, policy, outcome.calendar())
        session.add(clock)
    elif clock.breached_at is None and policy is not None and target and policy.id != clock.policy_id:
        _schedule(clock, policy, outcome.calendar())  # graded (or re-categorised) since: the policy for it now
    _pause_or_resume(clock, waiting, outcome)
    if _met(kind, outcome):
        clock.met_at = outcome.now
    _next_check(clock)


def _pause_or_resume(clock: SlaClock, waiting: bool, outcome: StepOutcome) -> None:
    if waiting and clock.paused_at is None:
        clock.paused_at = outcome.now
    elif not waiting and clock.paused_at is not None:
        measure = _Measure(clock.policy.target(clock.kind), outcome.calendar())
        clock.paused_seconds += max(measure.between(clock.paused_at, outcome.now), 0.0)
        clock.paused_at = None
        if clock.breached_at is None:
            _schedule(clock, clock.policy, outcome.calendar())


def _notify_reopen(session: Session, outcome: StepOutcome) -> None:
    """Everyone who worked on the case hears that the customer sent it back."""
    workers = {actor_id for actor_id in session.scalars(sa.select(Event.actor_id).where(
        Event.instance_id == outcome.instance.id, Event.type == "task_completed")) if actor_id is not None}
    notify(session, outcome.instance.company_id, workers - {outcome.actor_id}, "reopened",
           instance_id=outcome.instance.id, params={"number": outcome.instance.business_key})


# -- the worker: warnings and breaches ------------------------------------------------------------------------------

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
    _next_check(clock)


def _holders(session: Session, instance: Instance) -> set[int]:
    """The users who hold the case's open tasks, or may claim the unclaimed ones."""
    rows = session.execute(sa.select(InboxTask.assignee_id, TaskCandidate.principal)
                           .outerjoin(TaskCandidate, TaskCandidate.task_id == InboxTask.id)
                           .where(InboxTask.instance_id == instance.id)).all()
    held = {row.assignee_id for row in rows if row.assignee_id}
    offered = [row.principal for row in rows if not row.assignee_id and row.principal]
    return held | (recipients(session, instance.company_id, offered) if offered else set())


# -- reading ----------------------------------------------------------------------------------------------------

def clocks_of(session: Session, instance_ids: Iterable[int]) -> dict[int, list[SlaClock]]:
    """The clocks of the given cases, response first."""
    found: dict[int, list[SlaClock]] = {}
    ids = list(instance_ids)
    if ids:
        for clock in session.scalars(sa.select(SlaClock).where(SlaClock.instance_id.in_(ids))
                                     .order_by(SlaClock.instance_id, SlaClock.kind.desc())):
            found.setdefault(clock.instance_id, []).append(clock)
    return found


def escalations_for(session: Session, company_id: int, groups: Iterable[str]) -> list[SlaClock]:
    """Breached clocks escalated to one of `groups` that nobody has acknowledged yet, oldest breach first."""
    names = list(groups)
    if not names:
        return []
    return list(session.scalars(
        sa.select(SlaClock).join(SlaClock.policy)
        .where(SlaClock.company_id == company_id, SlaClock.breached_at.is_not(None),
               SlaClock.acknowledged_at.is_(None), SlaPolicy.escalate_to.in_(names))
        .order_by(SlaClock.breached_at)))


def acknowledge(session: Session, engine: Engine, clock: SlaClock, user_id: int, text: str, now: datetime) -> None:
    """The next level up records what it did about a breach, in the case's history; the escalation leaves its
    inbox."""
    instance = session.execute(sa.select(Instance).where(Instance.id == clock.instance_id)
                               .with_for_update(of=Instance.__table__)).scalar_one()  # the case first, as steps do
    clock.acknowledged_by_id, clock.acknowledged_at, clock.acknowledgement = user_id, now, text
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("concurrent_change") from None
    engine.note(session, instance, "sla_acknowledged", user_id, now, clock=clock.kind,
         escalated_to=clock.policy.escalate_to, text=text)
