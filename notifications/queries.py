"""Reading a user's notifications and mail choices; `mine` scopes every statement to the reader."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db import S, in_company
from notifications.models import Notification, NotificationPreferences


def mine(statement: S, user_id: int, company_id: int) -> S:
    """`statement` limited to the notifications of one user of one company."""
    return in_company(statement, company_id, Notification).where(Notification.user_id == user_id)


def unread_count(session: Session, user_id: int, company_id: int) -> int:
    return session.scalar(mine(sa.select(sa.func.count()).select_from(Notification), user_id, company_id)
                          .where(Notification.read_at.is_(None))) or 0


def latest(session: Session, user_id: int, company_id: int, limit: int) -> list[Notification]:
    """The user's newest notifications, read or not."""
    return list(session.scalars(mine(sa.select(Notification), user_id, company_id)
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def notification(session: Session, user_id: int, company_id: int, notification_id: int) -> Notification | None:
    """One of the user's notifications, or None."""
    return session.scalar(mine(sa.select(Notification), user_id, company_id).where(Notification.id == notification_id))


def preferences(session: Session, user_id: int) -> NotificationPreferences:
    """The user's mail choices; the defaults (every kind, one mail each, no digest) when never saved."""
    return session.get(NotificationPreferences, user_id) or NotificationPreferences(user_id=user_id, muted=[],
                                                                                    digest=False)
