"""What engine.runtime.cost reads from diagram code before it runs: which code is provably bounded (it runs in the
server's process, with no round trip to an evaluator), and which constants are too large to be meant."""
from __future__ import annotations

import ast

import pytest
from lxml import etree

from conftest import ROOT
from engine.calendars.working_time import parse_business
from engine.repository.specs import BPMN_NS
from engine.runtime.cost import constant_problem, is_bounded
from engine.runtime.dmn import entry_source
from engine.runtime.restricted import is_iso_literal

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"


def shipped_expressions() -> list[str]:
    """Every condition, due date and priority expression (not a literal duration) of the shipped procedures, and
    every input, input entry and output entry of their decision tables as the runtime evaluates it."""
    found: list[str] = []
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        tree = etree.parse(str(path))
        found += [node.text for node in tree.iter(f"{{{BPMN_NS}}}conditionExpression")]
        for task in tree.iter(f"{{{BPMN_NS}}}userTask"):
            found += [text for name in ("dueDate", "priority") if (text := task.get(f"{CAMUNDA}{name}"))
                      and not is_iso_literal(text) and parse_business(text) is None]
    for path in sorted((ROOT / "processes").glob("*.dmn")):
        tree = etree.parse(str(path))
        found += [node.findtext(f"{DMN}text") for node in tree.iter(f"{DMN}inputExpression", f"{DMN}outputEntry")]
        found += [entry_source(node.findtext(f"{DMN}text")) for node in tree.iter(f"{DMN}inputEntry")
                  if node.findtext(f"{DMN}text").strip() != "-"]
    return found


def shipped_scripts() -> list[str]:
    return [node.text for path in sorted((ROOT / "processes").glob("*.bpmn"))
            for node in etree.parse(str(path)).iter(f"{{{BPMN_NS}}}script")]


def test_every_condition_and_decision_entry_of_the_shipped_procedures_runs_in_the_server():
    expressions = shipped_expressions()
    assert len(expressions) > 100
    assert [text for text in expressions if not is_bounded(text, "eval")] == []


def test_shipped_scripts_use_an_evaluator_only_to_compute_deadlines():
    scripts = shipped_scripts()
    assert "callback_attempts = callback_attempts + 1" in scripts
    assert [s for s in scripts if not is_bounded(s, "exec")] == [s for s in scripts if "deadline(" in s]


@pytest.mark.parametrize("expression", [
    "valid", "callback_attempts >= 3", 'complaint_class in ("A", "B")', '"quality" in participants',
    "dmninputexpr > 5000000", 'dmninputexpr in ("A","B")', "2 < dmninputexpr <= 4", "affected_kw / 1000",
    "not approved or amount - 1 > limit", "-amount < 0", "customer['name'] == 'x'", "items[1:] == []",
    "len(items) > 2 and str(amount) != '3'", "int(code, 16) > 0", "today() < due", "d.year == 2026",
    "{'a': 1, 'b': [x, y]}", "a if b else c", "x is None",
])
def test_expressions_whose_cost_the_data_bounds_run_in_the_server(expression):
    assert is_bounded(expression, "eval")


@pytest.mark.parametrize("expression", [
    "10 ** 10 ** 10 > 1", "a * b", "'a' * n", "n << 3", "a % b", "a // b", "pow(10, n)", "round(x)",
    'deadline("P1D")', "today(1)", "len(*x)", "str(x, encoding='utf-8')", "[x for x in y]", "(lambda: 1)()",
    "f'{x}'", "x.upper()", "sorted(x)", "~x", "(y := 1)",
], ids=lambda e: e)
def test_expressions_that_may_run_long_or_grow_go_to_an_evaluator(expression):
    assert not is_bounded(expression, "eval")


@pytest.mark.parametrize("script", [
    "callback_attempts = 0", "callback_attempts = callback_attempts + 1", "n += 1", "note = note + '.'",
    "a = b = c", "x = a if c else b", "ok = a > 1 and b < 2", "size = len(a) + len(b)", "", "x = [1, 2, 3]",
])
def test_scripts_of_simple_assignments_carrying_one_variable_run_in_the_server(script):
    assert is_bounded(script, "exec")


@pytest.mark.parametrize("script", [
    "a = a + a", "b = [a, a]", "c = {'x': a, 'y': a}", "n += n", "n *= 2", "s = str(a) + str(a)",
    "s = str(int(a)) + str(int(a))", "x, y = y, x", "d['k'] = v", "while True: pass", "for i in x: pass",
    "if a:\n    b = 1", "def f():\n    return 1", 'due = deadline("P1D")', "x = a * 2",
], ids=lambda s: s.replace("\n", " "))
def test_scripts_that_loop_call_or_double_their_data_go_to_an_evaluator(script):
    assert not is_bounded(script, "exec")


@pytest.mark.parametrize("code, size", [
    ("x = 10**10**10 > 1", "10,000,000,000 digits"),
    ("x = 2**10**9", "301,029,996 digits"),
    ("x = pow(10, 10**8)", "100,000,000 digits"),
    ("x = 1 << 10**10", "3,010,299,957 digits"),
    ("x = amount ** 10**6", "more than 4,300 digits"),
    ("x = 'a' * 10**10", "text of 10,000,000,000 characters"),
    ("x = 10**9 * [0]", "list of 1,000,000,000 items"),
    ("x = (1, 2) * 10**6", "tuple of 2,000,000 items"),
], ids=lambda v: v if v.startswith("x") else "")
def test_constants_too_large_to_be_meant_are_named_with_their_size(code, size):
    problem = constant_problem(ast.parse(code))
    assert problem is not None and size in problem


@pytest.mark.parametrize("code", ["x = 2**64", "x = 10**-5", "x = '-' * 80", "x = [0] * 1000", "x = amount * 10**10",
                                  "x = amount ** 2", "x = 1 // 0", "x = 2.5 ** 10**10", "x = 10**4000"])
def test_ordinary_constants_and_data_dependent_sizes_are_not_refused(code):
    assert constant_problem(ast.parse(code)) is None
