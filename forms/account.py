"""Signing in, choosing the language, and the account page's forms: a new password, and a named API token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from accounts.provisioning import MIN_PASSWORD


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), [InputRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), [InputRequired(), Length(min=MIN_PASSWORD, max=200)])
    confirm = PasswordField(_l("New password again"),
                            [InputRequired(), EqualTo("new", message=_l("The two new passwords are not the same."))])


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), [InputRequired(), Length(max=100)],
                       render_kw={"placeholder": _l("e.g. ERP integration")})


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), [InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), [InputRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    """Only the CSRF token: the language comes from the URL."""
