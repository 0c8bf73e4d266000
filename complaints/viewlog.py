"""Who looked at a case: every complaint page an auditor opens is recorded, append-only like the history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from accounts.models import Role, User
from db import Base, UTCDateTime, utcnow
from engine import N_
from engine.records import make_append_only

PAGES: dict[str, str] = {
    "complaint": N_("Complaint page"),
    "replay": N_("Replay"),
    "evidence": N_("Evidence pack"),
    "evidence.json": N_("Evidence pack (JSON)"),
    "evidence.pdf": N_("Evidence pack (PDF)"),
}


class CaseView(Base):
    """One page of one case opened by an auditor: which page ("complaint", "replay", "evidence", ...), when."""

    __tablename__ = "case_views"
    __table_args__ = (sa.Index("ix_case_views_instance_at", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    page: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


make_append_only(CaseView.__table__)


@dataclass(frozen=True)
class Viewing:
    """One line of the log as pages show it."""

    at: datetime
    who: str
    page: str

    @property
    def label(self) -> str:
        """The page's name for people, marked for translation (translated where shown)."""
        return PAGES.get(self.page, self.page)


class ViewLog(NamedTuple):
    """How often a case was viewed in all, and the latest views (a page shows a few, the evidence pack all)."""

    total: int
    latest: list[Viewing]  # newest first


def recorded(user: User) -> bool:
    """Whether the views of `user` are kept: an auditor's are; others' are not."""
    return user.role == Role.AUDITOR


def record_view(session: Session, user: User, instance_id: int, page: str) -> None:
    """Record an auditor opening a page of a case, in the caller's unit of work (others' views are not kept).

    Pages commit it before they are built, so nothing a page does afterwards can take the record back, and a page
    whose viewing could not be recorded is not shown.
    """
    if recorded(user):
        session.add(CaseView(company_id=user.company_id, instance_id=instance_id, user_id=user.id, page=page))


def views_of(session: Session, company_id: int, instance_id: int, limit: int | None = 50) -> ViewLog:
    """How many times the case was viewed, and the latest `limit` views (all when None) with the viewers' names."""
    scope = (CaseView.company_id == company_id, CaseView.instance_id == instance_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(CaseView).where(*scope)) or 0
    rows = session.execute(sa.select(CaseView.at, User.name, CaseView.page).join(User, User.id == CaseView.user_id)
                           .where(*scope).order_by(CaseView.at.desc(), CaseView.id.desc()).limit(limit))
    return ViewLog(total, [Viewing(at, who, page) for at, who, page in rows])
