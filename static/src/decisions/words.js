// The decision-table page's words: English fallbacks for its own texts (the server hands them over translated
// in config.texts), and the dmn-js words Kesu translates.
import { N_, pgettext } from '../i18n/catalog';

export const FALLBACK_TEXTS = {
  drd: 'Requirements diagram',
  checking: 'Checking…',
  not_published: 'The decision table was not published:',
  view_versions: 'See the versions',
  network_error: 'The server could not be reached; nothing was lost, try again.',
  table_not_loaded: 'The decision table could not be loaded:',
};

// What dmn-js shows a process owner and translates through its `translate` service, listed for `make extract`
// (translations in translations/*/messages.po). Technical menus nobody opens in a grading table stay in English.
export const DMN_WORDS = [
  // the table's frame and header
  N_('Hit policy:'), N_('Hit policy'), pgettext('decision', 'When'), N_('And'), N_('Then'), N_('Input'), N_('Output'), N_('Annotation'),
  N_('Annotations'), N_('View DRD'), N_('Decision name'), N_('Decision name: '), N_('string'), N_('number'),
  N_('boolean'), N_('date'), N_('integer'), N_('long'), N_('double'),

  // hit policies
  N_('Unique'), N_('First'), N_('Priority'), N_('Any'), N_('Collect'), N_('Collect (Sum)'), N_('Collect (Min)'),
  N_('Collect (Max)'), N_('Collect (Count)'), N_('Rule order'), N_('Output order'),
  N_('No overlap is possible and all rules are disjoint. Only a single rule can be matched'),
  N_('Rules may overlap. The first matching rule will be chosen'),
  N_('Rules may overlap. The one with the highest priority will be chosen'),
  N_('Rules may overlap. Their output have to match'), N_('Collects the values of all matching rules'),
  N_('Collects the values of all matching rules and sums up to a single value'),
  N_('Collects the values of all matching rules and uses the lowest value'),
  N_('Collects the values of all matching rules and uses the highest value'),
  N_('Collects the values of all matching rules and counts the number of them'),
  N_('Collects the values of all matching rules in rule order'),
  N_('Collects the values of all matching rules in decreasing output priority order'),

  // rules and columns
  N_('Add rule'), N_('Add rule above'), N_('Add rule below'), N_('Remove rule'), N_('Copy rule'), N_('Cut rule'),
  N_('Paste rule above'), N_('Paste rule below'), N_('Move rule'), N_('Add input'), N_('Add output'),
  N_('Add input column left'), N_('Add input column right'), N_('Add output column left'),
  N_('Add output column right'), N_('Remove input column'), N_('Remove output column'), N_('Copy input column'),
  N_('Copy output column'), N_('Cut input column'), N_('Cut output column'), N_('Paste input column left'),
  N_('Paste input column right'), N_('Paste output column left'), N_('Paste output column right'),
  N_('Add cell description'), N_('Remove cell description'), N_('Edit'), N_('Edit input'), N_('Edit output'),
  N_('Input label'), N_('Input label: '), N_('Input expression'), N_('Input expression: '), N_('Input type'),
  N_('Input values'), N_('Output label'), N_('Output label: '), N_('Output name'), N_('Output name: '),
  N_('Output type'), N_('Output values'), N_('Type'), N_('Expression'), N_('Expression language'),
  N_('Enter expression'),

  // editing a cell
  N_('Edit string'), N_('Edit number'), N_('Edit boolean'), N_('Edit date'), N_('Match one'), N_('Match none'),
  N_('Predefined values'), N_('Custom values'), N_('Add values'), N_('Add predefined values'),
  N_('Clear predefined values'), N_('No values'), N_('Strings must be in double quotes'), N_('Comparison'),
  N_('Comparison operator'), N_('Range'), N_('Range start value'), N_('Range end value'), N_('Range start operator'),
  N_('Range end operator'), N_('Equals'), N_('Less'), N_('Less or equals'), N_('Greater'), N_('Greater or equals'),
  N_('Include'), N_('Exclude'), N_('Value'), N_('Values'), N_('Set value'), N_('Yes'), N_('No'), N_('Start value'),
  N_('End value'),

  // the requirements diagram (DRD)
  N_('Create decision'), N_('Create input data'), N_('Create knowledge model'), N_('Create knowledge source'),
  N_('Append decision'), N_('Append input data'), N_('Append business knowledge model'), N_('Append knowledge source'),
  N_('Add text annotation'), N_('Connect to other element'), N_('Change type'), N_('Delete'), N_('Activate hand tool'),
  N_('Activate lasso tool'), N_('Definition name'), N_('Definition ID'),
];
