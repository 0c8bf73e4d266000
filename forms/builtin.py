"""Built-in task forms a diagram can name with camunda:formKey."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from forms.fields import YesNoField


class CallbackForm(FlaskForm):
    """The customer callback (回访): reached or not, satisfied or not; unsatisfied reopens the case."""

    callback_reached = YesNoField(_l("The customer was reached"), [InputRequired()])
    satisfied = YesNoField(_l("The customer is satisfied with the handling"), [Optional()])
    callback_note = TextAreaField(_l("Notes from the call"), [Optional(), Length(max=4000)])

    # The same rule as validate_satisfied, for the engine (which checks every channel, the API included).
    REQUIRED_WHEN = {"satisfied": ("callback_reached", True)}

    def validate_satisfied(self, field):
        if self.callback_reached.data == "true" and field.data not in ("true", "false"):
            raise ValidationError(gettext("Say whether the customer is satisfied."))
