"""What users are told (in the app, and by e-mail unless they opt out) and how each wants to be told."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, UTCDateTime, utcnow

DIGEST_AT = time(8)  # company-local time from which the day's digest goes out


class Notification(Base):
    """One thing one user is told. `params` are what its text is written from (complaint number, task names,
    due time in UTC), so it is rendered in whatever language the reader uses.

    The mail outbox is the same row: `mail_due_at` is when it should (again) be mailed, None when there is
    nothing to mail (sent, not wanted, collected by a daily digest, or given up after `mail_attempts` failures).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),  # the header's unread count
        sa.Index("ix_notifications_mail_due_at", "mail_due_at"),  # what the worker mails next
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instances.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))  # the inbox row goes when the task is done: no FK
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # alone, or in a digest
    mail_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_attempts: Mapped[int] = mapped_column(default=0)
    mail_error: Mapped[str | None] = mapped_column(sa.Text)  # why the last attempt failed


class NotificationPreferences(Base):
    """A user's choices; a user without a row gets every kind by e-mail, one mail each, and no digest."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted: Mapped[list] = mapped_column(sa.JSON, default=list)  # kinds never mailed (kinds added later are mailed)
    digest: Mapped[bool] = mapped_column(default=False)  # one mail each morning instead of one per notification
    digest_sent_on: Mapped[date | None] = mapped_column(sa.Date)  # the company-local day of the last digest

    def choose(self, muted: set[str], digest: bool, local_now: datetime) -> None:
        """Save the user's choices. A digest turned on starts at the next DIGEST_AT (not at once if that is past
        today): its first mail tells everything since."""
        if digest and not self.digest:
            self.digest_sent_on = (local_now - timedelta(hours=DIGEST_AT.hour, minutes=DIGEST_AT.minute)).date()
        self.muted, self.digest = sorted(muted), digest

    def mails(self, kind: str) -> bool:
        """Whether `kind` reaches the user's mailbox (alone, or in the digest)."""
        return kind not in (self.muted or ())


def mailed_alone(prefs: NotificationPreferences | None, kind: str) -> bool:
    """Whether a notification of `kind` is mailed as it happens: not muted, no digest (no row: yes)."""
    return prefs is None or (prefs.mails(kind) and not prefs.digest)


def same(column: sa.ColumnElement, value: Any) -> sa.ColumnElement[bool]:
    """column = value, where None means IS NULL."""
    return column.is_(None) if value is None else column == value
