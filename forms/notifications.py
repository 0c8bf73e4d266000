"""The notification settings form: which kinds are mailed, and whether in a morning digest."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from notifications.kinds import KINDS


class PreferencesForm(FlaskForm):
    mailed = SelectMultipleField(_l("E-mail me when"),
                                 choices=[SelectChoice(kind, _l(text.choice)) for kind, text in KINDS.items()],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    digest = BooleanField(_l("Collect these e-mails in one summary each morning at 08:00, with my overdue tasks"))
