"""Permissions have one home, accounts/permissions.py: `can` gives every role what it held before the table existed,
and no template or module tests a role, or lists roles, anywhere else."""
from __future__ import annotations

import ast
import re
from types import SimpleNamespace

import pytest

from accounts.models import Role
from accounts.permissions import PERMISSIONS, can
from conftest import ROOT

ADMIN, OWNER, EMPLOYEE, AUDITOR = "admin", "process_owner", "employee", "auditor"

# Who may do what, written out role by role: the behaviour the table must keep.
EXPECTED = {
    "register_complaint": {ADMIN, OWNER, EMPLOYEE},
    "work_cases": {ADMIN, OWNER, EMPLOYEE},
    "model": {ADMIN, OWNER},
    "publish": {ADMIN, OWNER},
    "test_run": {ADMIN, OWNER},
    "migrate_cases": {ADMIN, OWNER},
    "manage_sla": {ADMIN, OWNER},
    "audit": {ADMIN, OWNER, AUDITOR},
    "see_views": {ADMIN, AUDITOR},
    "correct_case": {ADMIN},
    "see_stopped_cases": {ADMIN},
    "manage_calendars": {ADMIN},
}
SOURCES = [path for folder in ("accounts", "complaints", "engine", "forms", "notifications", "web", "worker")
           for path in sorted((ROOT / folder).rglob("*.py"))] + [ROOT / name for name in ("app.py", "cli.py")]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def test_the_table_names_every_permission_the_expected_table_does():
    assert set(PERMISSIONS) == set(EXPECTED)


@pytest.mark.parametrize("permission", sorted(EXPECTED))
@pytest.mark.parametrize("role", [role.value for role in Role])
def test_can_answers_for_every_role_and_permission_as_the_expected_table(role, permission):
    assert can(SimpleNamespace(role=role), permission) is (role in EXPECTED[permission])


def test_an_unknown_permission_fails_loudly_instead_of_refusing_everyone():
    with pytest.raises(KeyError):
        can(SimpleNamespace(role=ADMIN), "publsh")


def test_an_unknown_permission_fails_when_a_view_is_defined():
    from web.api import api_user
    from web.context import requires
    for decorator in (requires, api_user):
        with pytest.raises(KeyError):
            decorator("publsh")


def _is_role(node: ast.expr) -> bool:
    """`Role.ADMIN` or "admin"."""
    return ((isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Role")
            or (isinstance(node, ast.Constant) and node.value in {role.value for role in Role}))


def role_sets(source: str) -> list[str]:
    """Literal tuples, lists and sets of roles (members or values): a list of roles kept outside the table."""
    return [ast.unparse(node) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(_is_role(item) for item in node.elts)]


def _mentions_role(node: ast.expr) -> bool:
    return any((isinstance(part, ast.Attribute) and part.attr == "role")
               or (isinstance(part, ast.Name) and part.id == "Role") for part in ast.walk(node))


def role_tests(source: str) -> list[str]:
    """Comparisons that involve a user's role (`user.role == ...`, `... != Role.AUDITOR`)."""
    return [ast.unparse(node) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Compare) and any(_mentions_role(side) for side in (node.left, *node.comparators))]


def template_role_tests(source: str) -> list[str]:
    """Jinja statements that look at a role (`{% if current_user.role == 'admin' %}`); showing one is fine."""
    return [tag for tag in re.findall(r"{%.*?%}", source, re.S) if re.search(r"\brole\b", tag)]


def test_the_detectors_catch_the_role_tests_the_table_replaced():
    assert role_sets("OWNERS = (Role.PROCESS_OWNER, Role.ADMIN)")
    assert role_sets("if user.role in {'admin', 'auditor'}: pass")
    assert role_tests("allowed = current_user.role in {r.value for r in OWNERS}")
    assert role_tests("if user.role != Role.AUDITOR: pass")
    assert template_role_tests("{% if current_user.role in ('admin', 'process_owner') %}")
    assert not template_role_tests("{% if can('publish') %}<div role=\"status\">")


@pytest.mark.parametrize("path", [p for p in SOURCES if p != ROOT / "accounts" / "permissions.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_but_the_table_lists_roles(path):
    assert not role_sets(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((ROOT / "web").glob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_web_module_tests_a_role(path):
    assert not role_tests(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_tests_a_role(path):
    assert not template_role_tests(path.read_text(encoding="utf-8"))
