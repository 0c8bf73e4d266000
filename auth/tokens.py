"""Bearer tokens for the JSON API: random, shown once, stored only as a SHA-256 digest."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from auth.models import ApiToken, User
from db import utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(session: Session, user: User, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=_digest(token), expires_at=utcnow() + lifetime))
    return token


def user_for(session: Session, token: str) -> User | None:
    """The active user a token belongs to, if the token exists and has not expired."""
    row = session.scalar(sa.select(ApiToken).where(ApiToken.digest == _digest(token)))
    if row is None or row.expires_at <= utcnow() or not row.user.is_active:
        return None
    return row.user
