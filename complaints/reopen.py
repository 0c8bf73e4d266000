"""Reopen notices: an engine observer telling everyone who worked on a case that the customer sent it back."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.records import Event
from engine.runtime.steps import StepOutcome
from notifications import notify


def on_step(session: Session, outcome: StepOutcome) -> None:
    """Everyone who worked on a case the customer sent back hears of it (test runs tell nobody)."""
    if outcome.instance.sandbox or not outcome.reopened:
        return
    workers = {actor_id for actor_id in session.scalars(sa.select(Event.actor_id).where(
        Event.instance_id == outcome.instance.id, Event.type == "task_completed")) if actor_id is not None}
    notify(session, outcome.instance.company_id, workers - {outcome.actor_id}, "reopened",
           instance_id=outcome.instance.id, params={"number": outcome.instance.business_key})
