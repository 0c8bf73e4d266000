"""The engine observer: after every step, in its transaction, the case's clocks start, follow the policy for its
grade and category, pause while a task marked `sla: pause` is open, and stop when met."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from complaints.choices import grade_key
from complaints.sla.models import KINDS, SlaClock, SlaPolicy
from complaints.sla.policies import Slot, in_force, policy_for, stamp as stamp_of
from complaints.sla.targets import Measure, plan_check, schedule
from engine.errors import Conflict
from engine.runtime.steps import StepOutcome

_CLOCKS_OF = sa.select(SlaClock).where(SlaClock.instance_id == sa.bindparam("instance_id"))


def on_step(session: Session, outcome: StepOutcome) -> None:
    """Start, re-target, pause, resume and stop the case's clocks after a step."""
    instance = outcome.instance
    if instance.sandbox:
        return
    stamp = stamp_of(session, instance.company_id)
    if stamp is None:
        return  # the company never had a policy, so the case has no clocks
    clocks = {clock.kind: clock for clock in session.scalars(_CLOCKS_OF, {"instance_id": instance.id})}
    slot = policy_for(in_force(session, instance.company_id, stamp), grade_key(outcome.data) or "",
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


def _follow(session: Session, clock: SlaClock | None, kind: str, slot: Slot | None, outcome: StepOutcome,
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
        schedule(clock, policy, outcome.calendar())
        session.add(clock)
    elif clock.breached_at is None and policy is not None and target and policy.id != clock.policy_id:
        schedule(clock, policy, outcome.calendar())  # graded (or re-categorised) since: the policy for it now
    _pause_or_resume(clock, waiting, outcome)
    if _met(kind, outcome):
        clock.met_at = outcome.now
    plan_check(clock)


def _pause_or_resume(clock: SlaClock, waiting: bool, outcome: StepOutcome) -> None:
    if waiting and clock.paused_at is None:
        clock.paused_at = outcome.now
    elif not waiting and clock.paused_at is not None:
        measure = Measure(clock.policy.target(clock.kind), outcome.calendar())
        clock.paused_seconds += max(measure.between(clock.paused_at, outcome.now), 0.0)
        clock.paused_at = None
        if clock.breached_at is None:
            schedule(clock, clock.policy, outcome.calendar())
