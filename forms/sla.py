"""The SLA forms: a policy (targets, warning, escalation) and acknowledging an escalated breach; the names of
grades and categories as pages and forms show them."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from complaints import sla
from complaints.choices import CATEGORIES, GRADE_VALUES, GRADES

TARGET_HINT = _l("Business time on the company's calendar (“5 working days”, “4 working hours”, “next working day "
                 "15:00”) or calendar time in ISO 8601 (“PT24H”); empty: no target.")


def grade_label(key: str) -> str:
    """'level:1' → 'Level 1'; '' → any grade."""
    if not key:
        return _("Any grade")
    field, _sep, value = key.partition(":")
    return _(GRADES[field], grade=_(GRADE_VALUES.get(field, {}).get(value, value))) if field in GRADES else key


def category_label(key: str) -> str:
    return _(CATEGORIES[key]) if key in CATEGORIES else _("Any category")


def _check_target(form: FlaskForm, field: StringField) -> None:
    problem = sla.target_problem(field.data or "")
    if problem:
        raise ValidationError(_(problem))


class PolicyForm(FlaskForm):
    grade = SelectField(_l("Grade"))
    category = SelectField(_l("Category"))
    response_target = StringField(_l("Respond within"), [Length(max=64), _check_target], description=TARGET_HINT)
    resolution_target = StringField(_l("Resolve within"), [Length(max=64), _check_target], description=TARGET_HINT)
    warn_percent = IntegerField(_l("Warn at (percent of the target)"), [InputRequired(), NumberRange(1, 99)],
                                default=80)
    escalate_to = SelectField(_l("On a breach, escalate to"))
    note = TextAreaField(_l("What changed and why"), [DataRequired(), Length(max=2000)])

    def __init__(self, *args, groups: Iterable[str] = (), **kwargs) -> None:
        """`groups`: the company's groups a breach can be escalated to."""
        super().__init__(*args, **kwargs)
        self.grade.choices = [("", _("Any grade"))] + [(f"{field}:{value}", grade_label(f"{field}:{value}"))
                                                      for field, values in GRADE_VALUES.items() for value in values]
        self.category.choices = [("", _("Any category"))] + [(key, _(label)) for key, label in CATEGORIES.items()]
        self.escalate_to.choices = [("", _("Nobody (notify the task holders only)"))] + [(g, g) for g in groups]

    def validate_resolution_target(self, field: StringField) -> None:
        if not (field.data or "").strip() and not (self.response_target.data or "").strip():
            raise ValidationError(_("Give a response target, a resolution target or both."))

    def values(self) -> dict:
        return {"grade": self.grade.data, "category": self.category.data,
                "response_target": self.response_target.data.strip(),
                "resolution_target": self.resolution_target.data.strip(),
                "warn_fraction": self.warn_percent.data / 100, "escalate_to": self.escalate_to.data,
                "note": self.note.data.strip()}


class AcknowledgeForm(FlaskForm):
    """What the next level up did about an SLA breach escalated to it."""

    text = TextAreaField(_l("What was done"), [DataRequired(), Length(max=2000)])
