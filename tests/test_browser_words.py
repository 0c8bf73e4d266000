"""The page scripts' words come from the gettext catalogs: static/build_i18n.py finds every word marked in
static/src, each has its translation in both Chinese catalogs, and a word marked with a context takes that
entry's translation rather than the server's for the same English."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "static"))
import build_i18n  # noqa: E402  (a build script, not a package)

LOCALES = ("zh_Hans", "zh_Hant")


def catalog(locale: str):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


@pytest.fixture(scope="module")
def marked() -> list[build_i18n.Marked]:
    return build_i18n.marked_words()


def test_marked_words_include_the_palette_the_dmn_table_and_the_lint_templates(marked):
    english = {message for _context, message in marked}
    assert {"Create start event", "Hit policy", "no group of this company is called {groups}"} <= english


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_word_is_translated_in_the_catalog(marked, locale):
    words = build_i18n.words(catalog(locale), marked)
    assert [message for _context, message in marked if message not in words] == []


def test_a_word_marked_with_a_context_takes_that_entrys_translation(marked):
    hans = catalog("zh_Hans")
    words = build_i18n.words(hans, marked)
    assert words["General"] == hans.get("General", context="diagram").string != hans.get("General").string


@pytest.mark.parametrize("locale, when", [("zh_Hans", "当"), ("zh_Hant", "當")])
def test_a_decision_tables_when_column_reads_as_a_condition_not_a_time(marked, locale, when):
    """dmn-js heads the first input column 'When' (as in 'when … and … then'); the catalog's plain 'When' is a time."""
    words = build_i18n.words(catalog(locale), marked)
    assert words["When"] == when != catalog(locale).get("When").string


def test_build_writes_one_file_per_language_and_an_empty_one_for_english(tmp_path):
    build_i18n.build(tmp_path)
    assert json.loads((tmp_path / "en.json").read_text(encoding="utf-8")) == {}
    assert json.loads((tmp_path / "zh_Hans.json").read_text(encoding="utf-8"))["Create start event"] == "创建开始事件"
    assert json.loads((tmp_path / "zh_Hant.json").read_text(encoding="utf-8"))["Hit policy"] == "命中策略"
