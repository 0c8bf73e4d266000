"""Task forms: the WTForms class of a task's fields, declared by its diagram or by the built-in form its formKey
names (forms/builtin_fields.py), and the glue between a posted form and the engine."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import DateField, Field, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from engine.queries import Answers
from engine.repository.specs import FieldSpec, Option
from engine.runtime.formdata import MESSAGES, FieldError
from forms.builtin_fields import BUILTIN_FIELDS
from forms.fields import YesNoField
from forms.registration import RegistrationForm

LONG_TEXT = 200  # string fields allowing more than this are rendered as text areas
NO_ANSWERS = Answers({}, frozenset())  # a task no form of the case has answered yet


def _validators(spec: FieldSpec) -> list:
    if spec.readonly:  # shown, never sent (browsers leave disabled inputs out) nor taken: nothing to require
        return [Optional()]
    validators: list = [InputRequired() if spec.required else Optional()]
    if spec.type == "string" and (spec.minlength or spec.maxlength):
        validators.append(Length(min=spec.minlength or -1, max=spec.maxlength or -1))
    if spec.type == "long" and (spec.min is not None or spec.max is not None):
        validators.append(NumberRange(min=spec.min, max=spec.max))
    return validators


def _option_label(option: Option, locale: str) -> str:
    return option.names.get(locale) or option.name or option.id


@dataclass(frozen=True)
class PeopleChoices:
    """The company's users and groups a field with `choices` offers: (value, label) pairs, value first."""

    users: tuple[tuple[str, str], ...] = ()  # (e-mail, "name · groups")
    groups: tuple[tuple[str, str], ...] = ()  # (name, its label in the page's language)


def _field(spec: FieldSpec, locale: str, people: PeopleChoices) -> Field:
    label, validators = spec.label_in(locale), _validators(spec)
    render_kw = {"disabled": True} if spec.readonly else {}
    if spec.choices:  # the engine checks the choice against the company's users or groups, for every channel
        offered = people.users if spec.choices == "users" else people.groups
        choices = [SelectChoice("", "—")] + [SelectChoice(v, t) for v, t in offered]
        return SelectField(label, validators, choices=choices, validate_choice=False, render_kw=render_kw)
    if spec.type == "boolean":
        return YesNoField(label, validators, render_kw=render_kw)
    if spec.type == "long":
        return IntegerField(label, validators, render_kw=render_kw)
    if spec.type == "date":
        return DateField(label, validators, render_kw=render_kw)
    if spec.type == "enum":
        choices = [SelectChoice("", "—")] + [SelectChoice(o.id, _option_label(o, locale)) for o in spec.options]
        return SelectField(label, validators, choices=choices, render_kw=render_kw)
    long_text = spec.maxlength is None or spec.maxlength > LONG_TEXT
    return (TextAreaField if long_text else StringField)(label, validators, render_kw=render_kw)


def task_form_class(fields: tuple[FieldSpec, ...], locale: str,
                    people: PeopleChoices = PeopleChoices()) -> type[FlaskForm]:
    """The WTForms class to render and validate a task with, from the fields the engine gives its view (a built-in
    form's come from its declaration, labelled in every language)."""
    attrs = {spec.id: _field(spec, locale, people) for spec in fields}
    return type("TaskForm", (FlaskForm,), attrs)


def initial_data(fields: tuple[FieldSpec, ...], data: dict[str, Any], zone: ZoneInfo,
                 answers: Answers = NO_ANSWERS) -> dict[str, Any]:
    """What a task's form shows before anyone types: on a task that comes round again, what it entered the last
    time; a field only other tasks answered starts from its declared default (each approver decides afresh); any
    other field shows what the case holds (read-only ones always), else the default. Stored values are JSON, so a
    date is text, while WTForms' date fields want dates; a value that does not read as its type is left out, not
    shown broken."""
    shown = dict(data)
    for spec in fields:
        if spec.id in answers.own and not spec.readonly:
            value = answers.own[spec.id]
        elif spec.id in data and (spec.readonly or spec.id not in answers.others_only):
            value = data[spec.id]
        else:
            value = _default(spec)
        shown.pop(spec.id, None)
        if spec.type == "date":
            value = _as_date(value, zone)
        if value is not None:
            shown[spec.id] = value
    return shown


def read_only(fields: tuple[FieldSpec, ...], shown: dict[str, Any]) -> dict[str, Any]:
    """The read-only fields' part of what a form shows: a posted form takes them from the case, as browsers do not
    send disabled inputs."""
    return {spec.id: shown[spec.id] for spec in fields if spec.readonly and spec.id in shown}


def _default(spec: FieldSpec) -> Any:
    """A field's declared default (camunda:defaultValue) as the form takes it; an expression ('${...}') is another
    engine's and shows nothing."""
    if spec.default is None or spec.default.lstrip().startswith(("${", "#{")):
        return None
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(spec.default.strip().lower())
    return spec.default


def _as_date(value: Any, zone: ZoneInfo) -> date | None:
    """A date field's value as a date: ISO date text, or a moment (a script's deadline(), kept as ISO text) on the
    company's calendar; None for anything else."""
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return _as_date(datetime.fromisoformat(value.strip()), zone)
    except ValueError:
        return None


def _unbound_fields(form_class: type[FlaskForm]) -> list[tuple[str, UnboundField]]:
    """A form class's fields in declaration order, without instantiating it (no request needed)."""
    fields = [(name, value) for name in dir(form_class)
              if not name.startswith("_") and isinstance(value := getattr(form_class, name), UnboundField)]
    return sorted(fields, key=lambda item: item[1].creation_counter)


def submitted_values(form: FlaskForm, fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """What the user entered for the task's own editable fields, as the engine expects it."""
    values = {}
    for spec in fields:
        if spec.readonly:
            continue
        value = form[spec.id].data
        values[spec.id] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


def field_message(error: FieldError) -> str:
    """An engine's field error in the reader's language, from the one form-message catalog."""
    return gettext(MESSAGES[error.code], **dict(error.params))


def apply_errors(form: FlaskForm, errors: dict[str, FieldError]) -> None:
    """Show the engine's field errors on the form, translated."""
    for field_id, error in errors.items():
        message = field_message(error)
        if field_id in form:
            form[field_id].errors = [*form[field_id].errors, message]
        else:
            form.form_errors.append(f"{field_id}: {message}")


def form_labels() -> dict[str, dict[str, str]]:
    """Labels, in the page's language, of the data a case carries besides the fields its diagram declares: the
    registration form's fields, the complaint number and the built-in forms' fields."""
    labels = {name: {"": str(unbound.args[0])} for name, unbound in _unbound_fields(RegistrationForm) if unbound.args}
    builtin = {spec.id: {"": gettext(spec.label)} for fields in BUILTIN_FIELDS.values() for spec in fields}
    return {**labels, **builtin, "complaint_number": {"": gettext("Complaint number")}}
