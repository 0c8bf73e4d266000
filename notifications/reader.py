"""What a user does with their notifications: marks them read and chooses what is mailed, in the caller's
transaction."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db import utcnow
from notifications.models import Notification
from notifications.queries import mine, preferences


def mark_read(session: Session, user_id: int, company_id: int, notification_ids: list[int] | None = None) -> None:
    """Mark the user's unread notifications read: those of `notification_ids`, or all of them when None."""
    statement = mine(sa.update(Notification), user_id, company_id).where(Notification.read_at.is_(None))
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    session.execute(statement.values(read_at=utcnow()))


def save_preferences(session: Session, user_id: int, muted: set[str], digest: bool, local_now: datetime) -> None:
    """Save which kinds the user has mailed and whether in a morning digest (`local_now`: the company's time)."""
    prefs = preferences(session, user_id)
    prefs.choose(muted, digest, local_now)
    session.add(prefs)
