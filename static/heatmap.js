// The audit page's heatmap: the procedure's diagram with, on each element, how often it finished across the
// filtered complaints, the median time a run took and how many are open now, coloured by the count; and on each
// sequence flow how often a token took it. The server computes every number and text (#heatmap-data).
(function () {
  const form = document.getElementById('audit-filters');
  if (form) {
    // Versions belong to a procedure: another procedure starts again from all of its versions.
    form.elements.procedure.addEventListener('change', () => {
      form.elements.version.value = '';
      form.submit();
    });
  }

  const container = document.getElementById('heatmap');
  if (!container || !window.KesuDiagram) { return; }
  const payload = JSON.parse(document.getElementById('heatmap-data').textContent);
  const viewer = new window.BpmnJS({ container: container });

  function badge(className, id, text, title) {
    const span = document.createElement('span');
    span.className = className;
    span.dataset.element = id;
    span.textContent = text;
    span.title = title;
    return span;
  }

  // Overlays sit relative to a connection's bounding box: put the count at the middle of its middle segment.
  function middleOf(connection) {
    const points = connection.waypoints;
    const a = points[Math.floor((points.length - 1) / 2)];
    const b = points[Math.floor((points.length - 1) / 2) + 1] || a;
    const left = Math.min(...points.map((p) => p.x));
    const top = Math.min(...points.map((p) => p.y));
    return { left: (a.x + b.x) / 2 - left - 10, top: (a.y + b.y) / 2 - top - 10 };
  }

  function draw() {
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const overlays = viewer.get('overlays');
    Object.entries(payload.elements).forEach(([id, heat]) => {
      if (!registry.get(id)) { return; } // ran on another version only
      if (heat.heat) { canvas.addMarker(id, 'kesu-heat-' + heat.heat); }
      const span = badge('kesu-heat-badge heat-' + heat.heat + (heat.open ? ' has-open' : ''), id, heat.label,
        heat.title);
      span.dataset.runs = String(heat.runs);
      span.dataset.open = String(heat.open);
      overlays.add(id, 'kesu-heat', { position: { top: -20, left: 0 }, scale: { min: 0.7 }, html: span });
    });
    Object.entries(payload.flows).forEach(([id, flow]) => {
      const connection = registry.get(id);
      if (!connection || !connection.waypoints) { return; }
      const span = badge('kesu-flow-count', id, String(flow.count), flow.title);
      span.dataset.count = String(flow.count);
      overlays.add(id, 'kesu-heat', { position: middleOf(connection), html: span });
    });
  }

  window.KesuDiagram.load(viewer, payload.diagram, payload.locale)
    .then((result) => {
      viewer.get('canvas').zoom('fit-viewport');
      draw();
      container.dataset.warnings = String(result.warnings.length);
      container.dataset.ready = 'true';
    })
    .catch((error) => {
      container.dataset.ready = 'error';
      container.textContent = String(error);
    });
})();
