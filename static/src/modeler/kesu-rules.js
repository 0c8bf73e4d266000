// Kesu's lint rules: the server's checks (engine/repository/validation.py) run in the browser as the owner draws, in the
// server's words, so the problem list shows one line where the live lint and the server's check agree.
// Kept rather than left to the server's check: the owner sees a finding on the element at once and for every rule
// together (the server answers 1.5 s after the last change, one stage at a time), and lint works offline. The
// Python rules are the reference: tests/lint_corpus holds small diagrams with the findings expected of each, run
// through both sides by tests/test_lint_corpus.py; change a rule there first.
import { is } from 'bpmnlint-utils';

import { FIELD_TYPES, assignment, isExpression } from './camunda';
import { closure, loops, readGraph, tagOf } from './flow-graph';

const FOREIGN_EXPRESSION = /^\s*[$#]\{([\s\S]*)\}\s*$/;
const TIMER_FIELDS = ['timeDuration', 'timeDate', 'timeCycle'];
const CONDITIONAL_GATEWAYS = ['exclusiveGateway', 'inclusiveGateway'];
const KIND_NAMES = { subProcess: 'subprocess', adHocSubProcess: 'ad-hoc subprocess', task: 'task without a type' };
const UNSUPPORTED_STEPS = {
  complexGateway: 'use an exclusive, inclusive or parallel gateway',
  task: 'make it a user task (a person does it) or a script task (Kesu does it)',
  manualTask: "make it a user task, so it reaches someone's inbox",
  serviceTask: 'make it a script task or a user task',
  adHocSubProcess: 'use a subprocess whose steps are joined by sequence flows',
};
const COMPENSATION = 'compensation is not supported by Kesu: put the undo steps on the path as ordinary tasks';
const LINK = 'link events are not supported by Kesu: join the two points with a sequence flow';
const BOUNDARY_TRIGGERS = ['timer', 'message', 'signal', 'error', 'escalation', 'conditional', 'cancel', 'compensate']
  .map((trigger) => `bpmn:${trigger[0].toUpperCase()}${trigger.slice(1)}EventDefinition`);
const UNTRIGGERED_BOUNDARY = 'a boundary event without a trigger is not supported by Kesu: give it a timer, message, '
  + 'signal, error, escalation or condition';

// JUEL (Camunda's expression language) spelled in Python; applied outside string literals only. The first three
// can never be Python (the server compiles to find out; the browser cannot): a bare condition using one is JUEL.
const JUEL_WORDS = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', div: '/', mod: '%' };
const JUEL_TO_PYTHON = [
  [/\s*&&\s*/g, ' and '], [/\s*\|\|\s*/g, ' or '], [/!(?!=)\s*/g, 'not '], [/\bempty\s+/g, 'not '],
  [/\b(eq|ne|lt|gt|le|ge|div|mod)\b/g, (word) => JUEL_WORDS[word]],
  [/\bnull\b/g, 'None'], [/\btrue\b/g, 'True'], [/\bfalse\b/g, 'False'],
];
const JUEL_OPERATORS = JUEL_TO_PYTHON.slice(0, 3);
// Business time (engine/calendars/working_time.py): "2 working days", "4 working hours", "next working day 15:00", "next day
// 15:00", in Chinese too.
const BUSINESS_TIME = new RegExp('^(?:\\d+\\s*(?:working\\s+days?|个?工作日|個?工作日)'
  + '|\\d+(?:\\.\\d+)?\\s*(?:working\\s+hours?|个?工作小时|個?工作小時)'
  + '|(?:next\\s+working\\s+day|次工作日|下一个工作日|下一個工作日|next\\s+day|次日|第二天)\\s*(\\d{1,2}):(\\d{2}))$', 'i');
const BUSINESS_IN_DATE = "business time ('2 working days') goes in the timer's duration, not its date or cycle";
const STRING_LITERAL = /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/;

function rule(check) {
  return () => ({ check });
}

function inExecutableProcess(node) {
  let container = node.$parent;
  while (container && !is(container, 'bpmn:Process')) { container = container.$parent; }
  return Boolean(container && container.isExecutable);
}

/** 'exclusiveGateway' -> 'exclusive gateway': how messages name an element's type. */
function kind(tag) {
  return KIND_NAMES[tag] || tag.replace(/(?<!^)([A-Z])/g, ' $1').toLowerCase();
}

function withArticle(words) {
  return `${'aeiou'.includes(words[0]) ? 'an' : 'a'} ${words}`;
}

function rewrite(source, replacements) {
  const outsideStrings = (text) => replacements.reduce((result, [juel, python]) => result.replace(juel, python), text);
  return source.trim().split(STRING_LITERAL).map((part, i) => (i % 2 ? part : outsideStrings(part))).join('');
}

function pythonProblem(source, isExpression = true) {
  const foreign = FOREIGN_EXPRESSION.exec(source);
  if (foreign) {
    return `'${source.trim()}' is written for another engine; Kesu expressions are Python: `
      + `write ${rewrite(foreign[1], JUEL_TO_PYTHON)}`;
  }
  const juel = isExpression && rewrite(source, JUEL_OPERATORS) !== source.trim();
  return juel ? `'${source.trim()}' is not Python: write ${rewrite(source, JUEL_TO_PYTHON)}` : null;
}

/** Whether `source` is business time; a message when its time of day is impossible, else null. */
function businessTime(source) {
  const text = source.trim().split(/\s+/).join(' ');
  const found = BUSINESS_TIME.exec(text);
  if (!found) { return { business: false, message: null }; }
  const [hour, minute] = [Number(found[1] || 0), Number(found[2] || 0)];
  const impossible = hour > 23 || minute > 59;
  return { business: true, message: impossible ? `'${text}': ${hour}:${found[2]} is not a time of day` : null };
}

function timerProblem(field, source) {
  const { business, message } = businessTime(source);
  if (business) { return message || (field === 'timeDuration' ? null : BUSINESS_IN_DATE); }
  return pythonProblem(source);
}

function expressionProblems(node) {
  if (is(node, 'bpmn:SequenceFlow') && node.conditionExpression) {
    const body = node.conditionExpression.body || '';
    const message = body.trim() ? pythonProblem(body) : 'the condition is empty';
    return [message && `condition: ${message}`];
  }
  if (is(node, 'bpmn:ScriptTask')) {
    const message = pythonProblem(node.script || '', false);
    return [message && `script: ${message}`];
  }
  return (node.eventDefinitions || []).filter((definition) => is(definition, 'bpmn:TimerEventDefinition'))
    .flatMap((timer) => TIMER_FIELDS.map((field) => {
      const message = timer[field] && timerProblem(field, timer[field].body || '');
      return message && `timer: ${message}`;
    }))
    .concat(is(node, 'bpmn:UserTask') ? [dueDateProblem(node.get('camunda:dueDate') || '')] : []);
}

function dueDateProblem(source) {
  if (!source.trim()) { return null; }
  const { business, message } = businessTime(source);
  const problem = business ? message : pythonProblem(source);
  return problem && `due date: ${problem}`;
}

/** Conditions, scripts and timers are Python: `${approved}` gets the hint to write `approved`. */
export const pythonExpressions = rule((node, reporter) => {
  expressionProblems(node).filter(Boolean).forEach((message) => reporter.report(node.id, message));
});

function formFields(node) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  return values.filter((value) => is(value, 'camunda:FormData')).flatMap((formData) => formData.fields || []);
}

/** Form fields need a type Kesu's forms can show. */
export const formFieldTypes = rule((node, reporter) => {
  formFields(node).forEach(({ id, type }) => {
    if (!type) {
      reporter.report(node.id, `form field '${id}' has no type: choose ${FIELD_TYPES.join(', ')}`);
    } else if (!FIELD_TYPES.includes(type)) {
      reporter.report(node.id, `form field '${id}' has unsupported type '${type}' (use ${FIELD_TYPES.join(', ')})`);
    }
  });
});

function unsupported(node) {
  const tag = tagOf(node);
  const definitions = (node.eventDefinitions || []).map((definition) => definition.$type);
  if (UNSUPPORTED_STEPS[tag]) {
    return `${withArticle(kind(tag))} is not supported by Kesu: ${UNSUPPORTED_STEPS[tag]}`;
  }
  if (node.isForCompensation || definitions.includes('bpmn:CompensateEventDefinition')) { return COMPENSATION; }
  if (definitions.includes('bpmn:LinkEventDefinition')) { return LINK; }
  const untriggered = tag === 'boundaryEvent' && !definitions.some((type) => BOUNDARY_TRIGGERS.includes(type));
  return untriggered ? UNTRIGGERED_BOUNDARY : null;
}

/** Elements SpiffWorkflow would refuse, skip silently, or Kesu would wait on for ever. */
export const supportedElements = rule((node, reporter) => {
  if (is(node, 'bpmn:FlowNode') && inExecutableProcess(node)) {
    const message = unsupported(node);
    if (message) { reporter.report(node.id, message); }
  }
});

/** User tasks must be offered to a group of this company, to people, or to an assignee. */
export function userTaskOffered(groups) {
  const known = new Set(groups);
  return rule((node, reporter) => {
    if (!is(node, 'bpmn:UserTask') || !inExecutableProcess(node)) { return; }
    const { groups, users, assignee, offered } = assignment(node);
    const dynamic = [...groups, ...users, assignee].some(isExpression);
    if (!offered.length && !users.length && !assignee) {
      reporter.report(node.id, 'this user task is offered to nobody: name candidate groups or users, '
        + 'or put it in a lane named like a group');
    } else if (offered.length && !offered.some((group) => known.has(group)) && !users.length && !dynamic) {
      reporter.report(node.id, `no group of this company is called ${offered.join(', ')}`);
    }
  });
}

function gatewayProblems(graph) {
  return graph.flows.filter((flow) => CONDITIONAL_GATEWAYS.includes(graph.kinds.get(flow.source))
    && graph.outgoing.get(flow.source).length > 1 && !flow.conditional && graph.defaults.get(flow.source) !== flow.id)
    .map((flow) => [flow.id, `this flow leaves gateway ${graph.label(flow.source)} without a condition: `
      + "add a condition or make it the gateway's default flow"]);
}

function reachabilityProblems(graph) {
  const reached = closure([graph.root], (node) => graph.successors(node));
  return [...graph.kinds].filter(([node, tag]) => tag === 'userTask' && !reached.has(node))
    .map(([node]) => [node, 'this user task can never be reached from a start event: connect a sequence flow to it']);
}

function deadEndProblems(graph) {
  const predecessors = (node) => graph.predecessors(node);
  const nodes = [...graph.kinds.keys()].filter((node) => graph.kinds.get(node) !== 'endEvent'
    && !graph.eventSubprocesses.has(node));
  const deadEnds = new Set(nodes.filter((node) => !(graph.outgoing.get(node) || []).length));
  const ends = [...graph.kinds].filter(([, tag]) => tag === 'endEvent').map(([node]) => node);
  const finishing = closure(ends, predecessors);
  const leadingToDeadEnds = closure(deadEnds, predecessors);
  const looping = loops(new Set(nodes.filter((node) => !finishing.has(node) && !leadingToDeadEnds.has(node))), graph);
  return nodes.flatMap((node) => {
    const what = kind(graph.kinds.get(node));
    if (deadEnds.has(node)) {
      return [[node, `nothing follows this ${what}: connect it to the next step or to an end event`]];
    }
    if (looping.has(node)) {
      return [[node, `no end event can be reached from this ${what}: give the loop a way out to an end event`]];
    }
    return [];
  });
}

/** How tokens flow: deciding gateways' flows, user tasks nobody reaches, dead ends and loops without a way out. */
export const flowRules = rule((node, reporter) => {
  if (!is(node, 'bpmn:Process') || !node.isExecutable) { return; }
  const graph = readGraph(node);
  [...gatewayProblems(graph), ...reachabilityProblems(graph), ...deadEndProblems(graph)]
    .forEach(([element, message]) => reporter.report(element, message));
});
