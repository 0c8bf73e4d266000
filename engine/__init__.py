"""Kesu's workflow engine: SpiffWorkflow plus versioned specs, a sandbox, persistence and history.

Nothing in this package imports Flask; callers pass a SQLAlchemy session and commit it.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here: the domain carries the English text, the edge
    (a page, a mail) translates it in its reader's language. The lowest layer that marks texts defines it."""
    return message
