"""Request-scoped access to the database session, the engine and the acting user, the one write path (`perform`),
and the helpers several blueprints share: blueprints import from here, never from each other."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, g
from flask_babel import format_time, gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from accounts import permissions
from accounts.directory import actor_for, names_by_email
from complaints.viewlog import ViewLog, record_view, recorded, views_of
from db import Database
from engine import Actor, Engine, ProcessError, TaskView
from engine.records import Event

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
    """Run `action` in its own transaction: the only way a view writes. It hands over one domain or engine function
    that writes in the session it is given and never commits; this commits (or rolls back), ends the request's read
    transaction so later reads see the write, and records a diagram failure on its instance."""
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


# Permissions, for views and templates; the table of who may do what is accounts/permissions.py.

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


def can_act_on(task: TaskView) -> bool:
    """Whether the signed-in user may claim or complete this task."""
    return can("work_cases") and actor().may_act(task.principals, task.assignee_id)


SESSION_SECRET = "sid"  # the cookie session's key for the server-side session's secret (accounts.sessions)
STANDARD_PROCESS = "complaint_standard"  # the shipped procedure, offered first where no other is chosen


def too_many_attempts(until) -> str:
    """The answer to a sign-in refused for guessing: when to try again, in the reader's time zone."""
    return _("Too many failed sign-ins. Try again after %(time)s.", time=format_time(until, "short"))


def chosen_people(history: list[Event]) -> dict[str, str]:
    """The names of the users the history's forms chose (a responsible person is kept by e-mail), to show them."""
    answers = {value for event in history if event.type == "task_completed"
               for value in (event.data.get("submitted") or {}).values() if isinstance(value, str)}
    return names_by_email(db(), current_user.company_id, answers)


def view_log(instance_id: int, limit: int | None = 50) -> ViewLog | None:
    """Who looked at the case, for admins and auditors; None for everyone else, whose pages leave the list out."""
    if not can("see_views"):
        return None
    return views_of(db(), current_user.company_id, instance_id, limit)


def record_viewing(instance_id: int, page: str) -> None:
    """Put an auditor's opening of a case page on record, committed before the page is built (others': nothing)."""
    if recorded(current_user):
        perform(lambda s: record_view(s, current_user, instance_id, page))
