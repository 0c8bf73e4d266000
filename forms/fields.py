"""Field types shared by built-in and diagram-declared task forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice


class YesNoField(RadioField):
    """A boolean answered explicitly: 'no' is an answer, not a missing value."""

    def __init__(self, label=None, validators=None, **kwargs):
        choices = [SelectChoice("true", _l("Yes")), SelectChoice("false", _l("No"))]
        super().__init__(label, validators, choices=choices, **kwargs)

    def process_data(self, value):
        super().process_data({True: "true", False: "false"}.get(value, value))
