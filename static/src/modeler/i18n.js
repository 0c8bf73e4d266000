// The one word a modeler plug-in writes without asking diagram-js's `translate` service.

/** Token simulation writes its toggle's label itself (not through `translate`): put it in the page's language. */
export function translateTokenSimulation(modeler, translate) {
  const relabel = () => {
    const label = modeler.get('canvas').getContainer().querySelector('.bts-toggle-mode');
    if (label && label.firstChild) { label.firstChild.textContent = `${translate('Token Simulation')} `; }
  };
  modeler.on('tokenSimulation.toggleMode', relabel);
  relabel();
}
