"""The built-in task forms are declared once, as the engine's field specs (forms/builtin_fields.py): the engine
resolves a formKey to them without Flask, and the pages build their WTForms classes from the same declarations."""
from __future__ import annotations

from flask_babel import force_locale, gettext
from wtforms.validators import InputRequired, Length, Optional

from forms.builder import task_form_class
from forms.builtin_fields import BUILTIN_FIELDS, builtin_fields
from forms.fields import YesNoField


def test_the_resolver_knows_only_the_declared_forms():
    assert builtin_fields("callback") is not None
    assert builtin_fields("no_such_form") is None


def test_a_builtin_forms_fields_carry_their_labels_in_every_catalogued_language(app):
    resolved = builtin_fields("callback")
    assert [spec.label for spec in resolved] == [spec.label for spec in BUILTIN_FIELDS["callback"]]
    for locale in ("zh_Hans", "zh_Hant"):
        with app.test_request_context(), force_locale(locale):
            assert [spec.label_in(locale) for spec in resolved] == [gettext(spec.label) for spec in resolved]
    assert resolved[0].label_in("zh_Hans") != resolved[0].label_in("zh_Hant") != resolved[0].label_in("en")
    assert resolved[0].label_in("en") == "The customer was reached"


def test_the_callback_page_form_is_built_from_its_declaration(app):
    """Field order, widgets, labels in the page's language and validators, as the callback form always had."""
    with app.test_request_context():
        form = task_form_class(builtin_fields("callback"), "zh_Hans")(meta={"csrf": False})
    reached, satisfied, note = (form[name] for name in ("callback_reached", "satisfied", "callback_note"))
    assert [field.name for field in form] == ["callback_reached", "satisfied", "callback_note"]
    assert [field.type for field in form] == ["YesNoField", "YesNoField", "TextAreaField"]
    assert reached.label.text == "是否联系上客户" and note.label.text == "回访记录"
    assert [type(v) for v in reached.validators] == [InputRequired]
    assert [type(v) for v in satisfied.validators] == [Optional]
    assert [type(v) for v in note.validators] == [Optional, Length] and note.validators[1].max == 4000
    assert isinstance(reached, YesNoField) and [choice.value for choice in reached.choices] == ["true", "false"]
