"""Check a diagram before it is published: schema, executability, lint rules, parse, sandbox, assignments.

Every problem names the element it is about, so the modeler and the API can point at it. The modeler runs
these checks on every debounced save and mirrors the lint rules in JavaScript: keep the messages in step
with it, and keep the graph rules to one pass over the tree.
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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

_FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
_CONDITIONAL_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
_KIND_NAMES = {"subProcess": "subprocess", "adHocSubProcess": "ad-hoc subprocess", "task": "task without a type"}


@lru_cache(maxsize=1)
def _schema() -> BpmnValidator:
    return BpmnValidator()


def _local(node: etree._Element) -> str:
    """A BPMN element's tag without its namespace (callers iterate BPMN elements only)."""
    return node.tag[len(_BPMN):]


def _kind(tag: str) -> str:
    """'exclusiveGateway' -> 'exclusive gateway': how messages name an element's type."""
    return _KIND_NAMES.get(tag) or re.sub(r"(?<!^)([A-Z])", r" \1", tag).lower()


def _a(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _element_at_line(tree: etree._ElementTree, line: int) -> str | None:
    for node in tree.iter():
        if node.sourceline == line and node.get("id"):
            return node.get("id")
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
    return f"{_a(_kind(tag))} is not supported by Kesu: {instead}"


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
        tag = _local(node)
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


def _allowed(source: str, compile_fn: Callable) -> str | None:
    """`source` if it compiles in the sandbox, so a hint never suggests something that would be refused."""
    try:
        compile_fn(source)
    except (SandboxError, SyntaxError):
        return None
    return source


def _python_problem(source: str, compile_fn: Callable) -> str | None:
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
            text = (timer.text or "").strip()
            message = None if is_iso_literal(text) else _python_problem(text, compile_expression)
            if message:
                event = timer.getparent().getparent()
                problems.append((event.get("id"), f"timer: {message}"))
    return problems


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


# -- the flow graph -------------------------------------------------------------------------------------------

@dataclass
class _Flow:
    id: str
    source: str
    target: str
    conditional: bool


@dataclass
class _Graph:
    """The executable process's flow nodes and how a token can move between them."""

    root: str
    kinds: dict[str, str] = field(default_factory=dict)  # flow node id -> BPMN tag, in document order
    names: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # gateway -> its default flow
    flows: list[_Flow] = field(default_factory=list)
    outgoing: dict[str, list[str]] = field(default_factory=dict)  # node -> targets of its sequence flows
    incoming: dict[str, list[str]] = field(default_factory=dict)
    boundaries: dict[str, list[str]] = field(default_factory=dict)  # activity -> its boundary events
    attached: dict[str, str] = field(default_factory=dict)  # boundary event -> its activity
    entries: dict[str, list[str]] = field(default_factory=dict)  # process/subprocess -> start events, event subs
    event_subprocesses: set[str] = field(default_factory=set)

    def label(self, node: str) -> str:
        name = self.names.get(node)
        return f"'{name}' ({node})" if name else node

    def exits(self, node: str) -> Iterator[str]:
        """Where a token leaves `node` for, in the same (sub)process: its flows and its boundary events."""
        yield from self.outgoing.get(node, ())
        yield from self.boundaries.get(node, ())

    def successors(self, node: str) -> Iterator[str]:
        """Where a token at `node` may go next: its exits, and the start of what it contains."""
        yield from self.exits(node)
        yield from self.entries.get(node, ())

    def predecessors(self, node: str) -> Iterator[str]:
        """Nodes that reach `node` in the same (sub)process: by a flow, or an activity by its boundary event."""
        yield from self.incoming.get(node, ())
        if node in self.attached:
            yield self.attached[node]


def _read_graph(process: etree._Element) -> _Graph:
    """One pass over the process: adjacency lists by id, so every rule after this is linear."""
    graph = _Graph(process.get("id"))
    for node in process.iter(f"{_BPMN}*"):
        tag, node_id = _local(node), node.get("id")
        if tag == "sequenceFlow":
            flow = _Flow(node_id, node.get("sourceRef"), node.get("targetRef"),
                         node.find(f"{_BPMN}conditionExpression") is not None)
            graph.flows.append(flow)
            graph.outgoing.setdefault(flow.source, []).append(flow.target)
            graph.incoming.setdefault(flow.target, []).append(flow.source)
        elif tag in _FLOW_NODES:
            _add_node(graph, node, tag, node_id)
    return graph


def _add_node(graph: _Graph, node: etree._Element, tag: str, node_id: str) -> None:
    graph.kinds[node_id] = tag
    graph.names[node_id] = node.get("name") or ""
    if node.get("default"):
        graph.defaults[node_id] = node.get("default")
    container = node.getparent().get("id")
    if tag == "startEvent":
        graph.entries.setdefault(container, []).append(node_id)
    elif tag == "subProcess" and node.get("triggeredByEvent") == "true":
        graph.event_subprocesses.add(node_id)  # starts by its own event whenever its container is running
        graph.entries.setdefault(container, []).append(node_id)
    elif tag == "boundaryEvent":
        graph.attached[node_id] = node.get("attachedToRef")
        graph.boundaries.setdefault(node.get("attachedToRef"), []).append(node_id)


def _closure(starts: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    """Every node reachable from `starts` by `step` (breadth first, each node visited once)."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for following in step(queue.popleft()):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


def gateway_problems(graph: _Graph) -> list[Problem]:
    """Flows out of a deciding gateway that neither have a condition nor are its default (SpiffWorkflow refuses
    them, naming no element)."""
    return [
        (flow.id, f"this flow leaves gateway {graph.label(flow.source)} without a condition: add a condition "
                  "or make it the gateway's default flow")
        for flow in graph.flows
        if graph.kinds.get(flow.source) in _CONDITIONAL_GATEWAYS and len(graph.outgoing[flow.source]) > 1
        and not flow.conditional and graph.defaults.get(flow.source) != flow.id
    ]


def reachability_problems(graph: _Graph) -> list[Problem]:
    """User tasks no token can ever reach: nobody would ever be asked to do them."""
    reached = _closure([graph.root], graph.successors)
    return [(node, "this user task can never be reached from a start event: connect a sequence flow to it")
            for node, tag in graph.kinds.items() if tag == "userTask" and node not in reached]


def _loops(stuck: set[str], graph: _Graph) -> set[str]:
    """The nodes of `stuck` that lie on (or after) a cycle: peel off, one by one, those no stuck node leads to,
    so the nodes merely leading into an endless loop are not blamed for it."""
    lead_ins = {node: sum(p in stuck for p in graph.predecessors(node)) for node in stuck}
    queue = deque(node for node, count in lead_ins.items() if count == 0)
    looping = set(stuck)
    while queue:
        node = queue.popleft()
        looping.discard(node)
        for following in graph.exits(node):
            if following not in lead_ins:  # a flow into something that is not a flow node: not a loop
                continue
            lead_ins[following] -= 1
            if lead_ins[following] == 0:
                queue.append(following)
    return looping


def dead_end_problems(graph: _Graph) -> list[Problem]:
    """Flow nodes after which a case could never finish, each reported once where the owner must fix it: where
    nothing follows, or on the loop no end event can be reached from (not on the nodes leading into either)."""
    nodes = [node for node, tag in graph.kinds.items() if tag != "endEvent" and node not in graph.event_subprocesses]
    dead_ends = [node for node in nodes if not graph.outgoing.get(node)]
    finishing = _closure([node for node, tag in graph.kinds.items() if tag == "endEvent"], graph.predecessors)
    looping = _loops(set(nodes) - finishing - _closure(dead_ends, graph.predecessors), graph)
    problems: list[Problem] = []
    for node in nodes:
        kind = _kind(graph.kinds[node])
        if node in dead_ends:
            problems.append((node, f"nothing follows this {kind}: connect it to the next step or to an end event"))
        elif node in looping:
            problems.append((node, f"no end event can be reached from this {kind}: give the loop a way out to an "
                                   "end event"))
    return problems


def graph_problems(process: etree._Element) -> list[Problem]:
    """The lint rules on how tokens flow; each rule lists all its problems in document order."""
    graph = _read_graph(process)
    return gateway_problems(graph) + reachability_problems(graph) + dead_end_problems(graph)


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
        elif known is not None and offered and not (set(offered) & known) and not task.candidate_users:
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
    _refuse(expression_problems(tree) + form_field_problems(tree) + graph_problems(process))
    compiled = _parse(tree, content_hash(data))
    _refuse(assignment_problems(compiled, groups))
    return compiled
