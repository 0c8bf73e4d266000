"""Kesu's workflow engine: SpiffWorkflow plus versioned specs, a sandbox, persistence and history.

Nothing in this package imports Flask; callers pass a SQLAlchemy session and commit it. It is cut the way Camunda
cuts its own services:

- `repository/`: diagrams and decision tables checked, published as numbered versions, drafted, parsed once;
- `runtime/`: the steps (start, claim, release, complete, fire), the serializer, the sandbox diagram code runs in,
  form data, due dates, moving cases to a newer version, an admin's corrections;
- `history/`: the sealed event chain and its anchor, replay, re-run, heatmaps;
- `jobs/`: what falls due (timers, periodic starts), claimed one case per transaction;
- `calendars/`: working time on a company's business calendar;
- here: `records` (ORM rows), `dto` (the frozen values handed out), `queries` (the read side), `errors`.

The façade below names what the rest of Kesu builds on; each name is imported from its module when first used, so
importing one engine module (as the script evaluators do) does not load them all.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.dto import Actor, InstanceView, TaskView
    from engine.errors import Conflict, EngineError, Forbidden, NotFound, ProcessError
    from engine.runtime.steps import Engine

FACADE = {
    "Engine": "engine.runtime.steps",
    "Actor": "engine.dto", "InstanceView": "engine.dto", "TaskView": "engine.dto",
    "EngineError": "engine.errors", "Conflict": "engine.errors", "Forbidden": "engine.errors",
    "NotFound": "engine.errors", "ProcessError": "engine.errors",
}
__all__ = ["N_", "Actor", "Conflict", "Engine", "EngineError", "Forbidden", "InstanceView", "NotFound", "ProcessError",
           "TaskView"]


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here: the domain carries the English text, the edge
    (a page, a mail) translates it in its reader's language. The lowest layer that marks texts defines it."""
    return message


def __getattr__(name: str) -> Any:
    """The façade's names, from their modules on first use."""
    if name not in FACADE:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(import_module(FACADE[name]), name)
