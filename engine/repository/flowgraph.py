"""Lint rules on how a case's token can move through the executable process: every user task reachable,
deciding gateways' flows conditioned or default, and every path reaching an end.

The modeler mirrors these rules in JavaScript (static/src/modeler/kesu-rules.js): keep the messages in step.
The process is read once into adjacency lists, so every rule is linear in the size of the diagram.
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from engine.repository.specs import BPMN_NS
from engine.repository.xmlload import Problem

_BPMN = f"{{{BPMN_NS}}}"

FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
_CONDITIONAL_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
_KIND_NAMES = {"subProcess": "subprocess", "adHocSubProcess": "ad-hoc subprocess", "task": "task without a type"}



def local_name(node: etree._Element) -> str:
    """A BPMN element's tag without its namespace (callers iterate BPMN elements only)."""
    tag: str = node.tag
    return tag[len(_BPMN):]


def kind_name(tag: str) -> str:
    """'exclusiveGateway' -> 'exclusive gateway': how messages name an element's type."""
    return _KIND_NAMES.get(tag) or re.sub(r"(?<!^)([A-Z])", r" \1", tag).lower()


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
        tag, node_id = local_name(node), node.get("id")
        if tag == "sequenceFlow":
            flow = _Flow(node_id, node.get("sourceRef"), node.get("targetRef"),
                         node.find(f"{_BPMN}conditionExpression") is not None)
            graph.flows.append(flow)
            graph.outgoing.setdefault(flow.source, []).append(flow.target)
            graph.incoming.setdefault(flow.target, []).append(flow.source)
        elif tag in FLOW_NODES:
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
        kind = kind_name(graph.kinds[node])
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
