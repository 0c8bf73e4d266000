"""The complaint registration form (客户投诉信息处理单): what customer service records at intake."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from complaints.choices import CATEGORIES, CHANNELS


def _choices(vocabulary: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [SelectChoice(key, gettext(label)) for key, label in vocabulary.items()]


class RegistrationForm(FlaskForm):
    customer_name = StringField(_l("Customer name"), [InputRequired(), Length(max=200)])
    contact_person = StringField(_l("Contact person"), [InputRequired(), Length(max=100)])
    contact = StringField(_l("Phone or e-mail"), [InputRequired(), Length(max=200)])
    channel = SelectField(_l("Channel"), [InputRequired()])
    category = SelectField(_l("Category"), [InputRequired()])
    product = StringField(_l("Product"), [Optional(), Length(max=200)])
    specification = StringField(_l("Specification / model"), [Optional(), Length(max=200)])
    contract_number = StringField(_l("Contract number"), [Optional(), Length(max=100)])
    work_number = StringField(_l("Work number"), [Optional(), Length(max=100)])
    content = TextAreaField(_l("What the customer complains about"), [InputRequired(), Length(max=8000)])
    customer_request = TextAreaField(_l("The customer's request"), [Optional(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = _choices(CHANNELS)
        self.category.choices = _choices(CATEGORIES)
        self.channel.validate_choice = self.category.validate_choice = True

    def validate_channel(self, field):
        _require_choice(field, CHANNELS)

    def validate_category(self, field):
        _require_choice(field, CATEGORIES)


def _require_choice(field, vocabulary: dict[str, str]) -> None:
    if field.data not in vocabulary:
        raise ValidationError(gettext("Choose one of the listed values."))


class NewComplaintForm(RegistrationForm):
    """Registration in the browser: the complaint's fields and the procedure it runs on, when there is a choice
    (left out, it is the one offered first)."""

    procedure = SelectField(_l("Procedure"), [Optional()])

    def __init__(self, procedures: list[tuple[str, str]], *args, **kwargs):
        """`procedures`: (process key, name) of the company's procedures to choose from."""
        super().__init__(*args, **kwargs)
        self.procedure.choices = [SelectChoice(key, name) for key, name in procedures]
