// The decision-table editor: dmn-js opened on the table (the requirements diagram one tab away), in the page's
// language; "Check and publish" sends the DMN to the server, which lists problems by rule or column.
import DmnModeler from 'dmn-js/lib/Modeler';
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn-embedded.css';
import { FALLBACK_TEXTS } from './decisions/words';
import { loadWords, translateModule } from './i18n/catalog';
import './decisions/decisions.css';

const config = JSON.parse(document.getElementById('decisions-config').textContent);
const texts = { ...FALLBACK_TEXTS, ...config.texts };
const page = document.getElementById('decisions');
const canvas = document.getElementById('dmn-canvas');
const tabs = document.getElementById('decision-views');
const status = document.getElementById('publish-status');
const problemList = document.getElementById('problems');

let modeler; // made once the page's words are loaded

/** dmn-js in the page's language, its views listed as tabs. */
function makeModeler(words) {
  const inLanguage = { additionalModules: [translateModule(words)] };
  modeler = new DmnModeler({
    container: canvas,
    drd: inLanguage, decisionTable: inLanguage, literalExpression: inLanguage, boxedExpression: inLanguage,
  });
  window.kesuDecisions = modeler; // for the browser tests
  modeler.on('views.changed', showTabs);
}

function sameView(a, b) {
  return Boolean(a && b) && a.type === b.type && a.element === b.element;
}

/** One tab per view dmn-js offers: the requirements diagram and each decision. */
function showTabs() {
  const active = modeler.getActiveView();
  tabs.replaceChildren(...modeler.getViews().map((view) => {
    const tab = document.createElement('a');
    tab.href = '#';
    tab.textContent = view.type === 'drd' ? texts.drd : (view.name || view.id);
    tab.dataset.view = view.type;
    if (sameView(view, active)) { tab.className = 'active'; tab.setAttribute('aria-current', 'page'); }
    tab.addEventListener('click', (event) => { event.preventDefault(); modeler.open(view); });
    return tab;
  }));
}

/** The table the page is for (its decision's id is the key), else the first decision table. */
function tableView() {
  const tables = modeler.getViews().filter((view) => view.type === 'decisionTable');
  return tables.find((view) => view.element.id === config.key) || tables[0];
}

/** Every id inside a decision table: rules, columns and cells are what the server's problems point at. */
function idsIn(table) {
  const inputs = table.input || [];
  const rules = table.rule || [];
  return [table, ...inputs, ...inputs.map((input) => input.inputExpression), ...(table.output || []), ...rules,
    ...rules.flatMap((rule) => [...(rule.inputEntry || []), ...(rule.outputEntry || [])])]
    .filter(Boolean).map((element) => element.id);
}

function viewHolding(id) {
  return modeler.getViews().find((view) => view.element.id === id
    || (view.type === 'decisionTable' && idsIn(view.element.decisionLogic).includes(id)));
}

/** Outline the cells, rows or columns of the problems the open view shows; scroll to `focus`. */
function outline(ids, focus) {
  canvas.querySelectorAll('.kesu-problem').forEach((node) => node.classList.remove('kesu-problem'));
  ids.forEach((id) => {
    const key = CSS.escape(id);
    const nodes = canvas.querySelectorAll(`[data-element-id="${key}"], [data-row-id="${key}"], [data-col-id="${key}"]`);
    nodes.forEach((node) => node.classList.add('kesu-problem'));
    if (id === focus && nodes.length) { nodes[0].scrollIntoView({ block: 'nearest', inline: 'nearest' }); }
  });
}

async function reveal(id, ids) {
  const view = viewHolding(id);
  if (view && !sameView(view, modeler.getActiveView())) { await modeler.open(view); }
  outline(ids, id);
}

function showProblems(problems) {
  const ids = problems.map((problem) => problem.element).filter(Boolean);
  problemList.replaceChildren(...problems.map(({ element, message }) => {
    const item = document.createElement('li');
    if (element) {
      const link = document.createElement('a');
      link.href = '#';
      link.textContent = element;
      link.dataset.element = element;
      link.addEventListener('click', (event) => { event.preventDefault(); reveal(element, ids); });
      item.append(link, ' ');
    }
    item.append(message);
    return item;
  }));
  outline(ids);
}

function say(kind, ...content) {
  status.className = `flash flash-${kind}`;
  status.replaceChildren(...content);
}

/** The server's sentence names the new version and the procedure versions that now use it. */
function published(answer) {
  const link = document.createElement('a');
  link.href = config.urls.list;
  link.textContent = texts.view_versions;
  say('success', answer.message, ' ', link);
  document.getElementById('note').value = '';
  page.dataset.version = String(answer.version);
}

async function publish() {
  say('info', texts.checking);
  const { xml } = await modeler.saveXML({ format: true });
  let response;
  try {
    response = await fetch(config.urls.publish, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrf },
      body: JSON.stringify({ xml, note: document.getElementById('note').value }),
    });
  } catch (error) {
    say('error', texts.network_error);
    return;
  }
  const answer = await response.json().catch(() => ({ message: `${response.status} ${response.statusText}` }));
  showProblems(answer.errors || []);
  if (response.status === 201) { published(answer); } else { say('error', answer.message || texts.not_published); }
}

loadWords().then(makeModeler)
  .then(() => fetch(config.source_url, { credentials: 'same-origin' }))
  .then((response) => {
    if (!response.ok) { throw new Error(`${response.status} ${response.statusText}`); }
    return response.text();
  })
  .then((xml) => modeler.importXML(xml))
  .then(() => {
    const view = tableView();
    return view && !sameView(view, modeler.getActiveView()) ? modeler.open(view) : undefined;
  })
  .then(() => { page.dataset.ready = 'true'; })
  .catch((error) => { page.dataset.ready = 'error'; say('error', `${texts.table_not_loaded} ${error.message || error}`); });

document.getElementById('publish').addEventListener('click', () => {
  publish().catch((error) => say('error', String(error)));
});
