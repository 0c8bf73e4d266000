"""Register a complaint: allocate its number, start its procedure, keep its fields for lists and filters."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from complaints.models import Complaint
from complaints.numbering import next_number
from engine.records import ProcessVersion
from engine.runtime import Engine
from engine.views import Actor

# The registration fields, in form order; all of them become instance data the diagram can read.
FIELDS = ("customer_name", "contact_person", "contact", "channel", "category", "product", "specification",
          "contract_number", "work_number", "content", "customer_request")


def register(session: Session, engine: Engine, version: ProcessVersion, actor: Actor, values: dict[str, Any],
             tz: str) -> Complaint:
    """Create the complaint and its instance in the caller's transaction; `values` are already validated."""
    fields = {name: (values.get(name) or "") for name in FIELDS}
    number = next_number(session, actor.company_id, engine.clock(), tz)
    instance = engine.start(session, version, actor, {**fields, "complaint_number": number}, business_key=number)
    complaint = Complaint(company_id=actor.company_id, instance_id=instance.id, number=number,
                          registered_by_id=actor.user_id, registered_at=instance.created_at, **fields)
    session.add(complaint)
    session.flush()
    return complaint


def sample_values() -> dict[str, Any]:
    """A made-up registered complaint, the start data of an owner's test run."""
    return {"customer_name": "测试客户有限公司", "contact_person": "王测试", "contact": "13800000000",
            "channel": "phone", "category": "product_quality", "product": "HX-200", "specification": "25 kg",
            "contract_number": "TEST-001", "work_number": "", "content": "Sample complaint for a test run.",
            "customer_request": "Replace the batch.", "complaint_number": "TEST"}
