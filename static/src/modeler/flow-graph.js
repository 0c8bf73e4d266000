// How a token can move through a process, read from bpmn-js's model the way engine/repository/validation.py reads the
// XML (`_read_graph`), so the lint rules built on it find exactly what the server's graph rules find.
import { is } from 'bpmnlint-utils';

function push(map, key, value) {
  if (!map.has(key)) { map.set(key, []); }
  map.get(key).push(value);
}

/** `bpmn:ExclusiveGateway` -> `exclusiveGateway`: the tag the server names kinds by. */
export function tagOf(element) {
  const type = element.$type.split(':')[1];
  return type[0].toLowerCase() + type.slice(1);
}

class Graph {
  constructor(root) {
    this.root = root;
    this.kinds = new Map(); // flow node id -> tag, in document order
    this.names = new Map();
    this.defaults = new Map(); // gateway -> its default flow's id
    this.flows = [];
    this.outgoing = new Map(); // node -> targets of its sequence flows
    this.incoming = new Map();
    this.boundaries = new Map(); // activity -> its boundary events
    this.attached = new Map(); // boundary event -> its activity
    this.entries = new Map(); // process/subprocess -> its start events and event subprocesses
    this.eventSubprocesses = new Set();
  }

  label(node) {
    const name = this.names.get(node);
    return name ? `'${name}' (${node})` : node;
  }

  /** Where a token leaves `node` for, in the same (sub)process: its flows and its boundary events. */
  exits(node) {
    return [...(this.outgoing.get(node) || []), ...(this.boundaries.get(node) || [])];
  }

  /** Where a token at `node` may go next: its exits, and the start of what it contains. */
  successors(node) {
    return [...this.exits(node), ...(this.entries.get(node) || [])];
  }

  /** Nodes that reach `node` in the same (sub)process: by a flow, or an activity by its boundary event. */
  predecessors(node) {
    return [...(this.incoming.get(node) || []), ...(this.attached.has(node) ? [this.attached.get(node)] : [])];
  }

  addFlow(flow) {
    const source = flow.sourceRef && flow.sourceRef.id;
    const target = flow.targetRef && flow.targetRef.id;
    this.flows.push({ id: flow.id, source, target, conditional: Boolean(flow.conditionExpression) });
    push(this.outgoing, source, target);
    push(this.incoming, target, source);
  }

  addNode(node) {
    const tag = tagOf(node);
    this.kinds.set(node.id, tag);
    this.names.set(node.id, node.name || '');
    if (node.default) { this.defaults.set(node.id, node.default.id); }
    const container = node.$parent.id;
    if (tag === 'startEvent') {
      push(this.entries, container, node.id);
    } else if (tag === 'subProcess' && node.triggeredByEvent) {
      this.eventSubprocesses.add(node.id); // starts by its own event whenever its container is running
      push(this.entries, container, node.id);
    } else if (tag === 'boundaryEvent' && node.attachedToRef) {
      this.attached.set(node.id, node.attachedToRef.id);
      push(this.boundaries, node.attachedToRef.id, node.id);
    }
  }
}

function read(graph, container) {
  (container.flowElements || []).forEach((element) => {
    if (is(element, 'bpmn:SequenceFlow')) {
      graph.addFlow(element);
    } else if (is(element, 'bpmn:FlowNode')) {
      graph.addNode(element);
    }
    read(graph, element);
  });
}

/** The process's flow nodes, sub-processes included, and the ways between them. */
export function readGraph(process) {
  const graph = new Graph(process.id);
  read(graph, process);
  return graph;
}

/** Every node reachable from `starts` by `step` (each node visited once). */
export function closure(starts, step) {
  const seen = new Set(starts);
  const queue = [...seen];
  while (queue.length) {
    step(queue.shift()).forEach((following) => {
      if (!seen.has(following)) { seen.add(following); queue.push(following); }
    });
  }
  return seen;
}

/** The nodes of `stuck` on (or after) a cycle: those no stuck node leads to are peeled off one by one, so the
 * nodes merely leading into an endless loop are not blamed for it. */
export function loops(stuck, graph) {
  const leadIns = new Map([...stuck].map((node) => [node,
    graph.predecessors(node).filter((predecessor) => stuck.has(predecessor)).length]));
  const queue = [...leadIns].filter(([, count]) => count === 0).map(([node]) => node);
  const looping = new Set(stuck);
  while (queue.length) {
    const node = queue.shift();
    looping.delete(node);
    graph.exits(node).filter((following) => leadIns.has(following)).forEach((following) => {
      leadIns.set(following, leadIns.get(following) - 1);
      if (leadIns.get(following) === 0) { queue.push(following); }
    });
  }
  return looping;
}
