"""Reading clocks for the pages, and the escalations the next level up sees and acknowledges."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from complaints.sla.models import SlaClock, SlaPolicy
from engine.errors import Conflict
from engine.records import Instance
from engine.runtime.steps import Engine


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
