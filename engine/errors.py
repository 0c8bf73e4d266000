"""Errors the engine raises, and the one catalog of their texts.

Each error carries a stable `code` and the `params` its text names. The texts are English and marked with `N_` (so
`pybabel extract -k N_` finds them) but never translated here: the engine stays free of Flask. The web layer
translates `MESSAGES[code] % params` into the reader's language and maps each class to an HTTP status.
"""
from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a text for translation at the edge; it is stored and raised untranslated."""
    return message


MESSAGES: dict[str, str] = {
    "no_such_task": N_("There is no such task."),
    "no_such_case": N_("There is no such case."),
    "no_such_procedure": N_("No procedure called %(key)s has been published."),
    "not_offered": N_("This task is not offered to you or your groups."),
    "held_by": N_("This task is held by %(name)s."),
    "not_held": N_("You do not hold this task."),
    "already_completed": N_("This task was already completed by %(name)s."),
    "not_ready": N_("This task cannot be completed now; reload the case."),
    "concurrent_change": N_("Someone else changed this case at the same moment; reload it and try again."),
    "case_stopped": N_("This case is stopped by an error an administrator must resolve: %(error)s"),
    "draft_saved_by": N_("User %(user_id)s saved this draft at %(saved_at)s; your changes were not saved."),
    "cannot_migrate": N_("This case cannot move to that version: %(reasons)s"),
    "draft_gone": N_("This draft was published or discarded meanwhile; your changes were not saved. Reload to see "
                     "the newest version."),
    "reason_required": N_("Give the reason for this correction; it is kept in the case's history."),
    "case_closed": N_("This case is closed; its data can no longer be corrected."),
    "unknown_field": N_("The case has no field called %(field)s."),
    "unknown_choice": N_("%(value)s is not a known code for %(field)s."),
    "not_editable": N_("%(field)s holds a list or a table and cannot be corrected here."),
    "not_yes_no": N_("%(field)s must be yes or no, not “%(value)s”."),
    "not_whole_number": N_("%(field)s must be a whole number, not “%(value)s”."),
    "not_number": N_("%(field)s must be a number, not “%(value)s”."),
    "nothing_changed": N_("These are the case's values already; nothing was corrected."),
    "not_stopped": N_("This case is not stopped by an error; there is nothing to retry."),
    "skip_failed": N_("Skipping %(task)s failed, so nothing was changed: %(error)s. The elements after it may need "
                      "values its form would have given: correct the data first, or have the task completed."),
    "not_a_step_end": N_("Event #%(seq)s does not end a step of this case's history; choose the last event of a "
                         "step."),
    "rewind_to_last": N_("Event #%(seq)s is the case's last event: the case already stands there."),
    "rewind_diverges": N_("The history cannot be re-executed up to event #%(seq)s (at event #%(at)s: %(reason)s), "
                          "so the case cannot be put back there."),
    # The diagram's own words (element, what failed): nothing in them to translate.
    "process_error": "%(error)s",
}


class EngineError(Exception):
    """Base class: `code` names the situation in MESSAGES, `params` fill its text."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code, self.params = code, params
        super().__init__(MESSAGES[code] % params)


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
        super().__init__("process_error", error=message)
        self.element_id = element_id
        self.instance_id = instance_id
