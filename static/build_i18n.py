"""Write the browser's words in each language to <out>/<locale>.json, from the gettext catalogs.

The page scripts mark their words with N_ / pgettext (static/src/i18n/catalog.js); this extracts those marks
from static/src with babel's javascript extractor and looks each up in translations/<locale>/LC_MESSAGES/
messages.po, so the server and the browser translate from one catalog. Run when static/vendor is built.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "static" / "src"
TRANSLATIONS = ROOT / "translations"

Marked = tuple[str | None, str]  # (context, English)


def marked_words(sources: Path = SOURCES) -> list[Marked]:
    """Every word the page scripts mark, without context first so a context's translation wins."""
    found = {(context, message) for _file, _line, message, _comments, context
             in extract_from_dir(str(sources), method_map=[("**.js", "javascript")])
             if isinstance(message, str)}
    return sorted(found, key=lambda word: (word[0] is not None, word))


def words(catalog: Catalog, marked: list[Marked]) -> dict[str, str]:
    """{English: translation} for the marked words the catalog translates (fuzzy ones too, as `make translations`)."""
    table = {}
    for context, message in marked:
        entry = catalog.get(message, context=context)
        if entry is not None and entry.string:
            table[message] = entry.string
    return table


def build(out: Path) -> None:
    """One JSON file per catalog, and an empty one for English (the scripts' own language)."""
    out.mkdir(parents=True, exist_ok=True)
    marked = marked_words()
    (out / "en.json").write_text("{}\n", encoding="utf-8")
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source)
        table = words(catalog, marked)
        (out / f"{po.parts[-3]}.json").write_text(json.dumps(table, ensure_ascii=False, sort_keys=True) + "\n",
                                                  encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
