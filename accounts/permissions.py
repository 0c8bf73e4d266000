"""Who may do what: the one table of permissions, each named for what it allows, with the roles that hold it.

Views ask `web.context.requires("publish")`, the API `api_user("publish")`, templates `{% if can("publish") %}`,
queries `holders("work_cases")`: none of them names a role, so changing who may do something is one line here.
An unknown permission name raises KeyError wherever it is asked, so a typo fails loudly instead of refusing everyone.
"""
from __future__ import annotations

from typing import Protocol

from accounts.models import Role


def _held_by(*roles: Role) -> frozenset[str]:
    """Role values as stored on users (a str-valued Enum member does not hash like its value)."""
    return frozenset(role.value for role in roles)


_OWNERS = _held_by(Role.ADMIN, Role.PROCESS_OWNER)
_WORKERS = _held_by(Role.ADMIN, Role.PROCESS_OWNER, Role.EMPLOYEE)  # everyone but auditors, who only read

PERMISSIONS: dict[str, frozenset[str]] = {
    # Working complaints
    "register_complaint": _WORKERS,  # register a complaint: the page, its menu entry, starting a case by API
    "work_cases": _WORKERS,  # tasks: claim, release, complete (pages, API); acknowledge escalations; be named
    # Keeping the procedures
    "model": _OWNERS,  # draw and save drafts of procedures and decision tables in the modeler, check them
    "publish": _OWNERS,  # publish a procedure or a decision table (upload, modeler, API)
    "test_run": _OWNERS,  # play a draft as a sandbox case
    "migrate_cases": _OWNERS,  # move running cases to a newer version of their procedure
    "manage_sla": _OWNERS,  # SLA policies
    # Answering for the records
    "audit": _held_by(Role.AUDITOR, Role.ADMIN, Role.PROCESS_OWNER),  # filter cases across complaints, heatmap
    "see_views": _held_by(Role.ADMIN, Role.AUDITOR),  # who looked at a case (the view log)
    # Administration
    "correct_case": _held_by(Role.ADMIN),  # change a case's data, retry, skip, rewind
    "see_stopped_cases": _held_by(Role.ADMIN),  # the list of cases stopped by a diagram error
    "manage_calendars": _held_by(Role.ADMIN),  # the company's working calendars
}


class HasRole(Protocol):
    """A user as far as permissions go: only the role counts."""

    @property
    def role(self) -> str: ...


def holders(permission: str) -> frozenset[str]:
    """The role values that hold `permission` (KeyError for a name not in the table)."""
    return PERMISSIONS[permission]


def can(user: HasRole, permission: str) -> bool:
    """Whether `user` may do what `permission` allows."""
    return user.role in holders(permission)
