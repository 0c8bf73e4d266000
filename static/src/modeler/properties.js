// The properties panel's "Kesu" group: owners pick a user task's groups, people and form, and a business-rule
// task's decision table, from the company's own lists instead of typing names the server may not know; and a
// group before it with the Chinese names of every named element, lane and pool.
import { CheckboxGroup, SelectEntry, isSelectEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { isExpression, laneName, splitList } from './camunda';
import { NAME_ENTRIES, hasTranslatedNames } from './names';

const LOW_PRIORITY = 500;

function isCheckboxGroupEdited(node) {
  return Boolean(node && node.querySelector('input:checked'));
}

/** The company's choices, plus any the diagram already names that the company lacks (so none is lost); a
 * `${...}` name is worked out from the case's data. */
function withUnknown(choices, values, note, translate) {
  const known = new Set(choices.map((choice) => choice.value));
  return [...choices, ...values.filter((value) => value && !known.has(value))
    .map((value) => ({ value, label: `${value} (${isExpression(value) ? translate('from the case data') : note})` }))];
}

/** An entry writing a comma-separated Camunda attribute from a list of checkboxes. */
function listEntry(attribute, label, choices, description) {
  return function ListEntry({ element, id }) {
    const modeling = useService('modeling');
    const translate = useService('translate');
    const values = splitList(getBusinessObject(element).get(attribute));
    return CheckboxGroup({
      element, id, label: translate(label), description: description && description(element, values, translate),
      options: withUnknown(choices, values, translate('unknown here'), translate),
      getValue: () => values,
      setValue: (chosen) => modeling.updateProperties(element, { [attribute]: chosen.join(',') || undefined }),
    });
  };
}

/** An entry choosing one Camunda attribute's value from a list, with an "empty" choice first. */
function selectEntry(attribute, label, emptyLabel, choices) {
  return function Select({ element, id }) {
    const modeling = useService('modeling');
    const translate = useService('translate');
    const current = getBusinessObject(element).get(attribute) || '';
    return SelectEntry({
      element, id, label: translate(label),
      getOptions: () => withUnknown([{ value: '', label: translate(emptyLabel) }, ...choices], [current],
        translate('unknown here'), translate),
      getValue: () => current,
      setValue: (value) => modeling.updateProperties(element, { [attribute]: value || undefined }),
    });
  };
}

/** The description under the group picker: with none chosen, the task goes to its lane's group. */
function laneHint(groups) {
  const labels = Object.fromEntries(groups.map((group) => [group.value, group.label]));
  return (element, values, translate) => {
    const lane = laneName(getBusinessObject(element));
    return !values.length && lane
      ? translate('None chosen: the task goes to its lane, {lane}.', { lane: labels[lane] || lane }) : undefined;
  };
}

function userTaskEntries(config) {
  const groups = config.groups.map((group) => ({ value: group.name, label: group.label || group.name }));
  const users = config.users.map((user) => ({ value: user.email, label: user.name || user.email }));
  const forms = config.form_keys.map((form) => ({ value: form.key, label: form.label }));
  return [
    { id: 'kesu-candidate-groups', isEdited: isCheckboxGroupEdited,
      component: listEntry('camunda:candidateGroups', 'Offered to groups', groups, laneHint(groups)) },
    { id: 'kesu-candidate-users', isEdited: isCheckboxGroupEdited,
      component: listEntry('camunda:candidateUsers', 'Offered to people', users) },
    { id: 'kesu-form-key', isEdited: isSelectEntryEdited,
      component: selectEntry('camunda:formKey', 'Form', 'Fields declared in the diagram', forms) },
  ];
}

function decisionEntries(config) {
  const decisions = config.decisions.map((decision) => ({ value: decision.key, label: decision.name || decision.key }));
  return [{ id: 'kesu-decision', isEdited: isSelectEntryEdited,
    component: selectEntry('camunda:decisionRef', 'Decision table', 'None', decisions) }];
}

/** A bpmn-js module adding the Kesu groups right after the "General" group: the Chinese names, then the pickers. */
export default function kesuPropertiesModule(config) {
  // made once: the panel keeps an entry's state only while its component stays the same function
  const userTask = userTaskEntries(config);
  const decision = decisionEntries(config);

  function pickerGroup(element, translate) {
    if (is(element, 'bpmn:UserTask')) {
      return { id: 'kesu', label: translate('Who does it, with which form'), entries: userTask, shouldOpen: true };
    }
    if (is(element, 'bpmn:BusinessRuleTask')) {
      return { id: 'kesu', label: translate('Decision table'), entries: decision, shouldOpen: true };
    }
    return null;
  }

  function kesuGroups(element, translate) {
    const names = hasTranslatedNames(element)
      ? { id: 'kesu-names', label: translate('Names in Chinese'), entries: NAME_ENTRIES, shouldOpen: true } : null;
    return [names, pickerGroup(element, translate)].filter(Boolean);
  }

  function KesuPropertiesProvider(propertiesPanel, translate) {
    this.getGroups = (element) => (groups) => {
      groups.splice(groups.findIndex((g) => g.id === 'general') + 1, 0, ...kesuGroups(element, translate));
      return groups;
    };
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
  }
  KesuPropertiesProvider.$inject = ['propertiesPanel', 'translate'];
  return { __init__: ['kesuPropertiesProvider'], kesuPropertiesProvider: ['type', KesuPropertiesProvider] };
}
