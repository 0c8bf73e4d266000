"""Small frozen values the engine hands out; templates and the API never see SpiffWorkflow objects."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.repository.specs import FieldSpec, name_in


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of one company with their groups, or the system (user_id None)."""

    company_id: int
    user_id: int | None = None
    email: str | None = None
    groups: frozenset[str] = frozenset()
    tester: bool = False  # a process owner playing every role of a test run; acts only on sandbox instances

    @property
    def principals(self) -> frozenset[str]:
        names = {f"group:{g}" for g in self.groups}
        if self.email:
            names.add(f"user:{self.email}")
        return frozenset(names)

    def may_act(self, offered_to: Iterable[str], assignee_id: int | None) -> bool:
        """Whether I may claim or complete a task: I hold it, or it is offered to me or one of my groups."""
        return self.tester or assignee_id == self.user_id or not self.principals.isdisjoint(offered_to)


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: int
    business_key: str
    element_id: str
    name: str
    names: dict[str, str]
    lane: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee_id: int | None
    claimed_at: datetime | None
    due_at: datetime | None
    priority: int
    created_at: datetime
    form_key: str | None
    fields: tuple[FieldSpec, ...]
    process_names: dict[str, str] = field(default_factory=dict)
    group_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def name_in(self, locale: str) -> str:
        return self.names.get(locale) or self.name or self.element_id

    def process_name_in(self, locale: str) -> str:
        return self.process_names.get(locale) or self.process_names.get("", "")

    @property
    def principals(self) -> list[str]:
        return [f"group:{g}" for g in self.candidate_groups] + [f"user:{u}" for u in self.candidate_users]

    def offered_to(self, locale: str) -> list[str]:
        """Candidate groups (by their lane's translated name where there is one) and users."""
        return [name_in(self.group_labels, g, locale) for g in self.candidate_groups] + list(self.candidate_users)


@dataclass(frozen=True)
class InstanceView:
    id: int
    company_id: int
    business_key: str
    status: str
    process_key: str
    process_name: str
    version: int | None  # None while a test run plays an unpublished draft
    version_id: int
    data: dict[str, Any]
    tasks: tuple[TaskView, ...]
    created_at: datetime
    completed_at: datetime | None
    end_element: str | None
    error: str | None
    error_element: str | None
    element_names: dict[str, dict[str, str]] = field(default_factory=dict)

    field_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def name_of(self, element_id: str | None, locale: str) -> str:
        return name_in(self.element_names, element_id, locale)

    def label_of(self, field_id: str, locale: str) -> str:
        return name_in(self.field_labels, field_id, locale)
