"""Who a new user task goes to: the diagram's candidate groups, candidate users and assignee, each either a name or
an expression over the case's data, written the Camunda way (`${responsible_person}`) but in Python, as every
Kesu expression is (`${handling_department}`, `${reviewers[level]}`).

Expressions are evaluated by the case's sandboxed script engine when the task opens, so the person the assignment
step chose receives the department's next tasks, and again after a reopen. An expression giving nothing (an empty
field, an unknown or deactivated user) leaves the task offered to its groups: a task is never lost.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.repository.specs import TaskMeta

_EXPRESSION = re.compile(r"^\s*\$\{(.+)\}\s*$", re.S)


def expression_of(item: str) -> str | None:
    """The Python inside `${...}`, or None for a plain name."""
    found = _EXPRESSION.match(item)
    return found.group(1).strip() if found else None


def is_dynamic(meta: TaskMeta) -> bool:
    """Whether who the task goes to depends on the case's data."""
    return any(expression_of(item) is not None
               for item in (*meta.candidate_groups, *meta.candidate_users, meta.assignee or ""))


@dataclass(frozen=True)
class Assignment:
    """Who one opened task goes to: the groups and users it is offered to, and the person who holds it at once."""

    groups: tuple[str, ...]
    users: tuple[str, ...]
    assignee: str | None  # an e-mail, as the expression or the diagram gave it

    def principals(self, fallback: str | None = None) -> list[str]:
        """Who sees the task offered; the `fallback` group (its lane's) when nobody would, the assignee being
        unknown, say."""
        groups = self.groups or ((fallback,) if fallback and not self.users else ())
        return sorted({f"group:{g}" for g in groups} | {f"user:{u}" for u in self.users})


Evaluate = Callable[[str], Any]


def _names(items: Iterable[str], evaluate: Evaluate) -> tuple[str, ...]:
    """Names as written, and the values of expressions (one name or a list of them; nothing when empty)."""
    names: list[str] = []
    for item in items:
        expression = expression_of(item)
        value = evaluate(expression) if expression is not None else item
        values = value if isinstance(value, (list, tuple)) else [value]
        names += [str(v).strip() for v in values if v is not None and str(v).strip()]
    return tuple(dict.fromkeys(names))


def assign(meta: TaskMeta, evaluate: Evaluate) -> Assignment:
    """Resolve the task's candidates and assignee; a task naming none of them goes to its lane's group."""
    assignee = _names([meta.assignee], evaluate) if meta.assignee else ()
    return Assignment(groups=_names(meta.offered_groups, evaluate), users=_names(meta.candidate_users, evaluate),
                      assignee=assignee[0].lower() if assignee else None)
