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
    "reason_required": "give the reason for this correction; it is kept in the case's history",
    "case_closed": "this case is closed; its data can no longer be corrected",
    "unknown_field": "the case has no field called '{field}'",
    "not_editable": "{field} holds a list or a table and cannot be corrected here",
    "not_yes_no": "{field} must be yes or no, not '{value}'",
    "not_whole_number": "{field} must be a whole number, not '{value}'",
    "not_number": "{field} must be a number, not '{value}'",
    "nothing_changed": "these are the case's values already; nothing was corrected",
    "not_stopped": "this case is not stopped by an error; there is nothing to retry",
    "skip_failed": "skipping {task} failed, so nothing was changed: {error}. The elements after it may need values "
                   "its form would have given: correct the data first, or have the task completed",
    "not_a_step_end": "event {seq} does not end a step of this case's history; choose the last event of a step",
    "rewind_to_last": "event {seq} is the case's last event: the case already stands there",
    "rewind_diverges": "the history cannot be re-executed up to event {seq} (at event {at}: {reason}), so the case "
                       "cannot be put back there",
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


class Refused(EngineError):
    """The request cannot be carried out as asked (400): a correction without a reason, an unknown field, a
    rewind to a moment the history cannot reproduce."""


class ProcessError(EngineError):
    """The diagram itself failed while running (a script, a condition, a due date); names the element."""

    def __init__(self, message: str, element_id: str | None = None, instance_id: int | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.instance_id = instance_id
