"""Restricted execution of diagram scripts, conditions and timer expressions.

SpiffWorkflow's stock environment is plain eval/exec; a condition could import os. Here every
expression is compiled with RestrictedPython (no names or attributes starting with '_', no imports,
no open()), runs with a small set of builtins, and is stopped after a time limit.
"""
from __future__ import annotations

import ast
import datetime as _dt
import math
import re
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions import timer
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.calendar import BusinessCalendar, current_calendar, parse_business, step_time

SCRIPT_FILENAME = "<kesu-script>"
DEFAULT_TIME_LIMIT = 2.0

# ISO 8601 durations, date-times and repeating intervals as Camunda Modeler writes them unquoted.
_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)"
    r"(/P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)?$"
)


class SandboxError(Exception):
    """A script or expression broke a sandbox rule, failed to compile, or ran out of time."""


class ScriptTimeout(SandboxError):
    """A script ran longer than the time limit."""


def _safe_builtins() -> dict[str, Any]:
    builtins = dict(safe_builtins)
    builtins.update(limited_builtins)
    for name in ("setattr", "delattr", "__build_class__", "id"):
        builtins.pop(name, None)
    builtins.update(
        dict=dict, list=list, set=set, frozenset=frozenset, sorted=sorted, min=min, max=max, sum=sum,
        any=any, all=all, enumerate=enumerate, zip=zip, map=map, filter=filter, reversed=reversed,
    )
    return builtins


def now() -> _dt.datetime:
    """The current time, aware, in UTC: the time of the step being run (so re-running a case's history computes
    the same), else the clock SpiffWorkflow's timers read."""
    return step_time() or timer.datetime.now(_dt.timezone.utc)


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
        return start + timer.TimerEventDefinition.get_timedelta_from_start(parsed, start)
    return None


def deadline(duration: str) -> _dt.datetime:
    """When `duration` ('2 working days', 'next day 15:00', 'P1D') ends from now on the case's calendar: a
    script keeps a limit that several later tasks share (`closure_due = deadline("5 working days")`)."""
    end = duration_end(duration.strip(), now(), current_calendar)
    if end is None:
        raise ValueError(f"{duration!r} is not a duration: write e.g. '2 working days', 'next day 15:00' or 'P1D'")
    return end


SANDBOX_GLOBALS: dict[str, Any] = {
    "__builtins__": _safe_builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "math": math,
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "today": today,
    "now": now,
    "deadline": deadline,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    """Augmented assignment (`n += 1`) for plain values."""
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    }
    if op not in operations:
        raise SandboxError(f"operator {op} is not allowed in scripts")
    return operations[op](x, y)


SANDBOX_GLOBALS["_inplacevar_"] = _inplacevar


# Builtins a diagram may not even name, so check_diagram refuses them before anything runs.
FORBIDDEN_NAMES = frozenset({"open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals",
                             "vars", "type", "input", "breakpoint", "help", "memoryview", "dir", "object"})


def _refuse_forbidden_names(source: str) -> None:
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    refused = sorted(names & FORBIDDEN_NAMES)
    if refused:
        raise SandboxError(f"{', '.join(refused)} may not be used in diagram scripts or expressions")


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    """Compile a condition or expression once; raises SandboxError naming the rule broken."""
    result = compile_restricted_eval(source.strip(), SCRIPT_FILENAME)
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    _refuse_forbidden_names(source.strip())
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    """Compile a script task's body once; raises SandboxError naming the rule broken."""
    result = compile_restricted_exec(source, SCRIPT_FILENAME)
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    _refuse_forbidden_names(source)
    return result.code


def is_iso_literal(expression: str) -> bool:
    """True for an unquoted ISO 8601 duration, date-time or cycle such as P14D or R3/PT1H."""
    return bool(_ISO_LITERAL.match(expression.strip()))


class _Deadline:
    """A trace function that raises ScriptTimeout once sandboxed code runs past its deadline."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def global_trace(self, frame: FrameType, event: str, arg: Any):
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        frame.f_trace_opcodes = True  # `while True: pass` on one line has no further line events
        return self.local_trace

    def local_trace(self, frame: FrameType, event: str, arg: Any):
        if time.monotonic() > self.deadline:
            raise ScriptTimeout(f"stopped after {self.seconds:g} s (time limit)")
        return self.local_trace


def run_limited(code: CodeType, namespace: dict[str, Any], seconds: float) -> Any:
    """eval/exec compiled restricted code in `namespace`, stopping it after `seconds`."""
    deadline = _Deadline(seconds)
    previous = sys.gettrace()
    sys.settrace(deadline.global_trace)
    try:
        return eval(code, namespace)  # noqa: S307 - restricted code object, sandbox globals
    finally:
        sys.settrace(previous)


def _is_data(value: Any) -> bool:
    return not callable(value) and not isinstance(value, type(math))


_STORABLE = (type(None), bool, int, float, str, _dt.date, _dt.datetime, _dt.timedelta)


def _check_storable(name: str, value: Any) -> None:
    """Instance data must survive being saved: plain values, lists and string-keyed dicts of them."""
    if isinstance(value, _STORABLE):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_storable(name, item)
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            _check_storable(name, item)
        return
    raise SandboxError(f"variable '{name}' holds a {type(value).__name__}, which cannot be saved with the case; "
                       "use numbers, text, dates, lists or dicts")


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates everything through RestrictedPython."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        super().__init__(SANDBOX_GLOBALS)
        self.time_limit = time_limit

    def _namespace(self, context: dict[str, Any], external_context: dict[str, Any] | None) -> dict[str, Any]:
        namespace = dict(external_context or {})
        namespace.update(context)
        namespace.update(SANDBOX_GLOBALS)
        return namespace

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return run_limited(compile_expression(expression), self._namespace(context, external_context), self.time_limit)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        namespace = self._namespace(context, external_context)
        run_limited(compile_script(script), namespace, self.time_limit)
        results = {key: value for key, value in namespace.items()
                   if key not in SANDBOX_GLOBALS and key not in (external_context or {}) and _is_data(value)}
        for key, value in results.items():
            _check_storable(key, value)
        context.clear()
        context.update(results)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """The script engine every workflow runs with; also reads bare ISO 8601 timer literals."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        super().__init__(environment=SandboxEnvironment(time_limit))

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task, expression: str, external_context=None):
        text = expression.strip()
        if text not in task.data:
            if is_iso_literal(text):
                return text
            business = parse_business(text)
            if business is not None:  # a timer's duration in business time, counted from the step's time
                return business.as_iso_duration(now())
        return super().evaluate(task, expression, external_context)
