"""What diagram code can cost, read from its syntax tree before it runs.

`is_bounded(source, mode)`: whether the code may run in the server's own process. Only code whose time and
memory are bounded by the size of the data it is given qualifies; everything else runs in an evaluator process
that the operating system can stop (engine.runtime.evaluator). A pipe round trip per gateway condition or decision-table
entry would cost more than the step itself, so the common forms must qualify:

- an expression built only from names, constants, tuple/list/set/dict displays, subscripts and slices, attribute
  loads, comparisons (`in`, `is`, chained), `and`/`or`/`not`, conditional expressions, unary `-`/`+`, binary `+`,
  `-` and `/`, and calls of `len`, `bool`, `int`, `float`, `str`, `abs` (each linear in its argument; `int` of
  text is capped at 4,300 digits by Python) and of `today()`/`now()` without arguments;
- a script made only of `name = expression` and `name += expression` / `name -= expression` statements whose
  value can carry at most one variable's content: `n = n + 1` and `note = note + "."` qualify, `a = a + a` and
  `b = [a, a]` do not, because repeating them doubles the size on every line (and `str()` of shared parts, or
  saving them, would unfold it).

No loop, comprehension, lambda, function definition, `*`, `**`, `%`, `<<`, f-string or other call qualifies
(`deadline()`, `round()`, `pow()` run in the evaluator). Since nothing on the fast path can loop or call
diagram-defined code, it needs no time limit of its own.

`constant_problem(tree)`: why the code computes a constant too large to be meant (`10**10**10`, `pow(10, 10**8)`,
`1 << 10**10`, `'a' * 10**10`, `[0] * 10**9`), or None. Publishing refuses such code; the evaluator's limits
stop what only data can make huge.
"""
from __future__ import annotations

import ast
import math
import operator
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

Mode = Literal["eval", "exec"]

LINEAR_CALLS = frozenset({"len", "bool", "int", "float", "str", "abs"})
CLOCK_CALLS = frozenset({"today", "now"})  # O(1) without arguments; they read the case's calendar and step time
_SMALL_RESULTS = CLOCK_CALLS | {"len", "bool"}
MAX_DIGITS = sys.int_info.default_max_str_digits  # 4,300: Python itself refuses to print a longer number
MAX_ITEMS = 1_000_000  # characters of a text or items of a list repeated from constants

_LEAVES = (ast.Name, ast.Constant, ast.Load, ast.Slice, ast.expr_context, ast.cmpop, ast.boolop)
_NODES = (ast.Expression, ast.Compare, ast.BoolOp, ast.IfExp, ast.Tuple, ast.List, ast.Set, ast.Dict,
          ast.Subscript, ast.Attribute, ast.Call, *_LEAVES)
_UNARY = (ast.Not, ast.USub, ast.UAdd)
_BINARY = (ast.Add, ast.Sub, ast.Div)
_GROWING = (ast.Add, ast.Sub)


def _bounded_node(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _UNARY)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _BINARY)
    if isinstance(node, ast.Call):
        return _bounded_call(node)
    return isinstance(node, (*_NODES, ast.operator, ast.unaryop))


def _bounded_call(call: ast.Call) -> bool:
    if not isinstance(call.func, ast.Name) or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return False
    if call.func.id in CLOCK_CALLS:
        return not call.args
    return call.func.id in LINEAR_CALLS and len(call.args) <= 2


def _bounded_expression(node: ast.AST) -> bool:
    return all(_bounded_node(child) for child in ast.walk(node))


def carried(node: ast.expr) -> int:
    """How many variables' contents the value of `node` can hold at once (a count, not a size)."""
    if isinstance(node, ast.Name):
        return 1
    if isinstance(node, ast.BinOp):
        return carried(node.left) + carried(node.right) if isinstance(node.op, _GROWING) else 0
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return sum(map(carried, node.elts))
    if isinstance(node, ast.Dict):
        return sum(carried(part) for part in [*node.keys, *node.values] if part is not None)
    if isinstance(node, ast.BoolOp):  # `a or b` is one of them
        return max(map(carried, node.values))
    if isinstance(node, ast.IfExp):
        return max(carried(node.body), carried(node.orelse))
    if isinstance(node, ast.UnaryOp):
        return 0 if isinstance(node.op, ast.Not) else carried(node.operand)
    if isinstance(node, (ast.Subscript, ast.Attribute)):
        return carried(node.value)
    if isinstance(node, ast.Call):  # len, bool and the clock give small values; str, int, float, abs their argument's
        return 0 if node.func.id in _SMALL_RESULTS else sum(map(carried, node.args))  # type: ignore[attr-defined]
    return 0  # constants, comparisons


def _bounded_statement(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        return (all(isinstance(target, ast.Name) for target in statement.targets)
                and _bounded_expression(statement.value) and carried(statement.value) <= 1)
    if isinstance(statement, ast.AugAssign):  # the target is the one variable carried
        return (isinstance(statement.target, ast.Name) and isinstance(statement.op, _GROWING)
                and _bounded_expression(statement.value) and carried(statement.value) == 0)
    return False


@lru_cache(maxsize=8192)
def is_bounded(source: str, mode: Mode) -> bool:
    """Whether `source` (a condition or expression for "eval", a script for "exec") may run in-process."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return False
    if isinstance(tree, ast.Expression):
        return _bounded_expression(tree)
    return all(_bounded_statement(statement) for statement in tree.body)  # type: ignore[attr-defined]


# -- constants too large to be meant -------------------------------------------------------------------------

class _Huge(Exception):
    """A constant subexpression would be too large; the message says how large."""


_UNKNOWN = object()  # not a constant: data decides at run time
_TOO_MANY_DIGITS = "{text} would compute a number of about {digits:,} digits (numbers in diagram code have at most " \
                   f"{MAX_DIGITS:,})"
_SEQUENCES: dict[type, str] = {str: "a text of {:,} characters", bytes: "bytes of {:,}", tuple: "a tuple of {:,} items",
              list: "a list of {:,} items"}


def _power(base: Any, exponent: Any, text: str) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        digits = math.ceil(exponent * math.log10(abs(base)))
        if digits > MAX_DIGITS:
            raise _Huge(_TOO_MANY_DIGITS.format(text=text, digits=digits))
    return base ** exponent


def _shift(value: Any, bits: Any, text: str) -> Any:
    if isinstance(value, int) and isinstance(bits, int) and value and bits > 0:
        digits = math.ceil((bits + value.bit_length()) * math.log10(2))
        if digits > MAX_DIGITS:
            raise _Huge(_TOO_MANY_DIGITS.format(text=text, digits=digits))
    return value << bits


def _repeat(left: Any, right: Any, text: str) -> Any:
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    kind = _SEQUENCES.get(type(sequence))
    if kind is not None and isinstance(times, int) and len(sequence) * times > MAX_ITEMS:
        raise _Huge(f"{text} would make {kind.format(len(sequence) * times)} (at most {MAX_ITEMS:,})")
    return left * right


_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.FloorDiv: operator.floordiv}


def _exponent(exponent: Any, text: str) -> None:
    """A power or shift of data by a constant: only 0, 1 and -1 stay small past this many bits."""
    if isinstance(exponent, int) and exponent > MAX_DIGITS / math.log10(2):
        raise _Huge(f"{text} would compute a number of more than {MAX_DIGITS:,} digits (the most numbers in "
                    "diagram code may have)")


def _binary(node: ast.BinOp) -> Any:
    left, right = _constant(node.left), _constant(node.right)
    text = ast.unparse(node)
    if left is _UNKNOWN and isinstance(node.op, (ast.Pow, ast.LShift)):
        _exponent(right, text)
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    if isinstance(node.op, ast.Pow):
        return _power(left, right, text)
    if isinstance(node.op, ast.LShift):
        return _shift(left, right, text)
    if isinstance(node.op, ast.Mult):
        return _repeat(left, right, text)
    numbers = all(isinstance(v, (int, float)) for v in (left, right))  # no text: `'%9999999d' % 1` is huge too
    operation = _ARITHMETIC.get(type(node.op))
    return operation(left, right) if operation and numbers else _UNKNOWN


def _constant(node: ast.AST) -> Any:
    """The value of a constant subexpression, computed only once its size is known to be sensible;
    _UNKNOWN where data decides. Raises _Huge."""
    try:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = _constant(node.operand)
            return -value if isinstance(value, (int, float)) else _UNKNOWN
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [_constant(item) for item in node.elts]
            return _UNKNOWN if _UNKNOWN in items else (tuple if isinstance(node, ast.Tuple) else list)(items)
        if isinstance(node, ast.BinOp):
            return _binary(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "pow" \
                and len(node.args) == 2 and not node.keywords:
            base, exponent = (_constant(arg) for arg in node.args)
            if base is _UNKNOWN:
                _exponent(exponent, ast.unparse(node))
            return _UNKNOWN if _UNKNOWN in (base, exponent) else _power(base, exponent, ast.unparse(node))
    except (ArithmeticError, TypeError, ValueError):  # `1 // 0` fails at run time, as a script error
        return _UNKNOWN
    return _UNKNOWN


def constant_problem(tree: ast.AST) -> str | None:
    """Why `tree` computes a constant too large to be meant, or None."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.Call)):
            try:
                _constant(node)
            except _Huge as huge:
                return str(huge)
    return None
