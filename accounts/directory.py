"""Users as the engine sees them: looked up by e-mail within a company, named for messages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import Company, Group, User
from accounts.permissions import holders
from engine.calendars.company import CompanyCalendar
from engine.calendars.working_time import BusinessCalendar, china
from engine.dto import Actor


class UserDirectory:
    """The engine's Directory, backed by the users table."""

    def person(self, session: Session, company_id: int, email: str) -> tuple[int, str] | None:
        found = session.execute(sa.select(User.id, User.name).where(
            User.company_id == company_id, User.email == email.strip().lower(), User.active.is_(True))).first()
        return (found.id, found.name) if found else None

    def user_name(self, session: Session, user_id: int) -> str:
        return session.scalar(sa.select(User.name).where(User.id == user_id)) or "?"

    def has_group(self, session: Session, company_id: int, name: str) -> bool:
        return session.scalar(sa.select(Group.id).where(Group.company_id == company_id, Group.name == name)) is not None


def company_calendar(session: Session, company_id: int, name: str | None = None) -> BusinessCalendar:
    """The company's default calendar (or the one called `name`), as its admins last saved it; mainland China's
    calendar in the company's time zone when the company has none. Called whenever a task opens, so a saved
    calendar is rebuilt only after it changes."""
    wanted = CompanyCalendar.name == name if name is not None else CompanyCalendar.is_default.is_(True)
    found = session.execute(sa.select(CompanyCalendar.id, CompanyCalendar.updated_at)
                            .where(CompanyCalendar.company_id == company_id, wanted)).first()
    if found is None:
        zone = session.scalar(sa.select(Company.timezone).where(Company.id == company_id))
        return china(zone or "Asia/Shanghai")
    key = (found.id, found.updated_at)
    if key not in _BUILT:
        if len(_BUILT) >= _BUILT_LIMIT:
            _BUILT.clear()  # stale versions of edited calendars would pile up otherwise
        _BUILT[key] = session.get(CompanyCalendar, found.id).to_business()
    return _BUILT[key]


_BUILT: dict[tuple[int, datetime], BusinessCalendar] = {}  # (calendar id, updated_at) -> its BusinessCalendar
_BUILT_LIMIT = 256


def actor_for(user: User) -> Actor:
    """The engine's view of a user: company, e-mail and group names."""
    return Actor(company_id=user.company_id, user_id=user.id, email=user.email, groups=user.group_names)


@dataclass(frozen=True)
class Person:
    """A user a form may name (assignment of a responsible person): e-mail, name and groups."""

    email: str
    name: str
    groups: tuple[str, ...]


def company_people(session: Session, company_id: int) -> tuple[list[Person], list[str]]:
    """The company's active users who work on cases (not auditors), by name, and its groups, by name."""
    users = session.scalars(sa.select(User).where(User.company_id == company_id, User.active.is_(True),
                                                  User.role.in_(sorted(holders("work_cases")))).order_by(User.name))
    groups = session.scalars(sa.select(Group.name).where(Group.company_id == company_id).order_by(Group.name))
    return [Person(u.email, u.name, tuple(sorted(u.group_names))) for u in users], list(groups)


def names_by_email(session: Session, company_id: int, values: set[str]) -> dict[str, str]:
    """Names of the company's users among `values` (a form's answers: only e-mails of its users match)."""
    emails = {value.strip().lower() for value in values if "@" in value}
    if not emails:
        return {}
    return dict(session.execute(sa.select(User.email, User.name).where(User.company_id == company_id,
                                                                       User.email.in_(emails))).all())


def names_by_id(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Display names for a set of user ids, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())
