// Diagrams carry their translations as camunda properties `name:<locale>`; pages draw and list names in the
// page's language, falling back to the name as drawn.
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

export const MODDLE_EXTENSIONS = { camunda: camundaModdle };

/** The element's `name:<locale>` property, if it has one, so lists and drawings speak the page's language. */
function translation(element, locale) {
  const holders = (element.extensionElements && element.extensionElements.values) || [];
  const properties = holders.filter((holder) => holder.$type === 'camunda:Properties')
    .flatMap((holder) => holder.values || []);
  const property = properties.find((candidate) => candidate.name === 'name:' + locale);
  return property ? property.value : undefined;
}

/** What to call an element in a list: its translated name, its name, else its id. */
export function displayName(element, locale) {
  return translation(element, locale) || element.name || element.id;
}

/** Parse a diagram with the viewer's moddle (camunda vocabulary included); keeps elementsById for lookups. */
export function parse(viewer, xml) {
  return viewer.get('moddle').fromXML(xml, 'bpmn:Definitions');
}

/** Replace drawn names by their translations in place, before the definitions are imported into a viewer. */
export function translateNames(elementsById, locale) {
  Object.values(elementsById).forEach((element) => {
    const name = element.name === undefined ? undefined : translation(element, locale);
    if (name) { element.name = name; }
  });
}
