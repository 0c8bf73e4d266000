"""Every message the UI shows exists in both Chinese catalogues, with the placeholders of its English original."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from conftest import ROOT

PLACEHOLDER = re.compile(r"%\(\w+\)s")
# as `make extract`
SOURCES = ("app.py", "demo.py", "accounts", "complaints", "engine", "forms", "notifications", "web", "templates")


def catalog(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated_with_its_placeholders(locale):
    problems = []
    for message in catalog(locale):
        if not message.id:
            continue
        plural = isinstance(message.id, tuple)  # ("%(num)s step", "%(num)s steps"): Chinese has one form
        forms = message.string if plural else (message.string,)
        if not all(forms) or message.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
        elif any(sorted(PLACEHOLDER.findall(message.id[-1] if plural else message.id))
                 != sorted(PLACEHOLDER.findall(form)) for form in forms):
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
    assert problems == []


def test_the_catalogues_hold_every_message_the_code_marks(tmp_path):
    """A string marked for translation but never extracted would show in English on Chinese pages."""
    template = tmp_path / "messages.pot"
    subprocess.run([Path(sys.executable).parent / "pybabel", "--quiet", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "N_", "-o", str(template), *SOURCES], cwd=ROOT, check=True)
    with open(template, "rb") as handle:
        marked = {m.id for m in read_po(handle) if m.id}
    assert marked - {m.id for m in catalog("zh_Hans")} == set(), "run `make extract` and translate"
