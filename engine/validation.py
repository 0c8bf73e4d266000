"""Check a diagram before it is published: schema, executability, parse, sandbox, assignments.

Every problem names the element it is about, so the modeler and the API can point at it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.sandbox import SandboxError, compile_expression, compile_script, is_iso_literal
from engine.specs import BPMN_NS, FIELD_TYPES, CompiledProcess, compile_process, content_hash, executable_process_ids
from engine.xmlload import DiagramError, load_xml

Problem = tuple[str | None, str]
_FOREIGN_EXPRESSION = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


@lru_cache(maxsize=1)
def _schema() -> BpmnValidator:
    return BpmnValidator()


def _element_at_line(tree: etree._ElementTree, line: int) -> str | None:
    for node in tree.iter():
        if node.sourceline == line and node.get("id"):
            return node.get("id")
    return None


def schema_problems(tree: etree._ElementTree) -> list[Problem]:
    """BPMN 2.0 XSD errors, each tied to the element on its line where there is one."""
    if tree.getroot().tag != f"{{{BPMN_NS}}}definitions":
        return [(None, "this is not a BPMN 2.0 file (the root element must be bpmn:definitions)")]
    validator = _schema()
    validator.preprocess(tree)
    if validator.validator.validate(tree):
        return []
    return [(_element_at_line(tree, e.line), f"line {e.line}: {e.message}") for e in validator.validator.error_log]


def _duplicate_ids(tree: etree._ElementTree) -> list[Problem]:
    """Element ids used twice, and form fields named like an element (SpiffWorkflow confuses the two)."""
    seen: set[str] = set()
    problems = []
    for node in tree.iter(f"{{{BPMN_NS}}}*"):
        element_id = node.get("id")
        if element_id and element_id in seen:
            problems.append((element_id, "this id is used by more than one element"))
        seen.add(element_id)
    for form_field in tree.iter(f"{{{CAMUNDA_MODEL_NS}}}formField"):
        if form_field.get("id") in seen:
            task = next((a.get("id") for a in form_field.iterancestors() if a.get("id")), None)
            problems.append((task, f"form field '{form_field.get('id')}' has the id of a diagram element; "
                                   "rename the field or the element"))
    return problems


def _python_problem(source: str, compile_fn) -> str | None:
    foreign = _FOREIGN_EXPRESSION.match(source)
    if foreign:
        inner = foreign.group(1).strip()
        return f"'{source.strip()}' is written for another engine; Kesu expressions are Python: write {inner}"
    try:
        compile_fn(source)
    except SandboxError as error:
        return f"not allowed in the sandbox: {error}"
    except SyntaxError as error:
        return f"not valid Python: {error.msg}"
    return None


def expression_problems(tree: etree._ElementTree) -> list[Problem]:
    """Conditions, scripts and timer expressions that would fail in the sandbox."""
    problems: list[Problem] = []
    for condition in tree.iter(f"{{{BPMN_NS}}}conditionExpression"):
        owner = condition.getparent().get("id")
        message = _python_problem(condition.text or "", compile_expression) if (condition.text or "").strip() else \
            "the condition is empty"
        if message:
            problems.append((owner, f"condition: {message}"))
    for script in tree.iter(f"{{{BPMN_NS}}}script"):
        message = _python_problem(script.text or "", compile_script)
        if message:
            problems.append((script.getparent().get("id"), f"script: {message}"))
    for tag in _TIMER_TAGS:
        for timer in tree.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (timer.text or "").strip()
            message = None if is_iso_literal(text) else _python_problem(text, compile_expression)
            if message:
                event = timer.getparent().getparent()
                problems.append((event.get("id"), f"timer: {message}"))
    return problems


def assignment_problems(compiled: CompiledProcess, groups: Iterable[str] | None) -> list[Problem]:
    """User tasks nobody would see, and form fields of unknown types."""
    known = set(groups) if groups is not None else None
    problems: list[Problem] = []
    for task in compiled.tasks.values():
        offered = task.offered_groups
        if not (offered or task.candidate_users or task.assignee):
            problems.append((task.element_id, "this user task is offered to nobody: name candidate groups or users, "
                                              "or put it in a lane named like a group"))
        elif known is not None and offered and not (set(offered) & known) and not task.candidate_users:
            problems.append((task.element_id, f"no group of this company is called {', '.join(offered)}"))
        for f in task.fields:
            if f.type not in FIELD_TYPES:
                problems.append((task.element_id, f"form field '{f.id}' has unsupported type '{f.type}' "
                                                  f"(use {', '.join(FIELD_TYPES)})"))
    return problems


def _parse(tree: etree._ElementTree, digest: str) -> CompiledProcess:
    try:
        return compile_process(tree, digest)
    except ValidationException as error:
        raise DiagramError([(error.id or None, str(error).split("\n")[0])]) from None
    except SpiffWorkflowException as error:
        raise DiagramError([(None, str(error).split("\n")[0])]) from None


def check_diagram(data: bytes, groups: Iterable[str] | None = None) -> CompiledProcess:
    """Everything a diagram must pass to be published; raises DiagramError listing every problem found."""
    tree = load_xml(data)
    problems = _duplicate_ids(tree) or schema_problems(tree)  # duplicates first: clearer than the XSD's words
    if problems:
        raise DiagramError(problems)
    executable = executable_process_ids(tree)
    if len(executable) != 1:
        problems.append((None, "the diagram must contain exactly one executable process (isExecutable=\"true\"); "
                               f"found {len(executable)}"))
    problems += expression_problems(tree)
    if problems:
        raise DiagramError(problems)
    compiled = _parse(tree, content_hash(data))
    problems = assignment_problems(compiled, groups)
    if problems:
        raise DiagramError(problems)
    return compiled
