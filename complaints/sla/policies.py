"""Policies: the versions in force, saving the next version, the policy that fits a case, and a per-company
cache of the policies in force that every step consults."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from complaints.sla.models import SlaPolicy

_P = TypeVar("_P", bound="Slot | SlaPolicy")


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


class Slot(NamedTuple):
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
_IN_FORCE: dict[tuple[Any, int], tuple[tuple[int, int], tuple[Slot, ...]]] = {}
_STAMP = sa.select(sa.func.count(SlaPolicy.id), sa.func.max(SlaPolicy.id)).where(
    SlaPolicy.company_id == sa.bindparam("company_id"))
_SAVED_HERE = "kesu.sla_policies_saved"  # session.info key


def stamp(session: Session, company_id: int) -> tuple[int, int] | None:
    """(policy rows, newest id) of the company; None when it never had a policy."""
    count, newest = session.execute(_STAMP, {"company_id": company_id}).one()
    return (count, newest) if count else None


def in_force(session: Session, company_id: int, stamp: tuple[int, int]) -> tuple[Slot, ...]:
    if session.info.get(_SAVED_HERE):
        return _read_in_force(session, company_id)
    key = session.get_bind(), company_id
    cached = _IN_FORCE.get(key)
    if cached is None or cached[0] != stamp:
        cached = _IN_FORCE[key] = stamp, _read_in_force(session, company_id)
    return cached[1]


def _read_in_force(session: Session, company_id: int) -> tuple[Slot, ...]:
    return tuple(Slot(p.id, p.grade, p.category) for p in current_policies(session, company_id))
