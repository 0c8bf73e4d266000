"""Decision tables at run time: SpiffWorkflow's DMN engine with the hit policies DMN defines, sandboxed.

The stock engine returns the first match for UNIQUE and evaluates every rule for FIRST; here UNIQUE refuses
overlapping rules and FIRST stops at the first match. Input entries are read the way dmn-js writes them
(`> 5`, `"A","B"`, `2 < ? <= 4`) and evaluated by the instance's (sandboxed) script engine.
"""
from __future__ import annotations

import ast
import re
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import Rule
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task

HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")  # what KesuDMNEngine evaluates as DMN defines them
DMN_INPUT = "dmninputexpr"  # the name an input entry's test sees the input value under
_INPUT_MARK = re.compile(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # a `?` outside quotes: the input value


def entry_source(entry: str) -> str:
    """The Python test an input entry stands for, on the input value named DMN_INPUT.

    `? < 10` uses the value where the `?` is; a value (`"A"`, `5`) is compared with it; several values
    (`"A","B"`) are any of them; anything else is an operator test with the value on its left (`> 5`, `in r`).
    """
    text = entry.strip()
    if _INPUT_MARK.search(text):
        return _INPUT_MARK.sub(DMN_INPUT, text)
    try:
        parsed = ast.parse(text, mode="eval").body
    except SyntaxError:
        return f"{DMN_INPUT} {text}"
    return f"{DMN_INPUT} in ({text})" if isinstance(parsed, ast.Tuple) else f"{DMN_INPUT} == ({text})"


class KesuDMNEngine(DMNEngine):
    """SpiffWorkflow's DMN engine with DMN's hit policies, reading input entries with entry_source.

    The stock engine returns the first match for UNIQUE, evaluates every rule for FIRST, and tells a test
    (`> 5`) from a value by a SyntaxError that the sandbox reports as a SandboxError, so `> 5` fails there.
    """

    def evaluate(self, input_expr: str, match_expr: str | None, task: Task) -> bool:
        if match_expr is None:  # '-': any value
            return True
        engine = task.workflow.script_engine
        value = engine.evaluate(task, input_expr)
        return bool(engine.evaluate(task, entry_source(match_expr), external_context={DMN_INPUT: value}))

    def _matches(self, rule: Rule, task: Task) -> bool:
        try:
            return all(self.evaluate(entry.input.expression, entry.lhs[0], task) for entry in rule.inputEntries)
        except SpiffWorkflowException as error:
            error.add_note(f"Rule failed on row {rule.row_number}")
            raise
        except Exception as error:  # a sandbox refusal or a Python error in an entry
            raise WorkflowTaskException(f"row {rule.row_number}: {error}", task=task, exception=error) from error

    def decide(self, task: Task) -> list[Rule]:
        policy = self.decision_table.hit_policy
        matched: list[Rule] = []
        for rule in self.decision_table.rules:
            if self._matches(rule, task):
                matched.append(rule)
                if policy == "FIRST":
                    break
        if policy == "UNIQUE" and len(matched) > 1:
            rows = ", ".join(str(rule.row_number) for rule in matched)
            raise WorkflowTaskException(f"rows {rows} all match, but hit policy UNIQUE allows only one", task=task)
        return matched

    def result(self, task: Task) -> dict[str, Any]:
        """Every output is set even when no rule matches (None, or [] when collecting), as in Camunda."""
        empty: list[Any] | None = [] if self.decision_table.hit_policy == "COLLECT" else None
        outputs = {output.name or output.label: empty for output in self.decision_table.outputs}
        return {**outputs, **super().result(task)}


class UnboundDecision:
    """Stands in for a decision table while a diagram is checked on its own; such a spec never runs."""

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def result(self, task: Task) -> dict[str, Any]:
        raise WorkflowTaskException(f"decision table {self.ref} is not loaded", task=task)
