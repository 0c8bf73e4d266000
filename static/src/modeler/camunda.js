// Reading the Camunda vocabulary Kesu runs on (candidateGroups, candidateUsers, assignee) the way
// the server's parser reads it, so the lint rules and the pickers agree with what publishing will check.
import { is } from 'bpmnlint-utils';

export const FIELD_TYPES = ['string', 'long', 'boolean', 'date', 'enum'];

/** A comma-separated attribute as a list, blanks dropped (engine/repository/specs.py `_split`). */
export function splitList(value) {
  return (value || '').split(',').map((part) => part.trim()).filter(Boolean);
}

function processOf(element) {
  let node = element.$parent;
  while (node && !is(node, 'bpmn:Process')) { node = node.$parent; }
  return node;
}

function lanesOf(laneSets) {
  return (laneSets || []).flatMap((set) => (set.lanes || []).flatMap((lane) => [
    lane, ...lanesOf(lane.childLaneSet ? [lane.childLaneSet] : [])]));
}

/** The name of the first lane (in document order) holding the element, as SpiffWorkflow picks it. */
export function laneName(element) {
  const process = processOf(element);
  const lane = process && lanesOf(process.laneSets).find((l) => (l.flowNodeRef || []).includes(element));
  return lane ? lane.name || '' : null;
}

/** `${...}`: a name worked out from the case's data when the task opens (engine/runtime/assignment.py `expression_of`). */
export function isExpression(item) {
  return /^\s*\$\{.+\}\s*$/s.test(item || '');
}

/** The user task's assignment as the server reads it: who it names, and which groups it is offered to. */
export function assignment(task) {
  const groups = splitList(task.get('camunda:candidateGroups'));
  const users = splitList(task.get('camunda:candidateUsers'));
  const assignee = (task.get('camunda:assignee') || '').trim();
  const named = groups.length || users.length || assignee;
  const lane = named ? null : laneName(task);
  return { groups, users, assignee, offered: named ? groups : [lane].filter(Boolean) };
}
