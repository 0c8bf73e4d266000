// The replay page's stepper: every step is in the page (#replay-steps), so moving between steps re-marks the
// diagram without asking the server. The step number is kept in the URL (?step=N) so a step can be linked.
(function () {
  const root = document.getElementById('replay');
  if (!root || !window.KesuDiagram) { return; }
  const payload = JSON.parse(document.getElementById('replay-steps').textContent);
  const texts = JSON.parse(document.getElementById('replay-texts').textContent);
  const steps = payload.steps;
  const slider = document.getElementById('replay-slider');
  const timeline = document.getElementById('replay-timeline');
  const viewer = new window.BpmnJS({ container: document.getElementById('replay-diagram') });
  let shownVersion = null;
  let current = Number(root.dataset.step);

  // Counts of each element run and each flow taken in steps 1..n.
  function tally(n, key) {
    const counts = {};
    steps.slice(0, n).forEach((step) => step[key].forEach((id) => { counts[id] = (counts[id] || 0) + 1; }));
    return counts;
  }

  // The case's data after step n, and the value each field had before it.
  function dataAt(n) {
    const data = {};
    steps.slice(0, n).forEach((step) => Object.entries(step.changes).forEach(([key, change]) => {
      data[key] = change.to;
    }));
    return data;
  }

  function shown(value) {
    if (value === true) { return texts.yes; }
    if (value === false) { return texts.no; }
    if (value === null || value === undefined || value === '') { return '—'; }
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function row(field, values, className) {
    const tr = document.createElement('tr');
    tr.dataset.field = field;
    if (className) { tr.className = className; }
    tr.append(cell(payload.labels[field] || field), ...values.map((value) => cell(shown(value))));
    return tr;
  }

  // What step n changed (before and after), and all the data after it, changed fields first.
  function showData(n) {
    const changes = steps[n - 1].changes;
    const changed = Object.keys(changes).sort();
    const list = document.getElementById('replay-changes');
    list.replaceChildren(...changed.map((key) => row(key, [changes[key].from, changes[key].to], 'changed')));
    if (!changed.length) {
      const empty = cell(texts.nothing, 'muted');
      empty.colSpan = 3;
      list.append(empty);
    }
    const data = dataAt(n);
    const rest = Object.keys(data).filter((key) => !(key in changes)).sort();
    document.getElementById('replay-data').replaceChildren(
      ...changed.map((key) => row(key, [data[key]], 'changed')), ...rest.map((key) => row(key, [data[key]])));
  }

  function showStepText(n) {
    const item = document.getElementById('step-' + n);
    timeline.querySelectorAll('li.current').forEach((li) => li.classList.remove('current'));
    item.classList.add('current');
    const copy = item.cloneNode(true);
    copy.removeAttribute('id');
    document.getElementById('replay-current').replaceChildren(...copy.childNodes);
    root.querySelector('.not-reproduced').hidden = steps[n - 1].reproduced;
  }

  function mark(n) {
    const step = steps[n - 1];
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const overlays = viewer.get('overlays');
    const ran = tally(n, 'ran');
    const flows = tally(n, 'flows');
    const marks = {};
    const add = (id, css) => { if (registry.get(id)) { (marks[id] = marks[id] || []).push(css); } };
    Object.keys(ran).forEach((id) => add(id, 'kesu-done'));
    Object.keys(flows).forEach((id) => add(id, 'kesu-flow'));
    step.ran.forEach((id) => add(id, 'kesu-current'));
    step.flows.forEach((id) => add(id, 'kesu-flow-current'));
    step.active.forEach((id) => add(id, 'kesu-active'));
    registry.getAll().forEach((element) => {
      ['kesu-done', 'kesu-flow', 'kesu-current', 'kesu-flow-current', 'kesu-active'].forEach((css) => {
        canvas.removeMarker(element.id, css);
      });
    });
    Object.entries(marks).forEach(([id, list]) => list.forEach((css) => canvas.addMarker(id, css)));
    overlays.remove({ type: 'kesu-count' });
    Object.entries(ran).filter(([id, count]) => count > 1 && registry.get(id)).forEach(([id, count]) => {
      const badge = document.createElement('span');
      badge.className = 'kesu-count';
      badge.dataset.element = id;
      badge.textContent = '×' + count;
      overlays.add(id, 'kesu-count', { position: { top: -10, right: 10 }, html: badge });
    });
    const diagram = document.getElementById('replay-diagram');
    diagram.dataset.active = step.active.join(' ');
    diagram.dataset.current = step.ran.join(' ');
  }

  // Keep what the step did in sight: a newly loaded diagram opens readable around it; later steps move the
  // view only when their element is out of it, at the zoom the auditor chose.
  function follow(n, fresh) {
    const step = steps[n - 1];
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const focus = step.active.concat(step.ran.slice().reverse()).map((id) => registry.get(id))
      .find((element) => element && !element.waypoints);
    if (!focus) { return; }
    const box = canvas.viewbox();
    const inside = focus.x >= box.x && focus.y >= box.y && focus.x + focus.width <= box.x + box.width &&
      focus.y + focus.height <= box.y + box.height;
    if (fresh || !inside) { window.KesuDiagram.centre(canvas, focus, fresh ? 0.65 : box.scale); }
  }

  function showDiagram(version) {
    if (version === shownVersion) { return Promise.resolve(false); }
    shownVersion = version;
    return window.KesuDiagram.load(viewer, payload.diagrams[version], root.dataset.locale).then(() => true);
  }

  function go(n) {
    current = Math.min(Math.max(n, 1), steps.length);
    slider.value = String(current);
    document.getElementById('replay-position').textContent = String(current);
    root.dataset.step = String(current);
    const url = new URL(window.location.href);
    url.searchParams.set('step', String(current));
    window.history.replaceState(null, '', url);
    showStepText(current);
    showData(current);
    const diagram = document.getElementById('replay-diagram');
    diagram.dataset.ready = 'false';
    const wanted = current;
    showDiagram(steps[current - 1].version).then((fresh) => {
      if (wanted !== current) { return; } // a later step was asked for meanwhile; it marks the diagram
      mark(current);
      follow(current, fresh);
      diagram.dataset.ready = 'true';
    }).catch((error) => {
      diagram.dataset.ready = 'error';
      diagram.textContent = String(error);
    });
  }

  const moves = {
    first: () => 1, previous: () => current - 1, next: () => current + 1, last: () => steps.length,
  };
  root.querySelectorAll('[data-go]').forEach((button) => {
    button.addEventListener('click', () => go(moves[button.dataset.go]()));
  });
  slider.addEventListener('input', () => go(Number(slider.value)));
  timeline.addEventListener('click', (event) => {
    const link = event.target.closest('a.step-link');
    if (!link) { return; }
    event.preventDefault();
    go(Number(link.closest('li[data-step]').dataset.step));
    root.scrollIntoView({ behavior: 'smooth' });
  });
  const keys = { ArrowRight: 'next', ArrowDown: 'next', ArrowLeft: 'previous', ArrowUp: 'previous', Home: 'first',
    End: 'last' };
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest && event.target.closest('input, textarea, select, [contenteditable]');
    if (!keys[event.key] || typing || event.altKey || event.ctrlKey || event.metaKey) { return; }
    event.preventDefault();
    go(moves[keys[event.key]]());
  });
  go(current);
})();
