"""Reading complaints: the company's list and one complaint with its history."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from complaints.models import Complaint
from engine.errors import NotFound
from engine.records import Instance

PAGE_SIZE = 50


def complaint_list(session: Session, company_id: int, status: str | None = None, page: int = 1) -> list[Complaint]:
    """Newest first, optionally only those with one instance status."""
    query = (sa.select(Complaint).join(Instance, Instance.id == Complaint.instance_id)
             .where(Complaint.company_id == company_id).order_by(Complaint.registered_at.desc(), Complaint.id.desc()))
    if status:
        query = query.where(Instance.status == status)
    return list(session.scalars(query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)))


def complaint_for_instance(session: Session, company_id: int, instance_id: int) -> Complaint:
    complaint = session.scalar(sa.select(Complaint).where(Complaint.instance_id == instance_id,
                                                          Complaint.company_id == company_id))
    if complaint is None:
        raise NotFound("no_such_case")
    return complaint


def complaint_instances(session: Session, instance_ids: Iterable[int]) -> set[int]:
    """Which of the cases are complaints (a scheduled job's case, a monthly report say, is not)."""
    ids = set(instance_ids)
    if not ids:
        return set()
    return set(session.scalars(sa.select(Complaint.instance_id).where(Complaint.instance_id.in_(ids))))
