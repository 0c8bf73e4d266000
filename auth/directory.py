"""Users as the engine sees them: looked up by e-mail within a company, named for messages."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from auth.models import Company, User
from engine.calendar import BusinessCalendar, china
from engine.views import Actor


class UserDirectory:
    """The engine's Directory, backed by the users table."""

    def user_id(self, session: Session, company_id: int, email: str) -> int | None:
        return session.scalar(sa.select(User.id).where(User.company_id == company_id, User.email == email))

    def user_name(self, session: Session, user_id: int) -> str:
        return session.scalar(sa.select(User.name).where(User.id == user_id)) or "?"


def company_calendar(session: Session, company_id: int) -> BusinessCalendar:
    """The company's business calendar: mainland China's holidays and adjusted working days, in the company's
    time zone (per-company calendars an admin edits are not built yet)."""
    zone = session.scalar(sa.select(Company.timezone).where(Company.id == company_id))
    return china(zone or "Asia/Shanghai")


def actor_for(user: User) -> Actor:
    """The engine's view of a user: company, e-mail and group names."""
    return Actor(company_id=user.company_id, user_id=user.id, email=user.email, groups=user.group_names)


def names_by_id(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Display names for a set of user ids, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())
