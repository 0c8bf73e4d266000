"""Dependencies point inward: the engine and the complaint domain never import Flask or the web layer."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "flask_babel", "flask_login", "flask_wtf", "wtforms", "web", "forms")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted([*ROOT.glob("engine/**/*.py"), *ROOT.glob("complaints/**/*.py")]),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_inner_packages_do_not_import_flask_or_the_web_layer(path):
    assert not (_imports(path) & set(FORBIDDEN))


# Statement builders (sa.select(...) or a bare select(...) imported from SQLAlchemy) and session calls that run
# statements or end transactions: the web layer hands data work to the packages that own the data.
SQL_BUILDERS = {"select", "update", "insert", "delete", "text"}
SESSION_CALLS = {"execute", "scalar", "scalars", "commit"}


def _calls(path: Path) -> list[tuple[int, str]]:
    """The calls in `path` that build or run SQL, or commit: (line, what) each."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    from_sqlalchemy = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                       and (node.module or "").startswith("sqlalchemy") for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in SQL_BUILDERS & from_sqlalchemy:
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute) and (
                func.attr in SESSION_CALLS
                or (func.attr in SQL_BUILDERS and getattr(func.value, "id", "") in ("sa", "sqlalchemy"))):
            found.append((node.lineno, func.attr))
    return found


def _writes_outside_perform(path: Path) -> list[int]:
    """Lines opening a session of their own (`database().session()`): writes go through web.context.perform."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "session"
            and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", "") == "database"]


WEB = sorted(ROOT.glob("web/*.py"))


@pytest.mark.parametrize("path", WEB, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_statements_in_web(path):
    assert _calls(path) == []


@pytest.mark.parametrize("path", [p for p in WEB if p.name != "context.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_web_writes_only_through_perform(path):
    assert _writes_outside_perform(path) == []


def _web_modules_imported(path: Path) -> set[str]:
    """The web/ modules `path` imports (`from web.x import ...`, `from web import x`, `import web.x`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "web":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("web."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("web."))
    return found


BLUEPRINTS = {p.stem for p in WEB if "Blueprint(" in p.read_text(encoding="utf-8")}


@pytest.mark.parametrize("path", WEB, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_blueprint_imports_another(path):
    """Blueprints are siblings over web.context and the web helpers: one page's module is never another's library."""
    assert BLUEPRINTS and _web_modules_imported(path) & BLUEPRINTS == set()


@pytest.mark.parametrize("path", sorted(ROOT.glob("complaints/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_complaint_domain_never_commits(path):
    assert [what for _line, what in _calls(path) if what == "commit"] == []


def test_the_checks_find_what_they_forbid(tmp_path):
    """The checks above can fail: each forbidden form is found, and look-alikes (dict.update) are not."""
    sample = tmp_path / "view.py"
    sample.write_text("from sqlalchemy import select\ndb().scalars(sa.select(X))\nselect(X)\ndb().commit()\n"
                      "sa.update(X)\nnames.update({})\ntext(value)\nwith database().session() as s:\n    pass\n",
                      encoding="utf-8")
    assert sorted(what for _line, what in _calls(sample)) == ["commit", "scalars", "select", "select", "update"]
    assert _writes_outside_perform(sample) == [8]
