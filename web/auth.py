"""Sign in, sign out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session

from accounts import sessions
from accounts.models import User
from accounts.provisioning import authenticate, choose_language
from forms.account import LanguageForm, LoginForm
from web import throttle
from web.context import SESSION_SECRET, db, perform, too_many_attempts

bp = Blueprint("auth", __name__)


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
        email = form.email.data
        until = throttle.blocked_until(email)
        if until is not None:
            flash(too_many_attempts(until), "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(db(), email, form.password.data)
        if user is not None:
            throttle.succeeded(email)
            return _signed_in(user)
        throttle.failed(email)
        flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _signed_in(user: User):
    """Start the user's server-side session in a fresh cookie, keeping a language picked on the login page."""
    chosen = session.get("lang")  # a language picked on the login page wins over the saved one
    secret = perform(lambda s: _begin(s, user, chosen))
    session.clear()
    session.permanent = True
    session[SESSION_SECRET] = secret
    login_user(user)
    if chosen or user.locale:
        session["lang"] = chosen or user.locale
    return redirect(_safe_next(request.args.get("next")))


def _begin(s: Session, user: User, language: str | None) -> str:
    """The user's new server-side session (its secret), remembering a language picked on the login page."""
    if language:
        choose_language(s, user.id, language)
    return sessions.begin(s, user, request.user_agent.string, request.remote_addr or "")


@bp.post("/logout")
@login_required
def logout():
    secret = session.get(SESSION_SECRET)
    if isinstance(secret, str):
        perform(lambda s: sessions.end(s, secret, "sign_out"))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language/<code>")
def language(code: str):
    form = LanguageForm()
    if form.validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            perform(lambda s: choose_language(s, current_user.id, code))
    return redirect(_safe_next(request.form.get("next")))
