"""Closures: an engine observer that records how a complaint's case closed and tells its first receiver (首问负责)
when it is closed or sent back by the customer."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from complaints.models import Complaint
from engine.runtime.steps import StepOutcome
from notifications import notify


def on_step(session: Session, outcome: StepOutcome) -> None:
    """In the step's transaction: a case that just ended gets its closure kind on its complaint, and the first
    receiver hears of the closure or of a reopening (test runs and cases that are no complaint tell nobody)."""
    instance = outcome.instance
    closed = instance.status == "completed" and any(e["type"] == "instance_completed" for e in outcome.events)
    if instance.sandbox or not (closed or outcome.reopened):
        return
    params: dict[str, str] = {"number": instance.business_key}
    if closed:
        params["closure"] = outcome.process.closure_of(instance.end_element)
        receiver = session.execute(sa.update(Complaint).where(Complaint.instance_id == instance.id)
                                   .values(closure=params["closure"]).returning(Complaint.first_receiver_id)).first()
    else:
        receiver = session.execute(sa.select(Complaint.first_receiver_id)
                                   .where(Complaint.instance_id == instance.id)).first()
    told = {receiver.first_receiver_id} - {None, outcome.actor_id} if receiver is not None else set()
    if told:  # a case that is no complaint has no row; whoever closed or reopened it knows
        notify(session, instance.company_id, told, "closed" if closed else "reopened", instance_id=instance.id,
               params=params, now=outcome.now)
