"""A complaint is one instance of a procedure plus what the customer told us."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, UTCDateTime, utcnow
from engine.records import Instance

CLOSED_AS = {"normal": "completed", "invalid": "invalid", "abnormal": "abnormal"}  # closure -> register status


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (sa.UniqueConstraint("company_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id"), unique=True)
    number: Mapped[str] = mapped_column(sa.String(16))
    customer_name: Mapped[str] = mapped_column(sa.String(200))
    contact_person: Mapped[str] = mapped_column(sa.String(100))
    contact: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(20))
    category: Mapped[str] = mapped_column(sa.String(20), index=True)
    product: Mapped[str] = mapped_column(sa.String(200), default="")
    specification: Mapped[str] = mapped_column(sa.String(200), default="")
    contract_number: Mapped[str] = mapped_column(sa.String(100), default="")
    work_number: Mapped[str] = mapped_column(sa.String(100), default="")
    content: Mapped[str] = mapped_column(sa.Text)
    customer_request: Mapped[str] = mapped_column(sa.Text, default="")
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Who received it first and owns it until it is closed (首问负责): whoever registered it.
    first_receiver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # How its case closed (normal, invalid, abnormal: the end event's `closure`); None while it is not closed.
    closure: Mapped[str | None] = mapped_column(sa.String(16), index=True)

    instance: Mapped[Instance] = relationship(lazy="joined")

    @property
    def status(self) -> str:
        """What the register shows: running or error as the case is, a closed case by how it closed."""
        if self.instance.status == "completed":
            return CLOSED_AS.get(self.closure or "normal", "completed")
        return self.instance.status


class ComplaintCounter(Base):
    """The last serial used per company and month; incremented atomically by numbering."""

    __tablename__ = "complaint_counters"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
