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
    complaint = session.scalar(sa.select(Complaint).where(Complaint.instance_id == instance.id))
    if complaint is None:
        return
    params = {"number": instance.business_key}
    if closed:
        complaint.closure = outcome.process.closure_of(instance.end_element)
        params["closure"] = complaint.closure
    if complaint.first_receiver_id is not None:
        notify(session, instance.company_id, {complaint.first_receiver_id} - {outcome.actor_id},
               "closed" if closed else "reopened", instance_id=instance.id, params=params, now=outcome.now)

