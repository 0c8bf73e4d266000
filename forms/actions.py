"""Buttons that change something (claim, release, mark read, make default, ...): a form with only the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """Claim and release buttons carry only the CSRF token."""
