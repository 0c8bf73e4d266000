// The page's editing controls around bpmn-js: undo/redo and zoom buttons, diagram shortcuts wherever the focus
// is not in a field, Ctrl+S to save the draft, and a warning before leaving with unsaved changes.
const ZOOM_STEP = 1.2;
const FIT_MARGIN = { left: 110, right: 60, top: 40, bottom: 70 }; // px kept clear for the palette and the controls

/** Show the whole diagram, centred in the canvas area the palette and the floating controls leave free. */
export function fitDiagram(canvas) {
  const { inner, outer } = canvas.viewbox();
  const free = {
    width: outer.width - FIT_MARGIN.left - FIT_MARGIN.right,
    height: outer.height - FIT_MARGIN.top - FIT_MARGIN.bottom,
  };
  if (!inner.width || free.width <= 0 || free.height <= 0) { return; }
  const scale = Math.min(free.width / inner.width, free.height / inner.height, 1);
  canvas.viewbox({
    x: inner.x - (FIT_MARGIN.left + (free.width - inner.width * scale) / 2) / scale,
    y: inner.y - (FIT_MARGIN.top + (free.height - inner.height * scale) / 2) / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}

/** Run `handler` on a click of button `id`, then give the focus back to the canvas so shortcuts keep working. */
function onClick(id, canvas, handler) {
  document.getElementById(id).addEventListener('click', () => { handler(); canvas.focus(); });
}

/** Undo and redo buttons, enabled only when there is something to undo or redo. */
export function bindHistory(modeler) {
  const commandStack = modeler.get('commandStack');
  const canvas = modeler.get('canvas');
  const undo = document.getElementById('undo');
  const redo = document.getElementById('redo');
  const update = () => { undo.disabled = !commandStack.canUndo(); redo.disabled = !commandStack.canRedo(); };
  onClick('undo', canvas, () => commandStack.undo());
  onClick('redo', canvas, () => commandStack.redo());
  modeler.on('commandStack.changed', update);
  update();
}

/** Zoom in, out, and to fit the whole diagram. */
export function bindZoom(modeler) {
  const canvas = modeler.get('canvas');
  onClick('zoom-in', canvas, () => canvas.zoom(canvas.zoom() * ZOOM_STEP));
  onClick('zoom-out', canvas, () => canvas.zoom(canvas.zoom() / ZOOM_STEP));
  onClick('zoom-fit', canvas, () => fitDiagram(canvas));
}

/** diagram-js listens on its canvas only: hand keys pressed with nothing focused (the page body) to it. */
export function bindShortcuts(modeler, save) {
  const canvas = modeler.get('canvas');
  const keyboard = modeler.get('keyboard');
  document.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      save();
    } else if (event.target === document.body) {
      canvas.focus();
      const forwarded = new KeyboardEvent('keydown', event);
      keyboard.getBinding().dispatchEvent(forwarded);
      if (forwarded.defaultPrevented) { event.preventDefault(); }
    }
  });
}

/** Ask before leaving the page while `isDirty()` says there are unsaved changes. */
export function warnBeforeLeaving(isDirty) {
  window.addEventListener('beforeunload', (event) => {
    if (isDirty()) { event.preventDefault(); event.returnValue = ''; }
  });
}
