// bpmn-js, dmn-js and their plug-ins ask a `translate` service for every word they show; this one answers
// from a dictionary of the page's language, filling in `{placeholders}` as diagram-js's own does.

/** A diagram-js module whose `translate` looks words up in `words` (English text → translation). */
export function translateModule(words) {
  const translate = (template, replacements = {}) => (words[template] || template)
    .replace(/{([^}]+)}/g, (whole, key) => (key in replacements ? replacements[key] : whole));
  return { translate: ['value', translate] };
}
