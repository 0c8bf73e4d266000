// diagram-js's `translate` service in the page's language. Dictionary keys may hold `{placeholders}`: they
// translate templates the library fills in itself and also whole messages built in English beforehand (lint
// messages carry element names and code), by matching the message against the template.
import zhHans from './zh_Hans';
import zhHant from './zh_Hant';

const DICTIONARIES = { zh_Hans: zhHans, zh_Hant: zhHant };
const PLACEHOLDER = /\{([^}]+)\}/g;
const TRANSLATED_PLACEHOLDERS = new Set(['kind']); // an element kind ('user task'), in the dictionary too

function fill(template, replacements) {
  return template.replace(PLACEHOLDER, (match, key) => (key in replacements ? String(replacements[key]) : match));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Each template key as a pattern that recognises a message built from it, with its placeholder names. */
function patterns(dictionary) {
  return Object.keys(dictionary).filter((key) => key.includes('{'))
    .map((key) => {
      const names = [...key.matchAll(PLACEHOLDER)].map((match) => match[1]);
      const source = key.split(PLACEHOLDER).map((part, i) => (i % 2 ? '([\\s\\S]+?)' : escapeRegExp(part))).join('');
      return { key, names, regexp: new RegExp(`^${source}$`) };
    });
}

function fromPattern(dictionary, templates, message) {
  for (const { key, names, regexp } of templates) {
    const match = regexp.exec(message);
    if (match) {
      return fill(dictionary[key], Object.fromEntries(names.map((name, i) => [name,
        TRANSLATED_PLACEHOLDERS.has(name) ? dictionary[match[i + 1]] || match[i + 1] : match[i + 1]])));
    }
  }
  return null;
}

/** A translate function for `locale` (English, the libraries' own language, when there is no dictionary). */
export function translator(locale) {
  const dictionary = DICTIONARIES[locale] || {};
  const templates = patterns(dictionary);
  return (template, replacements = {}) => {
    const known = dictionary[template];
    if (known !== undefined) { return fill(known, replacements); }
    return fill(fromPattern(dictionary, templates, template) || template, replacements);
  };
}

/** A diagram-js module replacing the `translate` service. */
export function translateModule(locale) {
  return { translate: ['value', translator(locale)] };
}

/** Token simulation writes its toggle's label itself (not through `translate`): put it in the page's language. */
export function translateTokenSimulation(modeler, translate) {
  const relabel = () => {
    const label = modeler.get('canvas').getContainer().querySelector('.bts-toggle-mode');
    if (label && label.firstChild) { label.firstChild.textContent = `${translate('Token Simulation')} `; }
  };
  modeler.on('tokenSimulation.toggleMode', relabel);
  relabel();
}
