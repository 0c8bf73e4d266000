"""Request-scoped access to the database session, the engine and the acting user."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, g
from flask_login import current_user
from sqlalchemy.orm import Session

from auth import permissions
from auth.directory import actor_for
from db import Database
from engine.errors import ProcessError
from engine.runtime import Engine
from engine.views import Actor

T = TypeVar("T")
P = ParamSpec("P")


def database() -> Database:
    return current_app.extensions["kesu.db"]


def engine() -> Engine:
    return current_app.extensions["kesu.engine"]


def db() -> Session:
    """The request's read session, closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def close_session(_error: BaseException | None = None) -> None:
    """Close the request's read session. If the database dropped its connection, ending the read transaction
    fails; that is logged, not raised: the answer was already made, and raised here, after it, the error would
    replace it with the server's bare 500."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        current_app.logger.warning("read session closed on a dropped connection: %s", error)


def actor() -> Actor:
    return actor_for(current_user)


def perform(action: Callable[[Session], T], who: Actor | None = None) -> T:
    """Run one engine step in its own transaction; a diagram failure is recorded on its instance."""
    try:
        with database().session() as session:
            result = action(session)
        if "db_session" in g:
            g.db_session.rollback()  # end the read transaction: reads after a step see what it wrote
        return result
    except ProcessError as error:
        if error.instance_id is not None:
            with database().session() as session:
                engine().record_error(session, error, who or actor())
        raise


# Permissions, for views and templates; the table of who may do what is auth/permissions.py.

def can(permission: str) -> bool:
    """Whether the signed-in user may do what `permission` allows; templates ask `can("publish")`."""
    return bool(current_user.is_authenticated) and permissions.can(current_user, permission)


def requires(permission: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Refuse (403) users who may not do what `permission` allows."""
    permissions.holders(permission)  # an unknown name fails here, when the view is defined

    def decorator(view: Callable[P, T]) -> Callable[P, T]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
