// Runs the modeler's live lint (the page's own bpmnlint config, static/src/modeler/lint.js) over the corpus and
// prints as JSON the Kesu rules it ran and each diagram's findings: {rules, findings: {"<diagram>": [[rule, element,
// message], ...]}}. Bundled by esbuild for
// node (the rules use the browser bundle's extensionless imports); tests/test_lint_corpus.py runs it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpmnModdle } from 'bpmn-moddle';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { Linter } from 'bpmnlint';

import lintConfig from '../../static/src/modeler/lint';

async function findings(linter, moddle, xml) {
  const { rootElement } = await moddle.fromXML(xml, 'bpmn:Definitions');
  const results = await linter.lint(rootElement);
  return Object.entries(results).filter(([rule]) => rule.startsWith('kesu/'))
    .flatMap(([rule, reports]) => reports.map((report) => [rule, report.id, report.message]));
}

async function main([directory, groups]) {
  const config = lintConfig(JSON.parse(groups));
  const linter = new Linter(config);
  const moddle = new BpmnModdle({ camunda: camundaModdle });
  const names = readdirSync(directory).filter((name) => name.endsWith('.bpmn')).sort();
  const found = {};
  for (const name of names) {
    found[name.replace(/\.bpmn$/, '')] = await findings(linter, moddle, readFileSync(join(directory, name), 'utf8'));
  }
  const rules = Object.keys(config.config.rules).filter((rule) => rule.startsWith('kesu/'));
  process.stdout.write(JSON.stringify({ rules, findings: found }));
}

main(process.argv.slice(2)).catch((error) => { process.stderr.write(`${error.stack}\n`); process.exit(1); });
