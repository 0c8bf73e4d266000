// The complaint page's diagram: the version the case runs on, with what ran and what is open now.
(function () {
  const container = document.getElementById('diagram');
  if (!container || !window.BpmnJS) { return; }
  const viewer = new window.BpmnJS({ container: container });
  const words = (value) => (value || '').split(' ').filter(Boolean);
  fetch(container.dataset.src, { credentials: 'same-origin' })
    .then((response) => response.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      const mark = (id, css) => { if (registry.get(id)) { canvas.addMarker(id, css); } };
      words(container.dataset.done).forEach((id) => mark(id, 'kesu-done'));
      words(container.dataset.active).forEach((id) => mark(id, 'kesu-active'));
      canvas.zoom('fit-viewport');
      container.dataset.ready = 'true';
    })
    .catch((error) => {
      container.dataset.ready = 'error';
      container.textContent = String(error);
    });
})();
