// Words the diff page shows that the server does not hand over: English fallbacks for the page texts, and
// element type names and the viewers' own words, listed for `make extract` (translations in messages.po).
import { N_ } from '../i18n/catalog';

export const FALLBACK_TEXTS = {
  added: 'Added',
  removed: 'Removed',
  changed: 'Changed',
  layout: 'Moved or resized',
  no_differences: 'No differences.',
  diagrams_not_loaded: 'The diagrams could not be loaded:',
};

// Element types as typeName spells them, and the minimap's toggle.
export const VIEWER_WORDS = [
  N_('Task'), N_('User task'), N_('Service task'), N_('Script task'), N_('Manual task'), N_('Business rule task'),
  N_('Send task'), N_('Receive task'), N_('Call activity'), N_('Sub process'), N_('Start event'), N_('End event'),
  N_('Boundary event'), N_('Intermediate catch event'), N_('Intermediate throw event'), N_('Exclusive gateway'),
  N_('Parallel gateway'), N_('Inclusive gateway'), N_('Event based gateway'), N_('Sequence flow'), N_('Message flow'),
  N_('Association'), N_('Lane'), N_('Participant'), N_('Process'), N_('Collaboration'), N_('Text annotation'),
  N_('Data object reference'), N_('Data store reference'), N_('Open minimap'), N_('Close minimap'),
];

/** "bpmn:UserTask" as a reader of the page's language calls it ("User task" in English). */
export function typeName(type, translate) {
  const english = type.split(':').pop().replace(/([a-z])([A-Z])/g, '$1 $2');
  return translate(english.charAt(0) + english.slice(1).toLowerCase());
}
