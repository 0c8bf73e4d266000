// What changed between two versions: bpmn-js-differ classifies the elements (added, removed, changed,
// layout only); the attribute details are read from both versions here, because the differ reports nested
// changes (form fields, conditions, timers, translations) without their values and swaps old and new.
import { diff } from 'bpmn-js-differ';

export const KINDS = ['added', 'removed', 'changed', 'layout'];

// Properties that hold other diagram elements or their connections: those elements are diffed on their own.
const ELEMENT_HOLDERS = new Set(['flowElements', 'laneSets', 'childLaneSet', 'artifacts', 'participants',
  'messageFlows', 'rootElements', 'diagrams', 'lanes']);
// Wrappers that add nothing a reader needs to the path of a nested attribute.
const SILENT = new Set(['extensionElements', 'values', 'eventDefinitions', 'fields', 'body']);

function descriptorProperties(element) {
  const descriptor = element.$descriptor;
  if (descriptor.isGeneric) {
    return Object.keys(element).filter((name) => !name.startsWith('$')).map((name) => ({ name }));
  }
  return descriptor.properties.filter((p) => !p.isVirtual && !(p.isMany && p.isReference)
    && !ELEMENT_HOLDERS.has(p.name));
}

function localType(element) {
  const local = element.$type.split(':').pop();
  return local.charAt(0).toLowerCase() + local.slice(1);
}

/** A readable path segment for one of several nested elements: its type and its id, name or position. */
function itemSegment(item, items) {
  const twins = items.filter((other) => other && other.$type === item.$type);
  const key = item.id || item.name || (twins.length > 1 ? String(twins.indexOf(item) + 1) : '');
  return key ? `${localType(item)} ${key}` : localType(item);
}

function join(path, segment) {
  return segment ? path.concat(segment) : path;
}

/** Every attribute of an element, nested ones included, as "path › to › attr" → text. */
function flatten(element, path = [], out = {}) {
  descriptorProperties(element).forEach((property) => {
    const value = element[property.name];
    if (value === undefined || value === null || value === '') { return; }
    const here = join(path, SILENT.has(property.name) ? null : property.name);
    if (property.isReference) {
      out[here.join(' › ')] = value.id;
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        if (item && item.$type) { flatten(item, join(here, itemSegment(item, value)), out); }
        else { out[join(here, String(index + 1)).join(' › ')] = String(item); }
      });
    } else if (value.$type) {
      flatten(value, here, out);
    } else {
      out[here.join(' › ')] = String(value);
    }
  });
  Object.entries(element.$attrs || {}).filter(([name]) => !name.startsWith('xmlns'))
    .forEach(([name, value]) => { out[join(path, name).join(' › ')] = String(value); });
  return out;
}

/** A participant's process is part of what the participant stands for in the drawing. */
function attributes(element) {
  const own = flatten(element);
  own.type = element.$type;
  if (element.$type === 'bpmn:Participant' && element.processRef) { flatten(element.processRef, ['process'], own); }
  return own;
}

/** Which attributes differ between two versions of one element, old and new value each (undefined: absent). */
export function attributeChanges(before, after) {
  const old = attributes(before);
  const current = attributes(after);
  const paths = [...new Set([...Object.keys(old), ...Object.keys(current)])];
  return paths.filter((path) => old[path] !== current[path])
    .map((path) => ({ path, old: old[path], new: current[path] }));
}

/**
 * The changes between two parsed versions, one entry per element: {kind, id, element, attrs}.
 * `element` is the new version's element except for removed ones; layout means moved or resized only.
 */
export function compare(oldParsed, newParsed) {
  const found = diff(oldParsed.rootElement, newParsed.rootElement);
  const semantic = new Set([...Object.keys(found._added), ...Object.keys(found._removed),
    ...Object.keys(found._changed)]);
  const entry = (kind, id) => {
    const before = oldParsed.elementsById[id];
    const after = newParsed.elementsById[id];
    const attrs = kind === 'changed' && before && after ? attributeChanges(before, after) : [];
    return { kind, id, element: after || before, attrs };
  };
  return [
    ...Object.keys(found._added).map((id) => entry('added', id)),
    ...Object.keys(found._removed).map((id) => entry('removed', id)),
    ...Object.keys(found._changed).map((id) => entry('changed', id)),
    ...Object.keys(found._layoutChanged).filter((id) => !semantic.has(id)).map((id) => entry('layout', id)),
  ].filter((change) => change.element);
}
