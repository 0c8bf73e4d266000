"""The language diagram code is written in: Python compiled by RestrictedPython, with a small set of builtins.

SpiffWorkflow's stock environment is plain eval/exec; a condition could import os. Here every script,
condition and expression is compiled with RestrictedPython (no names or attributes starting with '_', no
imports, no open()) plus Kesu's own rules: no `class` statements, no constants too large to be meant
(engine.runtime.cost), and no text made from anything but data. `str()`, `repr()`, f-strings and `%` formatting
refuse functions, modules and other objects, whose text would show memory addresses or interpreter paths,
and a script's variables must all be data the case can keep.

Where the code runs is engine.runtime.sandbox's choice: here in the server when engine.runtime.cost proves it
bounded, else in an evaluator process (engine.runtime.evaluator), which calls `perform` with the same code and data.
"""
from __future__ import annotations

import ast
import datetime as _dt
import math
import pickle
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from types import CodeType
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.specs.event_definitions import timer

from engine.calendars.working_time import (
    BusinessCalendar,
    calendar_of,
    china,
    current_calendar,
    parse_business,
    step_time,
)
from engine.runtime.cost import Mode, constant_problem

SCRIPT_FILENAME = "<kesu-script>"
CLOCK_NAMES = frozenset({"today", "now", "deadline"})  # what reads the case's calendar and the step's time

# ISO 8601 durations, date-times and repeating intervals as Camunda Modeler writes them unquoted.
_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)"
    r"(/P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)?$"
)


class SandboxError(Exception):
    """A script or expression broke a sandbox rule, failed to compile, or ran out of time or memory."""


class ScriptTimeout(SandboxError):
    """A script ran longer than the time limit."""


def is_iso_literal(expression: str) -> bool:
    """True for an unquoted ISO 8601 duration, date-time or cycle such as P14D or R3/PT1H."""
    return bool(_ISO_LITERAL.match(expression.strip()))


# -- data ------------------------------------------------------------------------------------------------------

_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes, _dt.date, _dt.datetime, _dt.time,
                    _dt.timedelta, _dt.timezone})
_STORABLE = (type(None), bool, int, float, str, _dt.date, _dt.datetime, _dt.timedelta)


_DATA = object()


def _not_data(value: Any) -> Any:
    """The first part of `value` that is not plain data, or _DATA if it all is. Exact types: a subclass could
    print anything."""
    kind = type(value)
    if kind in _ATOMS:
        return _DATA
    if kind in (list, tuple, set, frozenset, dict):
        parts = (*value, *value.values()) if kind is dict else value
        return next((found for found in map(_not_data, parts) if found is not _DATA), _DATA)
    return _not_data(value.args) if isinstance(value, BaseException) else value


def is_data(value: Any) -> bool:
    """Whether `value` is plain data (numbers, text, dates, containers of them, errors about them): what may be
    turned into text or sent between processes."""
    return _not_data(value) is _DATA


def check_storable(name: str, value: Any) -> None:
    """Instance data must survive being saved: plain values, lists and string-keyed dicts of them."""
    if isinstance(value, _STORABLE):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            check_storable(name, item)
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            check_storable(name, item)
        return
    raise SandboxError(f"variable '{name}' holds a {type(value).__name__}, which cannot be saved with the case; "
                       "use numbers, text, dates, lists or dicts")


def _as_text(what: str, value: Any) -> Any:
    """`value` itself, if turning it into text shows only data."""
    found = _not_data(value)
    if found is not _DATA:
        raise SandboxError(f"{what} of a {type(found).__name__} is not allowed: only data (numbers, text, dates, "
                           "lists, dicts) can be turned into text")
    return value


class _TextType(type):
    """The type of the `str` diagram code sees: a subclass of str whose call returns a real str, refusing what
    is not data; `isinstance(x, str)`, `str.upper` and RestrictedPython's ban on `str.format` still work."""

    def __call__(cls, *args: Any, **kwargs: Any) -> str:
        for value in (*args, *kwargs.values()):
            _as_text("str()", value)
        return str(*args, **kwargs)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, str)

    def __repr__(cls) -> str:
        return "<class 'str'>"


class DataStr(str, metaclass=_TextType):
    """`str` in diagram code."""


def _repr(value: Any) -> str:
    return repr(_as_text("repr()", value))


def _formatted(value: Any) -> Any:
    """Each `{value}` of an f-string passes here before Python formats it."""
    return _as_text("an f-string", value)


def _modulo(left: Any, right: Any) -> Any:
    """`left % right`: for text, formatting; the values put in must be data."""
    if isinstance(left, (str, bytes)):
        _as_text("% formatting", right)
    return left % right


# -- the helpers diagram code may call -------------------------------------------------------------------------

def now() -> _dt.datetime:
    """The current time, aware, in UTC: the time of the step being run (so re-running a case's history computes
    the same), else the clock SpiffWorkflow's timers read."""
    return step_time() or timer.datetime.now(_dt.UTC)


def today() -> _dt.date:
    """Today's date on the wall clock of the case's company (in Shanghai, 07:00 UTC is already tomorrow)."""
    return current_calendar().date_of(now())


def duration_end(text: str, start: _dt.datetime, calendar: Callable[[], BusinessCalendar]) -> _dt.datetime | None:
    """When a duration written in a diagram ends, counted from `start`: a business form on the calendar that
    `calendar` resolves (only then), an ISO 8601 duration in plain calendar time; None for anything else."""
    business = parse_business(text)
    if business is not None:
        return business.after(start, calendar())
    if text.startswith("P"):
        parsed = timer.TimerEventDefinition.parse_iso_duration(text)
        length: _dt.timedelta = timer.TimerEventDefinition.get_timedelta_from_start(parsed, start)
        return start + length
    return None


def deadline(duration: str) -> _dt.datetime:
    """When `duration` ('2 working days', 'next day 15:00', 'P1D') ends from now on the case's calendar: a
    script keeps a limit that several later tasks share (`closure_due = deadline("5 working days")`)."""
    end = duration_end(duration.strip(), now(), current_calendar)
    if end is None:
        raise ValueError(f"{duration!r} is not a duration: write e.g. '2 working days', 'next day 15:00' or 'P1D'")
    return end


def _safe_builtins() -> dict[str, Any]:
    builtins = dict(safe_builtins)
    builtins.update(limited_builtins)
    for name in ("setattr", "delattr", "__build_class__", "id"):
        builtins.pop(name, None)
    builtins.update(
        dict=dict, list=list, set=set, frozenset=frozenset, sorted=sorted, min=min, max=max, sum=sum,
        any=any, all=all, enumerate=enumerate, zip=zip, map=map, filter=filter, reversed=reversed,
        str=DataStr, repr=_repr,
    )
    return builtins


_AUGMENTED: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": _modulo,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    """Augmented assignment (`n += 1`) for plain values."""
    if op not in _AUGMENTED:
        raise SandboxError(f"operator {op} is not allowed in scripts")
    return _AUGMENTED[op](x, y)


SANDBOX_GLOBALS: dict[str, Any] = {
    "__builtins__": _safe_builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_formatted_": _formatted,
    "_modulo_": _modulo,
    "math": math,
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "today": today,
    "now": now,
    "deadline": deadline,
}


# -- compiling --------------------------------------------------------------------------------------------------

def _call(name: str, *args: ast.expr, like: ast.AST) -> ast.Call:
    return ast.fix_missing_locations(ast.copy_location(
        ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[]), like))


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus: no classes, and f-strings and `%` format only data (see _as_text)."""

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class statements are not allowed in diagram scripts: keep records in dicts")
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        node.value = _call("_formatted_", node.value, like=node.value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        return _call("_modulo_", node.left, node.right, like=node) if isinstance(node.op, ast.Mod) else node


# Builtins a diagram may not even name, so check_diagram refuses them before anything runs.
FORBIDDEN_NAMES = frozenset({"open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals",
                             "vars", "type", "input", "breakpoint", "help", "memoryview", "dir", "object"})


def _refuse_what_runs_badly(tree: ast.AST) -> None:
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    refused = sorted(names & FORBIDDEN_NAMES)
    if refused:
        raise SandboxError(f"{', '.join(refused)} may not be used in diagram scripts or expressions")
    problem = constant_problem(tree)
    if problem:
        raise SandboxError(problem)


def _compile(source: str, mode: Mode) -> CodeType:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, SCRIPT_FILENAME, policy=_Policy)
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    _refuse_what_runs_badly(ast.parse(source, mode=mode))
    assert result.code is not None  # compiled, as there were no errors
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    """Compile a condition or expression once; raises SandboxError naming the rule broken."""
    return _compile(source.strip(), "eval")


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    """Compile a script task's body once; raises SandboxError naming the rule broken."""
    return _compile(source, "exec")


def compile_code(source: str, mode: Mode) -> CodeType:
    return compile_expression(source) if mode == "eval" else compile_script(source)


@cache
def names_clock(code: CodeType) -> bool:
    """Whether the code (or a function it defines) names today, now or deadline."""
    nested = (const for const in code.co_consts if isinstance(const, CodeType))
    return bool(CLOCK_NAMES & set(code.co_names)) or any(map(names_clock, nested))


# -- running ----------------------------------------------------------------------------------------------------

def evaluate_here(mode: Mode, source: str, context: dict[str, Any], external: dict[str, Any]) -> Any:
    """Run compiled diagram code in this process: an expression's value, or a script's variables (data only)."""
    namespace = {**external, **context, **SANDBOX_GLOBALS}
    result = eval(compile_code(source, mode), namespace)  # noqa: S307 - restricted code object, sandbox globals
    if mode == "eval":
        return result
    variables = {key: value for key, value in namespace.items() if key not in SANDBOX_GLOBALS and key not in external}
    for key, value in variables.items():
        check_storable(key, value)
    return variables


@dataclass(frozen=True)
class Request:
    """One piece of diagram code to run in an evaluator process, with what it may read there."""

    mode: Mode
    source: str
    context: dict[str, Any]
    external: dict[str, Any]
    moment: _dt.datetime | None = None  # the step's time and the company's calendar (pickled): sent only
    calendar: bytes | None = None  # when the code names today, now or deadline


# A calendar holds every public holiday: pickled once in the server, unpickled once in each evaluator.
pickled_calendar = lru_cache(maxsize=64)(pickle.dumps)
_unpickled_calendar = lru_cache(maxsize=64)(pickle.loads)


def perform(request: Request) -> Any:
    """What evaluate_here gives in the server, computed in an evaluator: an expression's value must be data."""
    calendar = _unpickled_calendar(request.calendar) if request.calendar else china()
    with calendar_of(lambda: calendar, request.moment):
        result = evaluate_here(request.mode, request.source, request.context, request.external)
    if not is_data(result):
        raise SandboxError(f"the expression gives a {type(result).__name__}, not data")
    return result


def without_objects(error: BaseException) -> BaseException:
    """`error` itself, or, when its arguments hold functions, modules or other objects (whose text would show
    memory addresses), one of its type without them (a SandboxError naming the type if that needs arguments)."""
    if is_data(error.args):
        return error
    try:
        bare = type(error)()
    except Exception:  # noqa: BLE001 - a type whose constructor wants arguments
        bare = SandboxError(type(error).__name__)
    bare.script_line = script_line(error)  # type: ignore[attr-defined]
    return bare


def script_line(error: BaseException) -> int:
    """The line of diagram code an error was raised on (0 when unknown); errors that come back from an evaluator
    carry it as `script_line`."""
    line = getattr(error, "script_line", 0)
    for frame, number in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            line = number
    return line
