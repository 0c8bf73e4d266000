"""Bearer tokens for the JSON API: random, shown once, stored only as a SHA-256 digest; they expire, and their owner
revokes them one by one (from the API with the token itself, or on the account page)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import ApiToken, User
from db import utcnow

TOUCH_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often: not one write per API call


def digest(secret: str) -> str:
    """What the database keeps of a token or a session's secret: a leaked table lets nobody in."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue(session: Session, user: User, lifetime: timedelta, name: str = "") -> str:
    """A new token for `user`, valid for `lifetime`; the only moment its value is known."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=digest(token), name=name.strip()[:100],
                         expires_at=utcnow() + lifetime))
    return token


def _usable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)


def user_for(session: Session, token: str) -> tuple[User, int] | None:
    """The active user a token belongs to and the token's id, if it exists and is neither expired nor revoked."""
    now = utcnow()
    row = session.scalar(sa.select(ApiToken).where(ApiToken.digest == digest(token), _usable(now)))
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        touch(session, sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row.user, row.id


def touch(session: Session, statement: sa.Update) -> None:
    """Note when a credential was last used, in a transaction of its own: the caller's session only reads."""
    with Session(session.get_bind()) as own, own.begin():
        own.execute(statement)


def revoke(session: Session, user_id: int, token_id: int) -> bool:
    """End one of the user's tokens now; False when the user has no such live token."""
    done = session.execute(sa.update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id,
                                                     ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return done.rowcount == 1


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first: live ones and those that ended in the last 30 days."""
    recent = utcnow() - timedelta(days=30)
    return list(session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user_id,
        sa.or_(_usable(utcnow()), ApiToken.revoked_at > recent,
               sa.and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > recent)))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
