// The browser's words come from the gettext catalogs the server translates from (translations/*/messages.po):
// page scripts mark them with N_ (pgettext where the server's catalog says the same English otherwise), so
// `make extract` finds them, and static/build_i18n.py writes each language's translations of them to
// static/vendor/i18n/<locale>.json when static/vendor is built. A page links its language's file as #kesu-words.
const PLACEHOLDER = /\{([^}]+)\}/g;
const TRANSLATED_PLACEHOLDERS = new Set(['kind']); // an element kind ('user task'), in the catalog too

/** Marks a word for extraction; the catalog translates it when the page looks it up. */
export const N_ = (text) => text;

/** Marks a word whose catalog entry carries `context` (the JSON holds it under its English text). */
export const pgettext = (context, text) => text;

/** The page's words ({English: translation}), from the file the page links; English needs none. */
export async function loadWords() {
  const link = document.getElementById('kesu-words');
  if (!link) { return {}; }
  const response = await fetch(link.href, { credentials: 'same-origin' });
  if (!response.ok) { throw new Error(`${link.href}: ${response.status}`); }
  return response.json();
}

function fill(template, replacements) {
  return template.replace(PLACEHOLDER, (match, key) => (key in replacements ? String(replacements[key]) : match));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Each template key as a pattern that recognises a message built from it, with its placeholder names. */
function patterns(words) {
  return Object.keys(words).filter((key) => key.includes('{'))
    .map((key) => {
      const names = [...key.matchAll(PLACEHOLDER)].map((match) => match[1]);
      const source = key.split(PLACEHOLDER).map((part, i) => (i % 2 ? '([\\s\\S]+?)' : escapeRegExp(part))).join('');
      return { key, names, regexp: new RegExp(`^${source}$`) };
    });
}

function fromPattern(words, templates, message) {
  for (const { key, names, regexp } of templates) {
    const match = regexp.exec(message);
    if (match) {
      return fill(words[key], Object.fromEntries(names.map((name, i) => [name,
        TRANSLATED_PLACEHOLDERS.has(name) ? words[match[i + 1]] || match[i + 1] : match[i + 1]])));
    }
  }
  return null;
}

/** A translate function over `words`. Keys may hold `{placeholders}`: they translate templates the libraries
 * fill in themselves and also whole messages built in English beforehand (lint and server messages carry
 * element names and code), by matching the message against the template. */
function translator(words) {
  const templates = patterns(words);
  return (template, replacements = {}) => {
    const known = words[template];
    if (known !== undefined) { return fill(known, replacements); }
    return fill(fromPattern(words, templates, template) || template, replacements);
  };
}

/** A diagram-js module replacing the `translate` service (bpmn-js, dmn-js and their plug-ins ask it every word). */
export function translateModule(words) {
  return { translate: ['value', translator(words)] };
}
