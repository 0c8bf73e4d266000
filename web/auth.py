"""Sign in, sign out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from auth.models import User
from web.context import database, db

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), [InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), [InputRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no backslashes or control characters."""
    if not target or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("inbox.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("inbox.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db().scalar(sa.select(User).where(User.email == form.email.data.strip().lower()))
        if user is not None and user.is_active and user.check_password(form.password.data):
            chosen = session.get("lang")  # a language picked on the login page wins over the saved one
            session.clear()
            login_user(user)
            if chosen:
                _remember_language(user.id, chosen)
            if chosen or user.locale:
                session["lang"] = chosen or user.locale
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


class LanguageForm(FlaskForm):
    """Only the CSRF token: the language comes from the URL."""


@bp.post("/language/<code>")
def language(code: str):
    form = LanguageForm()
    if form.validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            _remember_language(current_user.id, code)
    return redirect(_safe_next(request.form.get("next")))


def _remember_language(user_id: int, code: str) -> None:
    with database().session() as s:
        s.get(User, user_id).locale = code
