// Compare two versions of a procedure: both drawn side by side with their viewboxes kept together, elements
// coloured by what happened to them, and a list of the changes that centres the element on both sides.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { is } from 'bpmn-js/lib/util/ModelUtil';
import { isExpanded } from 'bpmn-js/lib/util/DiUtil';
import { getBBox } from 'diagram-js/lib/util/Elements';
import MinimapModule from 'diagram-js-minimap';
import 'diagram-js-minimap/assets/diagram-js-minimap.css';
import { KINDS, compare } from './diff/changes';
import { MODDLE_EXTENSIONS, displayName, parse, translateNames } from './diff/names';
import { FALLBACK_TEXTS, typeName } from './diff/words';
import { loadWords, translateModule } from './i18n/catalog';
import './export';
import './diff/diff.css';

const config = JSON.parse(document.getElementById('diff-config').textContent);
const texts = { ...FALLBACK_TEXTS, ...config.texts };
const page = document.getElementById('diff');
const list = document.getElementById('diff-changes');
const SIDES = ['old', 'new'];
const SHOWN_ON = { old: ['removed', 'changed', 'layout'], new: ['added', 'changed', 'layout'] };
const READABLE_SCALE = 1;
const OVERVIEW_SCALE = 0.6; // below this names cannot be read: start on the changes instead

// One minimap is enough: the sides move together.
const EXTRAS = { old: [], new: [MinimapModule] };
let viewers; // made once the page's words are loaded

/** The two viewers, in the page's language. */
function makeViewers(words) {
  viewers = Object.fromEntries(SIDES.map((side) => [side, new NavigatedViewer({
    container: `#diff-${side}`, moddleExtensions: MODDLE_EXTENSIONS,
    additionalModules: [translateModule(words), ...EXTRAS[side]],
  })]));
  window.kesuDiff = viewers; // for the browser tests
}

async function load(side) {
  const response = await fetch(config[side].url, { credentials: 'same-origin' });
  if (!response.ok) { throw new Error(`${config[side].label}: ${response.status} ${response.statusText}`); }
  return parse(viewers[side], await response.text());
}

/** Pools, lanes and open sub-processes are outlined only: filling them would hide what they contain. */
function isContainer(shape) {
  return is(shape, 'bpmn:Participant') || is(shape, 'bpmn:Lane') || (is(shape, 'bpmn:SubProcess') && isExpanded(shape));
}

function mark(side, changes) {
  const canvas = viewers[side].get('canvas');
  const registry = viewers[side].get('elementRegistry');
  changes.filter((change) => SHOWN_ON[side].includes(change.kind)).forEach((change) => {
    const shape = registry.get(change.id);
    if (!shape) { return; }
    canvas.addMarker(shape, `diff-${change.kind}`);
    if (isContainer(shape)) { canvas.addMarker(shape, 'diff-container'); }
  });
}

/** Panning or zooming one side moves the other the same way: both diagrams share one coordinate space. */
function syncViewboxes() {
  let following = false;
  SIDES.forEach((side) => {
    const other = viewers[side === 'old' ? 'new' : 'old'];
    viewers[side].on('canvas.viewbox.changed', ({ viewbox }) => {
      if (following) { return; }
      following = true;
      other.get('canvas').viewbox({ x: viewbox.x, y: viewbox.y, width: viewbox.width, height: viewbox.height });
      following = false;
    });
  });
}

/** Show the middle of a diagram box in the middle of the panes at a scale (the old side follows the new). */
function centreAt(box, scale) {
  const canvas = viewers.new.get('canvas');
  const { outer } = canvas.viewbox();
  const width = outer.width / scale;
  const height = outer.height / scale;
  canvas.viewbox({ x: box.x + box.width / 2 - width / 2, y: box.y + box.height / 2 - height / 2, width, height });
}

function fitScale(box) {
  const { outer } = viewers.new.get('canvas').viewbox();
  return Math.min(outer.width / box.width, outer.height / box.height) * 0.95;
}

function shapesOf(id) {
  return SIDES.map((side) => viewers[side].get('elementRegistry').get(id)).filter(Boolean);
}

/** Both whole diagrams if they are readable in the pane, else the changed part at a readable size. */
function startView(changes) {
  const whole = getBBox(SIDES.map((side) => viewers[side].get('canvas').viewbox().inner));
  const changed = changes.flatMap((change) => shapesOf(change.id));
  if (fitScale(whole) >= OVERVIEW_SCALE || !changed.length) {
    centreAt(whole, Math.min(fitScale(whole), READABLE_SCALE));
    return;
  }
  const box = getBBox(changed);
  centreAt(box, Math.min(Math.max(fitScale(box), OVERVIEW_SCALE), READABLE_SCALE));
}

/** Highlight one element on both sides and bring it to the middle at a readable size. */
function focus(id) {
  SIDES.forEach((side) => {
    const canvas = viewers[side].get('canvas');
    viewers[side].get('elementRegistry').forEach((shape) => canvas.removeMarker(shape, 'diff-focus'));
    const shape = viewers[side].get('elementRegistry').get(id);
    if (shape) { canvas.addMarker(shape, 'diff-focus'); }
  });
  const [shape] = shapesOf(id).reverse(); // where it is now, or where it was if it was removed
  if (shape) { centreAt(getBBox(shape), Math.max(viewers.new.get('canvas').zoom(), READABLE_SCALE)); }
  list.querySelectorAll('.change.current').forEach((item) => item.classList.remove('current'));
  list.querySelectorAll(`.change[data-element="${CSS.escape(id)}"]`).forEach((item) => item.classList.add('current'));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

/** "old → new" for one attribute; long values (scripts, expressions) are cut, the full text is in the tooltip. */
function attributeLine({ path, old, new: current }) {
  const line = element('li');
  const value = (text, className) => {
    const node = element('span', `value ${className}`, text === undefined ? '—' : text);
    if (text !== undefined) { node.title = text; }
    return node;
  };
  line.append(element('code', 'path', path), value(old, 'old'), element('span', 'arrow', '→'), value(current, 'new'));
  return line;
}

function changeItem(change) {
  const item = element('li', `change change-${change.kind}`);
  item.dataset.element = change.id;
  item.tabIndex = 0;
  const head = element('div', 'change-head');
  const name = displayName(change.element, config.locale);
  const type = typeName(change.element.$type, viewers.new.get('translate'));
  head.append(element('strong', null, name), element('span', 'muted', type));
  if (name !== change.id) { head.append(element('code', null, change.id)); }
  item.append(head);
  if (change.attrs.length) {
    const attrs = element('ul', 'attrs');
    attrs.append(...change.attrs.map(attributeLine));
    item.append(attrs);
  }
  item.addEventListener('click', () => focus(change.id));
  item.addEventListener('keydown', (event) => { if (event.key === 'Enter') { focus(change.id); } });
  return item;
}

function byName(a, b) {
  return displayName(a.element, config.locale).localeCompare(displayName(b.element, config.locale));
}

function changeGroup({ kind, group }) {
  const section = element('section', `change-group group-${kind}`);
  const title = element('h3');
  title.append(element('span', `key ${kind}`), `${texts[kind]} `, element('span', 'count', String(group.length)));
  const items = element('ul', 'changes');
  items.append(...group.map(changeItem));
  section.append(title, items);
  return section;
}

function showList(changes) {
  const groups = KINDS.map((kind) => ({ kind, group: changes.filter((change) => change.kind === kind).sort(byName) }))
    .filter(({ group }) => group.length);
  list.replaceChildren(...(groups.length ? groups.map(changeGroup) : [element('p', 'empty-state', texts.no_differences)]));
}

async function show() {
  makeViewers(await loadWords());
  const parsed = await Promise.all(SIDES.map(load));
  const changes = compare(...parsed);
  await Promise.all(SIDES.map((side, index) => {
    translateNames(parsed[index].elementsById, config.locale); // after comparing: the list shows real old → new
    return viewers[side].importDefinitions(parsed[index].rootElement);
  }));
  SIDES.forEach((side) => mark(side, changes));
  syncViewboxes();
  startView(changes);
  showList(changes);
  page.dataset.changes = String(changes.length);
  page.dataset.ready = 'true';
}

show().catch((error) => {
  page.dataset.ready = 'error';
  list.replaceChildren(element('p', 'flash flash-error', `${texts.diagrams_not_loaded} ${error.message || error}`));
});
