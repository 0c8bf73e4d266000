"""One catalog of error texts: every code the code base raises has a text naming exactly the params it is raised
with, every form-error code has its message, the engine's and the edge's codes never overlap, and every text has
its Simplified and Traditional Chinese translation."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.errors import MESSAGES
from engine.runtime import formdata
from engine.runtime.formdata import MESSAGES as FORM_MESSAGES
from web.errors import CATALOG, EDGE

ROOT = Path(__file__).resolve().parents[2]
RAISERS = {"EngineError", "NotFound", "Forbidden", "Conflict", "Refused"}
PACKAGES = ("engine", "complaints", "accounts", "notifications", "forms", "web", "worker")


def _codes(node: ast.expr) -> list[str]:
    """The literal codes a call's first argument can be (`"a" if x else "b"` is either)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _codes(node.body) + _codes(node.orelse)
    raise AssertionError(f"an error code that is not a literal: {ast.unparse(node)}")


def _calls(names: set[str]) -> list[tuple[str, str, set[str]]]:
    """(where, code, param names) of every call of the classes `names` in the code base."""
    found = []
    for path in (p for package in PACKAGES for p in (ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in names:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found += [(where, code, {k.arg for k in node.keywords if k.arg}) for code in _codes(node.args[0])]
    return found


def _named(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_every_engine_error_raised_has_a_text_naming_its_params():
    raised = _calls(RAISERS)
    assert len(raised) > 30
    for where, code, params in raised:
        assert code in MESSAGES, f"{where}: {code} has no text"
        assert _named(MESSAGES[code]) == params, f"{where}: {code} is raised with {params}"


def test_every_field_error_has_a_message_naming_its_params():
    source = Path(formdata.__file__).read_text(encoding="utf-8")
    source = (ROOT / "engine" / "runtime" / "formdata.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'FieldError\("(\w+)"', source)) | set(re.findall(r'ValueError\("(\w+)"\)', source))
    assert codes and codes <= set(FORM_MESSAGES)
    assert _named(FORM_MESSAGES["choice"]) == {"choices"} and _named(FORM_MESSAGES["min"]) == {"limit"}


def test_engine_and_edge_codes_do_not_overlap():
    assert not set(MESSAGES) & set(EDGE) and len(CATALOG) == len(MESSAGES) + len(EDGE)


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_every_catalog_text_is_translated(locale):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        translated = {m.id: m.string for m in read_po(po) if m.id and m.string and not m.fuzzy}
    texts = [t for t in (*CATALOG.values(), *FORM_MESSAGES.values()) if t != "%(error)s"]  # the diagram's own words
    missing = [t for t in texts if t not in translated]
    assert not missing
    assert all(_named(translated[t]) == _named(t) for t in texts)
