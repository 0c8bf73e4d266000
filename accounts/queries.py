"""Reading a company's accounts and calendars for the pages: every query here is scoped to one company."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import Group, User
from db import in_company
from engine.calendars.company import CompanyCalendar


def group_names(session: Session, company_id: int) -> list[str]:
    """The company's group names, in order."""
    return list(session.scalars(in_company(sa.select(Group.name), company_id, Group).order_by(Group.name)))


def active_users(session: Session, company_id: int) -> list[tuple[str, str]]:
    """The company's active users as (e-mail, name), by name."""
    return [(email, name) for email, name in session.execute(
        in_company(sa.select(User.email, User.name), company_id, User).where(User.active).order_by(User.name))]


def calendars(session: Session, company_id: int) -> list[CompanyCalendar]:
    """The company's calendars, its default first, then by name."""
    return list(session.scalars(in_company(sa.select(CompanyCalendar), company_id, CompanyCalendar)
                                .order_by(CompanyCalendar.is_default.desc(), CompanyCalendar.name)))


def calendar(session: Session, company_id: int, calendar_id: int) -> CompanyCalendar | None:
    """One calendar of the company, or None."""
    return session.scalar(in_company(sa.select(CompanyCalendar), company_id, CompanyCalendar)
                          .where(CompanyCalendar.id == calendar_id))


def calendar_name_taken(session: Session, company_id: int, name: str, calendar_id: int | None) -> bool:
    """Whether a calendar of the company other than `calendar_id` is called `name`."""
    return session.scalar(in_company(sa.select(CompanyCalendar.id), company_id, CompanyCalendar)
                          .where(CompanyCalendar.name == name, CompanyCalendar.id != calendar_id)) is not None
