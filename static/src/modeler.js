// Kesu's modeler page: bpmn-js with the Camunda properties panel and Kesu's pickers, live lint and the server's
// checks in one problem list, shared drafts, publishing, test runs, token simulation and image export, in the
// page's language (its words from #kesu-words). The page config (#modeler-config) says where to load and save and
// what owners pick from.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import LintModule from 'bpmn-js-bpmnlint';
import MinimapModule from 'diagram-js-minimap';
import TokenSimulationModule from 'bpmn-js-token-simulation';

import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import 'diagram-js-minimap/assets/diagram-js-minimap.css';
import 'bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css';
import './modeler/modeler.css';

import Actions from './modeler/actions';
import { bindHistory, bindShortcuts, bindZoom, warnBeforeLeaving } from './modeler/controls';
import { loadWords, translateModule } from './i18n/catalog';
import { translateTokenSimulation } from './modeler/i18n';
import { exportPNG, exportSVG } from './modeler/image-export';
import lintConfig from './modeler/lint';
import ProblemList from './modeler/problems';
import kesuPropertiesModule from './modeler/properties';
import Status from './modeler/status';

// English words for any the page config does not carry yet (the server sends them translated).
const TEXTS = {
  no_problems: 'No problems found.',
  saving: 'Saving…',
  saved: 'Saved.',
  checking: 'Checking…',
  published: 'Published.',
  view_versions: 'See the versions',
  not_published: 'The diagram was not published:',
  test_run_refused: 'The test run could not start:',
  network_error: 'The server could not be reached; nothing was lost, try again.',
  load_theirs: 'Load their version',
  download_mine: 'Download my version',
};

const config = JSON.parse(document.getElementById('modeler-config').textContent);
const texts = { ...TEXTS, ...config.texts };
const page = document.getElementById('modeler');
const status = new Status(document.getElementById('publish-status'));

function run(action) {
  return () => action().catch((error) => status.show(String(error), 'error'));
}

/** Build the modeler in the page's language and open the diagram. */
function start(words) {
  const modeler = new BpmnModeler({
    container: '#canvas',
    propertiesPanel: { parent: '#properties' },
    linting: { active: true, bpmnlint: lintConfig(config.groups.map((group) => group.name)) },
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule, kesuPropertiesModule(config), LintModule, MinimapModule, TokenSimulationModule,
      translateModule(words),
    ],
    moddleExtensions: { camunda: camundaModdle },
  });
  window.kesuModeler = modeler; // for the browser tests

  const translate = modeler.get('translate');
  const problems = new ProblemList(modeler, {
    list: document.getElementById('problems'), count: document.getElementById('problem-count'), translate, texts,
  });
  const actions = new Actions({
    modeler, config, texts, status, problems, checkState: document.getElementById('check-state'),
    onDirty: (dirty) => { document.getElementById('unsaved').hidden = !dirty; },
  });
  modeler.on('linting.completed', ({ issues }) => problems.setLint(issues));

  const save = run(() => actions.save());
  document.getElementById('save-draft').addEventListener('click', save);
  const note = document.getElementById('note');
  document.getElementById('publish').addEventListener('click', run(() => actions.publish(note.value)));
  document.getElementById('test-run').addEventListener('click', run(() => actions.testRun()));
  document.getElementById('export-svg').addEventListener('click', run(() => exportSVG(modeler, config.key)));
  document.getElementById('export-png').addEventListener('click', run(() => exportPNG(modeler, config.key)));
  translateTokenSimulation(modeler, translate);
  bindHistory(modeler);
  bindZoom(modeler);
  bindShortcuts(modeler, save);
  warnBeforeLeaving(() => actions.dirty);
  return actions.open(config.source_url, config.revision);
}

loadWords().then(start)
  .then(() => { page.dataset.ready = 'true'; })
  .catch((error) => { page.dataset.ready = 'error'; status.show(String(error), 'error'); });
