// An element's Chinese names are camunda properties `name:<locale>` (engine/repository/specs.py `_element_names` reads them
// for inboxes and complaint pages, the diff draws them). These panel entries read and write them the way the
// panel's own "Extension properties" do: one undoable multi-command creating or dropping the containers as needed.
import { TextFieldEntry, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const NAMED_TYPES = ['bpmn:FlowElement', 'bpmn:Lane', 'bpmn:Participant', 'bpmn:Process'];
const LOCALES = [['zh_Hans', 'Name in Simplified Chinese'], ['zh_Hant', 'Name in Traditional Chinese']];

/** Whether the element has a name Kesu shows to people, and so may carry its translations. */
export function hasTranslatedNames(element) {
  return NAMED_TYPES.some((type) => is(element, type));
}

/** Where the names live: a pool's process too, as pages list the process's name and the diff draws the pool's. */
function holders(element) {
  const businessObject = getBusinessObject(element);
  const process = is(element, 'bpmn:Participant') && businessObject.get('processRef');
  return process ? [businessObject, process] : [businessObject];
}

function propertyContainers(businessObject) {
  const extensionElements = businessObject.get('extensionElements');
  return extensionElements ? extensionElements.get('values').filter((value) => is(value, 'camunda:Properties')) : [];
}

/** The `name` property and its container, looking in every camunda:properties as the server does. */
function findProperty(businessObject, name) {
  for (const container of propertyContainers(businessObject)) {
    const property = container.get('values').find((candidate) => candidate.get('name') === name);
    if (property) { return { container, property }; }
  }
  return null;
}

function translatedName(element, name) {
  const found = holders(element).map((holder) => findProperty(holder, name)).find(Boolean);
  return (found && found.property.get('value')) || '';
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function create(bpmnFactory, type, properties, parent) {
  const created = bpmnFactory.create(type, properties);
  created.$parent = parent;
  return created;
}

/** Drop the property, and its container once it holds nothing else; other properties stay. */
function removeCommands(element, holder, { container, property }) {
  const values = container.get('values').filter((candidate) => candidate !== property);
  if (values.length) { return [update(element, container, { values })]; }
  const extensionElements = holder.get('extensionElements');
  return [update(element, extensionElements, {
    values: extensionElements.get('values').filter((candidate) => candidate !== container) })];
}

/** Add the property, creating the extension elements and the camunda:properties container if missing. */
function addCommands(element, holder, name, value, bpmnFactory) {
  const commands = [];
  let extensionElements = holder.get('extensionElements');
  if (!extensionElements) {
    extensionElements = create(bpmnFactory, 'bpmn:ExtensionElements', { values: [] }, holder);
    commands.push(update(element, holder, { extensionElements }));
  }
  let container = propertyContainers(holder)[0];
  if (!container) {
    container = create(bpmnFactory, 'camunda:Properties', { values: [] }, extensionElements);
    commands.push(update(element, extensionElements, { values: [...extensionElements.get('values'), container] }));
  }
  const property = create(bpmnFactory, 'camunda:Property', { name, value }, container);
  return [...commands, update(element, container, { values: [...container.get('values'), property] })];
}

function setCommands(element, holder, name, value, bpmnFactory) {
  const found = findProperty(holder, name);
  if (!value.trim()) { return found ? removeCommands(element, holder, found) : []; }
  return found ? [update(element, found.property, { value })] : addCommands(element, holder, name, value, bpmnFactory);
}

function nameEntry(locale, label) {
  const name = `name:${locale}`;
  return function TranslatedName({ element, id }) {
    const bpmnFactory = useService('bpmnFactory');
    const commandStack = useService('commandStack');
    const translate = useService('translate');
    const debounce = useService('debounceInput');
    return TextFieldEntry({
      element, id, label: translate(label), debounce,
      getValue: () => translatedName(element, name),
      setValue: (value) => {
        const commands = holders(element).flatMap((holder) => setCommands(element, holder, name, value || '',
          bpmnFactory));
        if (commands.length) { commandStack.execute('properties-panel.multi-command-executor', commands); }
      },
    });
  };
}

/** The two entries, made once: the panel keeps an entry's state only while its component stays the same. */
export const NAME_ENTRIES = LOCALES.map(([locale, label]) => ({
  id: `kesu-name-${locale}`, component: nameEntry(locale, label), isEdited: isTextFieldEntryEdited,
}));
