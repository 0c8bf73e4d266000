"""Check a diagram before it is published: schema, executability, lint rules, parse, sandbox, assignments.

Every problem names the element it is about, so the modeler and the API can point at it. The modeler runs
these checks on every debounced save and mirrors the lint rules in JavaScript: keep the messages in step
with it, and keep the graph rules to one pass over the tree.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.calendars.working_time import parse_business
from engine.jobs import recurrence
from engine.jobs.periodic import start_events, start_timer
from engine.repository.flowgraph import graph_problems, kind_name, local_name
from engine.repository.specs import (
    BPMN_NS,
    FIELD_TYPES,
    CompiledProcess,
    compile_process,
    content_hash,
    executable_process_ids,
)
from engine.repository.xmlload import DiagramError, Problem, load_xml
from engine.runtime.assignment import expression_of, is_dynamic
from engine.runtime.restricted import SandboxError, compile_expression, compile_script, is_iso_literal

_FOREIGN_EXPRESSION = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")
_BPMN = f"{{{BPMN_NS}}}"

# JUEL (Camunda's expression language) spelled in Python; applied outside string literals only.
_JUEL_TO_PYTHON = tuple((re.compile(pattern), python) for pattern, python in (
    (r"\s*&&\s*", " and "), (r"\s*\|\|\s*", " or "), (r"!(?!=)\s*", "not "), (r"\bempty\s+", "not "),
    (r"\beq\b", "=="), (r"\bne\b", "!="), (r"\blt\b", "<"), (r"\bgt\b", ">"), (r"\ble\b", "<="), (r"\bge\b", ">="),
    (r"\bdiv\b", "/"), (r"\bmod\b", "%"), (r"\bnull\b", "None"), (r"\btrue\b", "True"), (r"\bfalse\b", "False"),
))
_STRING_LITERAL = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")

# Elements SpiffWorkflow cannot parse, ignores, or leaves waiting for ever in Kesu (measured, not assumed):
# what the owner should draw instead.
_UNSUPPORTED_STEPS = {
    "complexGateway": "use an exclusive, inclusive or parallel gateway",
    "task": "make it a user task (a person does it) or a script task (Kesu does it)",
    "manualTask": "make it a user task, so it reaches someone's inbox",
    "serviceTask": "make it a script task or a user task",
    "adHocSubProcess": "use a subprocess whose steps are joined by sequence flows",
}
_NOT_RUN = "remove it; Kesu runs only the executable process"
_UNSUPPORTED_OUTSIDE_PROCESSES = {"choreography": "draw the procedure as a process", "conversation": _NOT_RUN,
                                  "subConversation": _NOT_RUN, "callConversation": _NOT_RUN}
_COMPENSATION = "compensation is not supported by Kesu: put the undo steps on the path as ordinary tasks"
_LINK = "link events are not supported by Kesu: join the two points with a sequence flow"
_BOUNDARY_TRIGGERS = frozenset(f"{_BPMN}{t}EventDefinition" for t in (
    "timer", "message", "signal", "error", "escalation", "conditional", "cancel", "compensate"))
_UNTRIGGERED_BOUNDARY = ("a boundary event without a trigger is not supported by Kesu: give it a timer, message, "
                         "signal, error, escalation or condition")

@lru_cache(maxsize=1)
def _schema() -> BpmnValidator:
    return BpmnValidator()


def _a(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _element_at_line(tree: etree._ElementTree, line: int) -> str | None:
    for node in tree.iter():
        element_id: str | None = node.get("id")
        if node.sourceline == line and element_id:
            return element_id
    return None


def schema_problems(tree: etree._ElementTree) -> list[Problem]:
    """BPMN 2.0 XSD errors, each tied to the element on its line where there is one."""
    if tree.getroot().tag != f"{_BPMN}definitions":
        return [(None, "this is not a BPMN 2.0 file (the root element must be bpmn:definitions)")]
    validator = _schema()
    validator.preprocess(tree)
    if validator.validator.validate(tree):
        return []
    return [(_element_at_line(tree, e.line), f"line {e.line}: {e.message}") for e in validator.validator.error_log]


def _owner(node: etree._Element) -> str | None:
    """The nearest enclosing element with an id: the task a form field or an event definition belongs to."""
    return next((a.get("id") for a in node.iterancestors() if a.get("id")), None)


def _duplicate_ids(tree: etree._ElementTree) -> list[Problem]:
    """Element ids used twice, and form fields named like an element (SpiffWorkflow confuses the two)."""
    seen: set[str] = set()
    problems = []
    for node in tree.iter(f"{_BPMN}*"):
        element_id = node.get("id")
        if element_id and element_id in seen:
            problems.append((element_id, "this id is used by more than one element"))
        seen.add(element_id)
    for form_field in tree.iter(f"{{{CAMUNDA_MODEL_NS}}}formField"):
        if form_field.get("id") in seen:
            problems.append((_owner(form_field), f"form field '{form_field.get('id')}' has the id of a diagram "
                                                 "element; rename the field or the element"))
    return problems


# -- elements Kesu cannot run ------------------------------------------------------------------------------------

def _not_supported(tag: str, instead: str) -> str:
    return f"{_a(kind_name(tag))} is not supported by Kesu: {instead}"


def _unsupported_in_process(node: etree._Element, tag: str) -> str | None:
    """Why Kesu cannot run this element of the executable process, or None."""
    if tag in _UNSUPPORTED_STEPS:
        return _not_supported(tag, _UNSUPPORTED_STEPS[tag])
    if node.get("isForCompensation") == "true" or tag == "compensateEventDefinition":
        return _COMPENSATION
    if tag == "linkEventDefinition":
        return _LINK
    if tag == "boundaryEvent" and not any(child.tag in _BOUNDARY_TRIGGERS for child in node):
        return _UNTRIGGERED_BOUNDARY
    return None


def unsupported_problems(tree: etree._ElementTree, process: etree._Element) -> list[Problem]:
    """Elements SpiffWorkflow would refuse with a stack message, skip silently, or Kesu would wait on for ever."""
    problems: list[Problem] = []
    for node in process.iter(f"{_BPMN}*"):
        tag = local_name(node)
        message = _unsupported_in_process(node, tag)
        if message:  # an event definition has no place of its own on the canvas: point at its event
            problems.append((_owner(node) if tag.endswith("EventDefinition") else node.get("id"), message))
    for tag, instead in _UNSUPPORTED_OUTSIDE_PROCESSES.items():
        problems += [(node.get("id"), _not_supported(tag, instead)) for node in tree.iter(f"{_BPMN}{tag}")]
    return problems


# -- expressions --------------------------------------------------------------------------------------------------

def _from_juel(source: str) -> str:
    """JUEL operators and literals rewritten as Python, leaving string literals alone."""
    parts = _STRING_LITERAL.split(source.strip())
    for index in range(0, len(parts), 2):  # odd indexes are the string literals
        for pattern, python in _JUEL_TO_PYTHON:
            parts[index] = pattern.sub(python, parts[index])
    return "".join(parts)


def _allowed(source: str, compile_fn: Callable[[str], object]) -> str | None:
    """`source` if it compiles in the sandbox, so a hint never suggests something that would be refused."""
    try:
        compile_fn(source)
    except (SandboxError, SyntaxError):
        return None
    return source


def _python_problem(source: str, compile_fn: Callable[[str], object]) -> str | None:
    """What is wrong with an expression or script, with the Python to write where it can be worked out."""
    foreign = _FOREIGN_EXPRESSION.match(source)
    if foreign:
        python = _allowed(_from_juel(foreign.group(1)), compile_fn)
        advice = f"write {python}" if python else "rewrite it in Python"
        return f"'{source.strip()}' is written for another engine; Kesu expressions are Python: {advice}"
    try:
        compile_fn(source)
    except (SandboxError, SyntaxError) as error:
        python = _allowed(_from_juel(source), compile_fn)  # `a && b` written without ${...}
        if python and python != source.strip():
            return f"'{source.strip()}' is not Python: write {python}"
        if isinstance(error, SyntaxError):
            return f"not valid Python: {error.msg}"
        return f"not allowed in the sandbox: {error}"
    return None


def expression_problems(tree: etree._ElementTree) -> list[Problem]:
    """Conditions, scripts and timer expressions that would fail in the sandbox."""
    problems: list[Problem] = []
    for condition in tree.iter(f"{_BPMN}conditionExpression"):
        owner = condition.getparent().get("id")
        message = _python_problem(condition.text or "", compile_expression) if (condition.text or "").strip() else \
            "the condition is empty"
        if message:
            problems.append((owner, f"condition: {message}"))
    for script in tree.iter(f"{_BPMN}script"):
        message = _python_problem(script.text or "", compile_script)
        if message:
            problems.append((script.getparent().get("id"), f"script: {message}"))
    for tag in _TIMER_TAGS:
        for timer in tree.iter(f"{_BPMN}{tag}"):
            event = timer.getparent().getparent()
            if _is_process_start(event):
                continue  # a schedule, not an expression: start_timer_problems checks it
            message = _timer_problem(tag, (timer.text or "").strip())
            if message:
                problems.append((event.get("id"), f"timer: {message}"))
    for task in tree.iter(f"{_BPMN}userTask"):
        text = (task.get(f"{{{CAMUNDA_MODEL_NS}}}dueDate") or "").strip()
        message = _due_date_problem(text) if text else None
        if message:
            problems.append((task.get("id"), f"due date: {message}"))
        problems += [(task.get("id"), problem) for problem in _assignment_expression_problems(task)]
    return problems


_PEOPLE_ATTRIBUTES = {"candidateGroups": "candidate groups", "candidateUsers": "candidate users",
                      "assignee": "assignee"}


def _assignment_expression_problems(task: etree._Element) -> list[str]:
    """`${...}` items of a task's candidates and assignee hold Python over the case's data (`${responsible_person}`)."""
    problems = []
    for attribute, words in _PEOPLE_ATTRIBUTES.items():
        for item in (task.get(f"{{{CAMUNDA_MODEL_NS}}}{attribute}") or "").split(","):
            expression = expression_of(item)
            message = _python_problem(expression, compile_expression) if expression is not None else None
            if message:
                problems.append(f"{words}: {message}")
    return problems


def _timer_problem(tag: str, text: str) -> str | None:
    """A timer is ISO 8601 or an expression; its duration may also be business time ('2 working days')."""
    try:
        business = parse_business(text)
    except ValueError as error:
        return str(error)
    if business is not None:
        return None if tag == "timeDuration" else "business time ('2 working days') goes in the timer's " \
                                                  "duration, not its date or cycle"
    return None if is_iso_literal(text) else _python_problem(text, compile_expression)


def _due_date_problem(text: str) -> str | None:
    """A due date is ISO 8601, a business form ('2 working days') or an expression giving either."""
    try:
        if parse_business(text) is not None:
            return None
    except ValueError as error:
        return str(error)
    return None if is_iso_literal(text) else _python_problem(text, compile_expression)


def form_field_problems(tree: etree._ElementTree) -> list[Problem]:
    """Form fields without a type or with one Kesu's forms cannot show (the parser would make them strings)."""
    problems: list[Problem] = []
    for form_field in tree.iter(f"{{{CAMUNDA_MODEL_NS}}}formField"):
        name, field_type = form_field.get("id"), form_field.get("type")
        if not field_type:
            problems.append((_owner(form_field), f"form field '{name}' has no type: choose {', '.join(FIELD_TYPES)}"))
        elif field_type not in FIELD_TYPES:
            problems.append((_owner(form_field), f"form field '{name}' has unsupported type '{field_type}' "
                                                 f"(use {', '.join(FIELD_TYPES)})"))
    return problems


# -- timer start events: periodic procedures (engine.jobs.periodic) ------------------------------------------------

def _is_process_start(event: etree._Element) -> bool:
    return local_name(event) == "startEvent" and local_name(event.getparent()) == "process"


def start_timer_problems(process: etree._Element) -> list[Problem]:
    """A timer on the start event makes a procedure periodic: the timer must be a schedule Kesu can work out, and
    that start event the only one (SpiffWorkflow runs every start event's path in each case)."""
    starts = start_events(process)
    timers = [timer for timer in map(start_timer, starts) if timer is not None]
    problems: list[Problem] = []
    for timer in timers:
        try:
            recurrence.parse(timer.kind, timer.expression)
        except ValueError as error:
            problems.append((timer.element_id, f"start timer: {error}"))
    if timers:
        problems += [(event.get("id"), "a procedure started by a timer has no other start event: Kesu would run "
                                       "this one's path too in every case it starts")
                     for event in starts if event.get("id") != timers[0].element_id]
    return problems


# -- after parsing --------------------------------------------------------------------------------------------

def assignment_problems(compiled: CompiledProcess, groups: Iterable[str] | None) -> list[Problem]:
    """User tasks nobody would see."""
    known = set(groups) if groups is not None else None
    problems: list[Problem] = []
    for task in compiled.tasks.values():
        offered = task.offered_groups
        if not (offered or task.candidate_users or task.assignee):
            problems.append((task.element_id, "this user task is offered to nobody: name candidate groups or users, "
                                              "or put it in a lane named like a group"))
        elif known is not None and offered and not (set(offered) & known) and not task.candidate_users \
                and not is_dynamic(task):
            problems.append((task.element_id, f"no group of this company is called {', '.join(offered)}"))
    return problems


def _parse(tree: etree._ElementTree, digest: str) -> CompiledProcess:
    try:
        return compile_process(tree, digest)
    except ValidationException as error:
        raise DiagramError([(error.id or None, str(error).split("\n")[0])]) from None
    except SpiffWorkflowException as error:
        raise DiagramError([(None, str(error).split("\n")[0])]) from None


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise DiagramError(problems)


def check_diagram(data: bytes, groups: Iterable[str] | None = None) -> CompiledProcess:
    """Everything a diagram must pass to be published; raises DiagramError listing every problem found.

    Checks run in stages, each stage reporting all its problems: a later stage would only repeat an earlier
    one's problems in other words (an unsupported element also breaks the flow rules and the parse)."""
    tree = load_xml(data)
    _refuse(_duplicate_ids(tree) or schema_problems(tree))  # duplicates first: clearer than the XSD's words
    executable = executable_process_ids(tree)
    if len(executable) != 1:
        raise DiagramError([(None, "the diagram must contain exactly one executable process "
                                   f"(isExecutable=\"true\"); found {len(executable)}")])
    process = next(p for p in tree.iter(f"{_BPMN}process") if p.get("id") == executable[0])
    _refuse(unsupported_problems(tree, process))
    _refuse(expression_problems(tree) + start_timer_problems(process) + form_field_problems(tree)
            + graph_problems(process))
    compiled = _parse(tree, content_hash(data))
    _refuse(assignment_problems(compiled, groups))
    return compiled
