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
