"""Errors the engine raises; the web layer maps each to an HTTP status."""
from __future__ import annotations


class EngineError(Exception):
    """Base class: the message is meant for a person."""


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
