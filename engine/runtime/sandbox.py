"""The script engine every workflow runs with: diagram scripts, conditions, decision-table entries, due dates,
priorities and timer expressions, in the restricted language (engine.runtime.restricted).

Code that engine.runtime.cost proves bounded by the size of its data (every condition and decision-table entry of the
shipped procedures, `n = n + 1`) runs here, in the server's process, at the cost of an eval. Everything else
runs in an evaluator process (engine.runtime.evaluator) under the time and memory limits, with the case's data, the
step's time and, when the code names today/now/deadline, the company's calendar: so a `10**10**amount` or an
endless loop stops there and the case goes to the error state, while every other request is served.

Whatever diagram code raises reaches SpiffWorkflow's error handling as an exception that names the element and
the script line (SpiffWorkflow's own wrapping fails on `KeyError(1)` and on some NameErrors).
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task

from engine.calendars.working_time import current_calendar, parse_business
from engine.runtime import evaluator
from engine.runtime.cost import Mode, is_bounded
from engine.runtime.evaluator import Limits
from engine.runtime.restricted import (
    SANDBOX_GLOBALS,
    Request,
    compile_code,
    compile_expression,
    evaluate_here,
    is_iso_literal,
    names_clock,
    now,
    pickled_calendar,
    script_line,
    without_objects,
)

DEFAULT_LIMITS = Limits()


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment: bounded code in-process, the rest in an evaluator process."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(SANDBOX_GLOBALS)
        self.limits = limits

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return self._run("eval", expression, context, external_context or {})

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        variables = self._run("exec", script, context, external_context or {})
        context.clear()
        context.update(variables)
        return True

    def _run(self, mode: Mode, source: str, context: dict[str, Any], external: dict[str, Any]) -> Any:
        code = compile_code(source, mode)  # sandbox refusals are raised here, before any process is involved
        if is_bounded(source, mode):
            try:
                return evaluate_here(mode, source, context, external)
            except Exception as error:  # re-raised, without objects in its text
                bare = without_objects(error)
                if bare is error:
                    raise
                raise bare from None
        clock = names_clock(code)
        request = Request(mode, source, context, external, now() if clock else None,
                          pickled_calendar(current_calendar()) if clock else None)
        return evaluator.pool(self.limits.processes).run(request, self.limits)


def task_error(message: str, task: Task, cause: BaseException, line: int = 0,
               source: str = "") -> WorkflowTaskException:
    """SpiffWorkflow's error for a task, built so that printing it cannot fail: its NameError hint is a None
    note when the message is not Python's own ('__build_class__ not found'), which breaks str()."""
    lines = source.splitlines()
    error_line = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    error = WorkflowTaskException(message, task=task, exception=cause, line_number=line, error_line=error_line)
    error.notes = [note for note in error.notes if note]
    if error_line:
        error.add_note(f"line {line}: {error_line}")
    return error


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class SandboxScriptEngine(PythonScriptEngine):
    """The script engine every workflow runs with; also reads bare ISO 8601 timer literals."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(environment=SandboxEnvironment(limits))

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task: Task, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        text = expression.strip()
        if text not in task.data:
            if is_iso_literal(text):
                return text
            business = parse_business(text)
            if business is not None:  # a timer's duration in business time, counted from the step's time
                return business.as_iso_duration(now())
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as error:
            error.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as error:  # any failure of diagram code is the case's error
            raise task_error(f"Error evaluating expression '{expression}'", task, error) from error

    def create_task_exec_exception(self, task: Task, script: str, err: Exception) -> WorkflowTaskException:
        """A script's failure, whatever it raised (`KeyError(1)`, an error without arguments), with its line."""
        return task_error(_describe(err), task, err, script_line(err), script)
