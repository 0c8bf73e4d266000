"""Built-in task forms a diagram can name with camunda:formKey, declared as the engine's field specs.

Plain data, without Flask or WTForms: the engine checks every submission against these declarations (in the
Celery worker too, which must not load the web framework), and forms/builder.py builds the pages' WTForms
classes from the same ones. Labels are gettext messages; the engine receives them with their translations from
Kesu's catalogs in `labels`, as a diagram carries its own.
"""
from __future__ import annotations

from dataclasses import replace
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

from engine import N_
from engine.repository.specs import FieldSpec

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

BUILTIN_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    # The customer callback (回访): reached or not, satisfied or not; unsatisfied reopens the case.
    "callback": (
        FieldSpec(id="callback_reached", type="boolean", label=N_("The customer was reached"), required=True),
        FieldSpec(id="satisfied", type="boolean", label=N_("The customer is satisfied with the handling"),
                  required_when=("callback_reached", True)),
        FieldSpec(id="callback_note", type="string", label=N_("Notes from the call"), maxlength=4000),
    ),
}
BUILTIN_FORM_LABELS = {"callback": N_("Customer callback")}  # what the modeler offers for camunda:formKey


def builtin_fields(form_key: str) -> tuple[FieldSpec, ...] | None:
    """The engine's form resolver: a built-in form's fields, labelled in every language Kesu has a catalog for
    (None: no such form)."""
    return _translated().get(form_key)


@cache
def _translated() -> dict[str, tuple[FieldSpec, ...]]:
    """The declarations with their labels' translations, read once per process from the compiled catalogs."""
    catalogs = {path.parents[1].name: Translations.load(str(TRANSLATIONS), [path.parents[1].name])
                for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo")}
    return {key: tuple(_labelled(spec, catalogs) for spec in fields) for key, fields in BUILTIN_FIELDS.items()}


def _labelled(spec: FieldSpec, catalogs: dict[str, NullTranslations]) -> FieldSpec:
    """The spec with its label in each catalog's language, under the catalog's name (zh_Hans, zh_Hant: the locale
    codes diagrams' translations use); an untranslated label is left to the English text."""
    texts = {locale: catalog.gettext(spec.label) for locale, catalog in catalogs.items()}
    return replace(spec, labels={locale: text for locale, text in texts.items() if text != spec.label})
