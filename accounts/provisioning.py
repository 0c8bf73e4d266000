"""Create companies and users (used by the CLI and the demo loader)."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts import models
from accounts.models import Company, Group, Role, User
from engine.calendars.company import create_china_calendar


class AccountError(ValueError):
    """A company or user cannot be created as asked; the message says why."""


def company_named(session: Session, name: str) -> Company | None:
    return session.scalar(sa.select(Company).where(Company.name == name))


def create_company(session: Session, name: str, timezone: str = "Asia/Shanghai") -> Company:
    """A new company, working on mainland China's calendar (its default calendar, which its admins may edit)."""
    if company_named(session, name):
        raise AccountError(f"a company called {name!r} already exists")
    company = Company(name=name, timezone=timezone)
    session.add(company)
    session.flush()
    create_china_calendar(session, company)
    session.flush()
    return company


def group(session: Session, company: Company, name: str) -> Group:
    """The company's group of that name, created if missing."""
    found = session.scalar(sa.select(Group).where(Group.company_id == company.id, Group.name == name))
    if found is None:
        found = Group(company_id=company.id, name=name)
        session.add(found)
        session.flush()
    return found


MIN_PASSWORD = 8


def create_user(session: Session, company: Company, email: str, role: str, password: str,
                groups: Iterable[str] = (), name: str | None = None) -> User:
    if role not in {r.value for r in Role}:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    email = email.strip().lower()
    if session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(company_id=company.id, email=email, name=name or email.split("@")[0], role=role)
    user.set_password(password)
    user.groups = [group(session, company, g) for g in groups]
    session.add(user)
    session.flush()
    return user


@cache
def _dummy_hash() -> str:
    """A hash made the way users' passwords are, checked when no user has the e-mail: the answer then takes as long
    as for a real account, so timing tells nobody which e-mails exist."""
    return models.generate_password_hash(secrets.token_hex(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password; the same work is done when there is none."""
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        models.check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) and user.is_active else None


def change_password(session: Session, user_id: int, current: str, new: str) -> bool:
    """Set a new password if `current` is the user's password now (False otherwise, nothing changed)."""
    user = session.get(User, user_id)
    if user is None or not user.check_password(current):
        return False
    if len(new) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    user.set_password(new)
    return True


def choose_language(session: Session, user_id: int, locale: str) -> None:
    """Remember the language the user picked, for their next sign-in."""
    session.get(User, user_id).locale = locale
