// Kesu's modeler page: bpmn-js with the Camunda properties panel; "Check and publish" sends the diagram
// to the server, which runs the same checks as the API and lists problems by element.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';

const page = document.getElementById('modeler');
const problemList = document.getElementById('problems');
const status = document.getElementById('publish-status');

const modeler = new BpmnModeler({
  container: '#canvas',
  keyboard: { bindTo: document },
  propertiesPanel: { parent: '#properties' },
  additionalModules: [
    BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule,
    CamundaBehaviorsModule,
  ],
  moddleExtensions: { camunda: camundaModdle },
});
window.kesuModeler = modeler; // for the browser tests

function select(elementId) {
  const element = modeler.get('elementRegistry').get(elementId);
  if (element) { modeler.get('selection').select(element); modeler.get('canvas').scrollToElement(element); }
}

function showProblems(problems) {
  const canvas = modeler.get('canvas');
  modeler.get('elementRegistry').forEach((element) => canvas.removeMarker(element, 'kesu-problem'));
  problemList.replaceChildren(...problems.map(({ element, message }) => {
    const item = document.createElement('li');
    if (element) {
      const link = document.createElement('a');
      link.href = '#'; link.textContent = element; link.dataset.element = element;
      link.addEventListener('click', (event) => { event.preventDefault(); select(element); });
      item.append(link, ' ');
      if (modeler.get('elementRegistry').get(element)) { canvas.addMarker(element, 'kesu-problem'); }
    }
    item.append(message);
    return item;
  }));
}

async function publish() {
  const { xml } = await modeler.saveXML({ format: true });
  const response = await fetch(page.dataset.publish, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': page.dataset.csrf },
    body: JSON.stringify({ xml, note: document.getElementById('note').value }),
  });
  const answer = await response.json();
  status.textContent = answer.message;
  status.className = response.ok ? 'flash flash-success' : 'flash flash-error';
  showProblems(answer.errors || []);
}

fetch(page.dataset.src, { credentials: 'same-origin' })
  .then((response) => response.text())
  .then((xml) => modeler.importXML(xml))
  .then(() => { modeler.get('canvas').zoom('fit-viewport'); page.dataset.ready = 'true'; })
  .catch((error) => { page.dataset.ready = 'error'; status.textContent = String(error); });

document.getElementById('publish').addEventListener('click', () => { publish().catch((e) => { status.textContent = String(e); }); });
