"""Signed-in browsers, kept on the server: the session cookie holds a random secret whose digest is a row here, so
a session ends for good when its user signs out, changes the password elsewhere, or leaves it idle too long."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.models import User, UserSession
from accounts.tokens import digest, touch
from db import utcnow

TOUCH_EVERY = timedelta(minutes=1)  # how stale `last_seen_at` may get: not one write per page


def begin(session: Session, user: User, user_agent: str, address: str) -> str:
    """A new session for `user`; returns the secret the cookie carries."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(user_id=user.id, digest=digest(secret), created_at=now, last_seen_at=now,
                            user_agent=user_agent[:300], address=address[:64]))
    return secret


def live(now: datetime, idle: timedelta) -> sa.ColumnElement[bool]:
    return sa.and_(UserSession.ended_at.is_(None), UserSession.last_seen_at > now - idle)


def user_of(session: Session, secret: str, user_id: int, idle: timedelta) -> User | None:
    """The active user of a live session, noting that it was seen now; None for an ended, idle or foreign one."""
    now = utcnow()
    row = session.scalar(sa.select(UserSession).where(UserSession.digest == digest(secret),
                                                      UserSession.user_id == user_id, live(now, idle)))
    if row is None or not row.user.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        touch(session, sa.update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    return row.user


def end(session: Session, secret: str, reason: str) -> None:
    """End the session whose cookie carries `secret` (signing out)."""
    session.execute(sa.update(UserSession).where(UserSession.digest == digest(secret),
                                                 UserSession.ended_at.is_(None))
                    .values(ended_at=utcnow(), ended_by=reason))


def end_others(session: Session, user_id: int, keep: str | None, reason: str) -> int:
    """End every session of the user but the one carrying `keep`; how many ended."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.digest != digest(keep))
    return session.execute(query.values(ended_at=utcnow(), ended_by=reason)).rowcount


def end_one(session: Session, user_id: int, session_id: int, reason: str) -> bool:
    """End one of the user's own sessions (signing out another device); False when there is no such live one."""
    done = session.execute(sa.update(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id,
                                                        UserSession.ended_at.is_(None))
                           .values(ended_at=utcnow(), ended_by=reason))
    return done.rowcount == 1


def sessions_of(session: Session, user_id: int, idle: timedelta) -> list[UserSession]:
    """The user's live sessions, the most recently active first."""
    return list(session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id, live(utcnow(), idle))
                                .order_by(UserSession.last_seen_at.desc())))


def is_current(row: UserSession, secret: str | None) -> bool:
    return secret is not None and row.digest == digest(secret)
