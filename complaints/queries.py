"""Reading complaints: the company's list, one complaint, the audit's filtered set, stopped cases, SLA rows.

Every query is scoped to one company with `db.in_company`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from complaints.models import CLOSED_AS, Complaint
from complaints.sla import SlaClock, SlaPolicy
from db import in_company
from engine.errors import NotFound
from engine.records import Event, InboxTask, Instance, ProcessVersion

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the auditor asked for; a value that is missing or not one of the choices is None (no filter)."""

    procedure: str | None = None
    version: int | None = None
    status: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    grade: str | None = None  # "field:value", as grade_key gives it
    category: str | None = None


def complaint_list(session: Session, company_id: int, status: str | None = None, page: int = 1,
                   mine_of: int | None = None) -> list[Complaint]:
    """Newest first, optionally only those with one register status (COMPLAINT_STATUSES) and only the user
    `mine_of`'s open ones."""
    query = (in_company(sa.select(Complaint), company_id, Complaint)
             .join(Instance, Instance.id == Complaint.instance_id)
             .order_by(Complaint.registered_at.desc(), Complaint.id.desc()))
    query = with_status(query, status)
    if mine_of is not None:
        query = mine(query, mine_of)
    return list(session.scalars(query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)))


def with_status(query: sa.Select[Any], status: str | None) -> sa.Select[Any]:
    """Only the complaints the register shows with `status` (a key of COMPLAINT_STATUSES; None or another value
    filters nothing): running or stopped by an error as their case is, closed ones by how they closed. `query`
    joins Instance."""
    closure = {value: key for key, value in CLOSED_AS.items()}.get(status or "")
    if closure is not None:
        return query.where(Instance.status == "completed", Complaint.closure == closure)
    if status in ("running", "error"):
        return query.where(Instance.status == status)
    return query


def mine(query: sa.Select[Any], user_id: int) -> sa.Select[Any]:
    """Only the open complaints (not closed) the user received first (首问负责), holds a task of, or worked on
    (completed one of its tasks). `query` joins Instance."""
    holds = sa.select(InboxTask.instance_id).where(InboxTask.assignee_id == user_id)
    worked = sa.select(Event.instance_id).where(Event.actor_id == user_id, Event.type == "task_completed")
    return query.where(Instance.status != "completed", sa.or_(
        Complaint.first_receiver_id == user_id, Complaint.instance_id.in_(holds), Complaint.instance_id.in_(worked)))


def complaint_for_instance(session: Session, company_id: int, instance_id: int) -> Complaint:
    complaint = session.scalar(in_company(sa.select(Complaint), company_id, Complaint)
                               .where(Complaint.instance_id == instance_id))
    if complaint is None:
        raise NotFound("no_such_case")
    return complaint


def complaint_instances(session: Session, instance_ids: Iterable[int]) -> set[int]:
    """Which of the cases are complaints (a scheduled job's case, a monthly report say, is not)."""
    ids = set(instance_ids)
    if not ids:
        return set()
    return set(session.scalars(sa.select(Complaint.instance_id).where(Complaint.instance_id.in_(ids))))


def _utc(day: date, zone: str) -> datetime:
    """Midnight at the start of `day` in the time zone `zone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def matching(session: Session, company_id: int, zone: str, filters: Filters) -> list[Complaint]:
    """The complaints on the chosen procedure that pass every filter but the grade, newest first; test runs
    never. Registration dates are days in the company's time zone `zone`."""
    query = (in_company(sa.select(Complaint), company_id, Complaint, Instance)
             .join(Complaint.instance).join(Instance.version)
             .options(contains_eager(Complaint.instance).contains_eager(Instance.version))
             .where(Instance.sandbox.is_(False), ProcessVersion.process_key == filters.procedure)
             .order_by(Complaint.registered_at.desc(), Complaint.id.desc()))
    if filters.version:
        query = query.where(ProcessVersion.version == filters.version)
    if filters.status:
        query = query.where(Instance.status == filters.status)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.registered_from:
        query = query.where(Complaint.registered_at >= _utc(filters.registered_from, zone))
    if filters.registered_to:  # the whole of the last day
        query = query.where(Complaint.registered_at < _utc(filters.registered_to + timedelta(days=1), zone))
    return list(session.scalars(query))


def stopped_cases(session: Session, company_id: int) -> list[tuple[Instance, Complaint | None]]:
    """The company's cases a diagram error stopped, with their complaint where they are one, latest first."""
    return [(instance, complaint) for instance, complaint in session.execute(
        in_company(sa.select(Instance, Complaint), company_id, Instance)
        .outerjoin(Complaint, Complaint.instance_id == Instance.id)
        .where(Instance.status == "error").order_by(Instance.updated_at.desc()))]


def sla_policy(session: Session, company_id: int, policy_id: int) -> SlaPolicy | None:
    """One version of one of the company's SLA policies, or None."""
    return session.scalar(in_company(sa.select(SlaPolicy), company_id, SlaPolicy).where(SlaPolicy.id == policy_id))


def sla_clock(session: Session, company_id: int, clock_id: int) -> SlaClock | None:
    """One SLA clock of one of the company's cases, or None."""
    return session.scalar(in_company(sa.select(SlaClock), company_id, SlaClock).where(SlaClock.id == clock_id))
