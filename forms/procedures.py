"""The procedure and decision-table pages' forms: uploading a diagram or a table, moving cases to a version."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional


class UploadForm(FlaskForm):
    diagram = FileField(_l("BPMN file"), [FileRequired()])
    note = StringField(_l("What changed and why"), [Optional(), Length(max=500)])


class DecisionUploadForm(FlaskForm):
    table = FileField(_l("DMN file"), [FileRequired()])
    note = StringField(_l("What changed and why"), [Optional(), Length(max=500)])


class MigrateForm(FlaskForm):
    """The complaints to move are checkboxes named `instance`; the form carries the CSRF token."""
