// Kesu's problem list under the canvas: the live lint's issues and the server's last check, merged into one
// list (one line where both say the same thing), each naming its element; a click selects and shows it.
const MARKER = 'kesu-problem';
const SEVERITY = { error: 'error', warn: 'warning', warning: 'warning', info: 'info' };

function key(problem) {
  return `${problem.element}\n${problem.message}`;
}

function lintProblems(issues) {
  return Object.values(issues || {}).flat().map((report) => ({
    element: report.actualElementId || report.id, message: report.message,
    severity: SEVERITY[report.category] || 'error', rule: report.rule,
  }));
}

export default class ProblemList {
  constructor(modeler, { list, count, translate, texts }) {
    this.modeler = modeler;
    this.list = list;
    this.count = count;
    this.translate = translate;
    this.texts = texts;
    this.lint = [];
    this.server = [];
  }

  /** Take the issues bpmn-js-bpmnlint found (its `linting.completed` event). */
  setLint(issues) {
    this.lint = lintProblems(issues);
    this.render();
  }

  /** Take the server's problems ({element, message}), replacing those of its previous answer. */
  setServer(errors) {
    this.server = (errors || []).map(({ element, message }) => ({ element, message, severity: 'error' }));
    this.render();
  }

  /** Lint and server problems without repeats, errors first. */
  merged() {
    const seen = new Set();
    return [...this.lint, ...this.server]
      .filter((problem) => !seen.has(key(problem)) && seen.add(key(problem)))
      .sort((a, b) => (a.severity === 'error' ? 0 : 1) - (b.severity === 'error' ? 0 : 1));
  }

  render() {
    const problems = this.merged();
    this.markServerProblems();
    const none = Object.assign(document.createElement('li'),
      { className: 'problem-none', textContent: this.texts.no_problems });
    this.list.replaceChildren(...(problems.length ? problems.map((problem) => this.item(problem)) : [none]));
    this.count.textContent = String(problems.length);
    this.count.hidden = !problems.length;
    this.count.classList.toggle('has-errors', problems.some((problem) => problem.severity === 'error'));
  }

  /** Lint marks its own elements; the server's problems get Kesu's red outline. */
  markServerProblems() {
    const canvas = this.modeler.get('canvas');
    const registry = this.modeler.get('elementRegistry');
    registry.forEach((element) => canvas.removeMarker(element, MARKER));
    this.server.filter(({ element }) => element && registry.get(element))
      .forEach(({ element }) => canvas.addMarker(element, MARKER));
  }

  /** One line: the element's name as a link to it, then the message in the page's language. */
  item({ element, message, severity, rule }) {
    const item = document.createElement('li');
    item.className = `problem problem-${severity}`;
    const shape = element && this.modeler.get('elementRegistry').get(element);
    if (shape && shape !== this.modeler.get('canvas').getRootElement()) {
      const link = Object.assign(document.createElement('a'),
        { href: '#', textContent: shape.businessObject.name || element });
      link.dataset.element = element;
      link.title = element;
      link.addEventListener('click', (event) => { event.preventDefault(); this.select(shape); });
      item.append(link, ' ');
    }
    item.append(this.translate(message));
    if (rule) {
      item.append(' ', Object.assign(document.createElement('span'), { className: 'rule', textContent: rule }));
    }
    return item;
  }

  /** Select the element and scroll it into view, so the owner sees what the problem is about. */
  select(shape) {
    this.modeler.get('selection').select(shape);
    this.modeler.get('canvas').scrollToElement(shape);
  }
}
