"""Complaint numbers: year + month + serial (202611-0001), per company, never duplicated.

The counter row is created if missing and then incremented with a single UPDATE ... RETURNING, which
PostgreSQL serialises with a row lock and SQLite with its write lock, so concurrent registrations each
get their own serial within their transaction.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from complaints.models import ComplaintCounter


def _insert_ignore(session: Session, company_id: int, period: str) -> None:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(ComplaintCounter).values(company_id=company_id, period=period, last=0)
    session.execute(statement.on_conflict_do_nothing())


def next_number(session: Session, company_id: int, now: datetime, tz: str) -> str:
    """Allocate the next number for the month `now` falls in, in the company's time zone."""
    period = now.astimezone(ZoneInfo(tz)).strftime("%Y%m")
    _insert_ignore(session, company_id, period)
    serial = session.execute(
        sa.update(ComplaintCounter)
        .where(ComplaintCounter.company_id == company_id, ComplaintCounter.period == period)
        .values(last=ComplaintCounter.last + 1)
        .returning(ComplaintCounter.last)
    ).scalar_one()
    return f"{period}-{serial:04d}"
