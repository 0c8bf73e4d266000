"""Errors the engine raises; the web layer maps each to an HTTP status and translates it by its code."""
from __future__ import annotations

from typing import Any

# English texts (the API's messages); web/errors.py holds the same codes marked for translation.
MESSAGES = {
    "no_such_task": "no such task",
    "no_such_case": "no such case",
    "no_such_procedure": "no published procedure called '{key}'",
    "not_offered": "this task is not offered to you or your groups",
    "held_by": "this task is held by {name}",
    "not_held": "you do not hold this task",
    "already_completed": "this task was already completed by {name}",
    "not_ready": "this task cannot be completed now; reload the case",
    "concurrent_change": "someone else changed this case at the same moment; reload and try again",
    "case_stopped": "this case is stopped by an error an administrator must resolve: {error}",
    "draft_saved_by": "user {user_id} saved this draft at {saved_at}; your changes were not saved",
    "cannot_migrate": "this case cannot move to that version: {reasons}",
    "draft_gone": "this draft was published or discarded meanwhile; your changes were not saved",
}


class EngineError(Exception):
    """Base class: `code` names the situation, `params` fill its message."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code, self.params = code, params
        super().__init__(MESSAGES[code].format(**params) if code in MESSAGES else code)


class NotFound(EngineError):
    """No such thing in the actor's company (404): other companies' ids look exactly like missing ones."""


class Forbidden(EngineError):
    """The actor may see it but not do this (403)."""


class Conflict(EngineError):
    """Someone else got there first (409): the task is held by another user, or already done."""


class ProcessError(EngineError):
    """The diagram itself failed while running (a script, a condition, a due date); names the element."""

    def __init__(self, message: str, element_id: str | None = None, instance_id: int | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.instance_id = instance_id
