// Diagrams of a case, read-only: `window.KesuDiagram` loads a version's diagram in the page's language (the
// replay and heatmap pages build on it), and an element `#diagram` gets the complaint page's view: what ran
// and what is open now.
(function () {
  if (!window.BpmnJS) { return; }
  const CAMUNDA = 'http://camunda.org/schema/1.0/bpmn';
  const words = (value) => (value || '').split(' ').filter(Boolean);

  // Use the `name:<locale>` camunda properties a diagram carries as the drawn names.
  function translated(xml, locale) {
    const doc = new DOMParser().parseFromString(xml, 'application/xml');
    Array.from(doc.getElementsByTagNameNS(CAMUNDA, 'property'))
      .filter((property) => property.getAttribute('name') === 'name:' + locale)
      .forEach((property) => {
        const element = property.parentNode.parentNode.parentNode; // property < properties < extensionElements < element
        if (element && element.hasAttribute('name')) { element.setAttribute('name', property.getAttribute('value')); }
      });
    return new XMLSerializer().serializeToString(doc);
  }

  function centre(canvas, element, scale) {
    canvas.zoom(scale);
    const box = canvas.viewbox();
    const left = Math.max(box.inner.x - 10, element.x + element.width / 2 - box.width / 2);
    const top = Math.max(box.inner.y - 10, element.y + element.height / 2 - box.height / 2);
    canvas.viewbox({ x: left, y: top, width: box.width, height: box.height });
  }

  // Fetch the diagram at `url` and show it in `viewer`, translated; resolves with bpmn-js's import result.
  function load(viewer, url, locale) {
    return fetch(url, { credentials: 'same-origin' })
      .then((response) => response.text())
      .then((xml) => viewer.importXML(translated(xml, locale)));
  }

  window.KesuDiagram = { translated: translated, centre: centre, load: load };

  const container = document.getElementById('diagram');
  if (!container) { return; }
  const viewer = new window.BpmnJS({ container: container });
  load(viewer, container.dataset.src, container.dataset.locale)
    .then((result) => {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      const mark = (id, css) => { if (registry.get(id)) { canvas.addMarker(id, css); } };
      words(container.dataset.done).forEach((id) => mark(id, 'kesu-done'));
      const active = words(container.dataset.active);
      active.forEach((id) => mark(id, 'kesu-active'));
      canvas.zoom('fit-viewport');
      const focus = active.map((id) => registry.get(id)).find(Boolean);
      if (focus) { centre(canvas, focus, 0.65); } // readable, with the open task in the middle
      container.dataset.warnings = String(result.warnings.length);
      container.dataset.ready = 'true';
    })
    .catch((error) => {
      container.dataset.ready = 'error';
      container.textContent = String(error);
    });
})();
