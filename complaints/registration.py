"""Register a complaint: allocate its number, start its procedure, keep its fields for lists and filters."""
from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import User
from complaints.choices import CATEGORIES, CHANNELS
from complaints.models import Complaint
from complaints.numbering import next_number
from engine.dto import Actor, InstanceView
from engine.errors import Refused
from engine.records import ProcessVersion
from engine.runtime.steps import Engine

# The registration fields, in form order; all of them become instance data the diagram can read.
FIELDS = ("customer_name", "contact_person", "contact", "channel", "category", "product", "specification",
          "contract_number", "work_number", "content", "customer_request")
CODES = {"channel": CHANNELS, "category": CATEGORIES}  # fields holding a code of a fixed list


class Registered(NamedTuple):
    """A registered complaint and its case as the start step left it, for the answer to be built from."""

    complaint: Complaint
    case: InstanceView


def register(session: Session, engine: Engine, version: ProcessVersion, actor: Actor, values: dict[str, Any],
             tz: str) -> Complaint:
    """Create the complaint and its instance in the caller's transaction; `values` are already validated."""
    return register_with_view(session, engine, version, actor, values, tz).complaint


def register_with_view(session: Session, engine: Engine, version: ProcessVersion, actor: Actor,
                       values: dict[str, Any], tz: str) -> Registered:
    """`register`, also handing back the case view the start step built, for an answer built from it without
    reading the case back and deserializing it again. The registering user is its first receiver (首问负责) and
    is offered this procedure first next time."""
    fields = {name: (values.get(name) or "") for name in FIELDS}
    number = next_number(session, actor.company_id, engine.clock(), tz)
    case = engine.start(session, version, actor, {**fields, "complaint_number": number}, business_key=number)
    complaint = Complaint(company_id=actor.company_id, instance_id=case.id, number=number,
                          registered_by_id=actor.user_id, first_receiver_id=actor.user_id,
                          registered_at=case.created_at, **fields)
    if case.status == "completed":  # ended in its start step, before the closure observer could see a complaint
        complaint.closure = engine.compiled(version).closure_of(case.end_element)
    session.add(complaint)
    if actor.user_id is not None:
        session.execute(sa.update(User).where(User.id == actor.user_id).values(last_procedure=version.process_key))
    session.flush()
    return Registered(complaint, case)


def apply_corrections(session: Session, instance_id: int, changes: dict[str, dict[str, Any]]) -> None:
    """Keep the complaint's registered fields (its lists, filters and page) equal to the case data an admin
    corrected; a channel or category must stay one of the known codes, or the correction is refused."""
    complaint = session.scalar(sa.select(Complaint).where(Complaint.instance_id == instance_id))
    if complaint is None:
        return
    for name in FIELDS:
        if name in changes:
            value = "" if changes[name]["to"] is None else str(changes[name]["to"])
            if name in CODES and value not in CODES[name]:
                raise Refused("unknown_choice", field=name, value=value)
            setattr(complaint, name, value)


def sample_values() -> dict[str, Any]:
    """A made-up registered complaint, the start data of an owner's test run."""
    return {"customer_name": "测试客户有限公司", "contact_person": "王测试", "contact": "13800000000",
            "channel": "phone", "category": "product_quality", "product": "HX-200", "specification": "25 kg",
            "contract_number": "TEST-001", "work_number": "", "content": "Sample complaint for a test run.",
            "customer_request": "Replace the batch.", "complaint_number": "TEST"}
