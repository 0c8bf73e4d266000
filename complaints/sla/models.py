"""The SLA tables: versioned policies per grade and category, and the clocks they run on each case."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, UTCDateTime, utcnow
from engine import N_

KINDS: dict[str, str] = {"response": N_("Response"), "resolution": N_("Resolution")}
EVENT_TYPES = frozenset({"sla_warned", "sla_breached", "sla_acknowledged"})  # what clocks seal in a case's history


class SlaPolicy(Base):
    """One version of the policy for a grade and category ('' = any); the newest version of a slot is in force,
    unless it retires the policy."""

    __tablename__ = "sla_policies"
    # ids are never handed out again once committed, even after deletes (SQLite AUTOINCREMENT): see policies._STAMP
    __table_args__ = (sa.UniqueConstraint("company_id", "grade", "category", "version"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))  # indexed by the unique constraint
    grade: Mapped[str] = mapped_column(sa.String(64), default="")  # "field:value" as grade_key gives it
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    version: Mapped[int] = mapped_column(default=1)
    response_target: Mapped[str] = mapped_column(sa.String(64), default="")
    resolution_target: Mapped[str] = mapped_column(sa.String(64), default="")
    warn_fraction: Mapped[float] = mapped_column(default=0.8)
    escalate_to: Mapped[str] = mapped_column(sa.String(100), default="")  # a group of the company, or none
    note: Mapped[str] = mapped_column(sa.Text, default="")
    retired: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def target(self, kind: str) -> str:
        return self.response_target if kind == "response" else self.resolution_target


class SlaClock(Base):
    """One running (or finished) target of one case."""

    __tablename__ = "sla_clocks"
    __table_args__ = (sa.UniqueConstraint("instance_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_policies.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(default=0.0)  # paused so far, in the target's own time
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # when the worker looks next
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledgement: Mapped[str] = mapped_column(sa.Text, default="")
    lock_version: Mapped[int] = mapped_column(default=1)  # a step and the worker may change one clock at once

    policy: Mapped[SlaPolicy] = relationship(lazy="joined")
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once, when SQLAlchemy maps the class

    @property
    def status(self) -> str:
        """met, late (met after the deadline), breached, paused, warning or running."""
        if self.met_at is not None:
            return "late" if self.met_at > self.due_at else "met"
        if self.breached_at is not None:
            return "breached"
        if self.paused_at is not None:
            return "paused"
        return "warning" if self.warned_at is not None else "running"
