"""My account: who I am, my password (changing it signs out my other sessions), the browsers signed in as me (each
can be signed out), and my API tokens (created with a name and shown once, revoked one by one)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from accounts import sessions, tokens
from accounts.models import Role
from accounts.provisioning import change_password
from db import utcnow
from forms.account import PasswordForm, TokenForm
from forms.actions import ActionForm
from web import throttle
from web.context import SESSION_SECRET, db, perform, too_many_attempts

bp = Blueprint("account", __name__, url_prefix="/account")
ROLE_LABELS = {Role.ADMIN.value: _l("Administrator"), Role.PROCESS_OWNER.value: _l("Process owner"),
               Role.EMPLOYEE.value: _l("Employee"), Role.AUDITOR.value: _l("Auditor")}

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("MicroMessenger", "WeChat"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-requests", "Python"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def device(user_agent: str) -> str:
    """'Chrome · Windows' from a browser's user agent, for people to recognise their sessions by."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    found = " · ".join(part for part in (browser, system) if part)
    return found or re.sub(r"\s+", " ", user_agent)[:40] or _("Unknown device")


def _page(password_form: PasswordForm | None = None, token_form: TokenForm | None = None, new_token: str = "",
          status: int = 200):
    secret = session.get(SESSION_SECRET)
    live = sessions.sessions_of(db(), current_user.id, current_app.config["SESSION_IDLE_TIMEOUT"])
    return render_template("account/index.html", password_form=password_form or PasswordForm(),
                           token_form=token_form or TokenForm(), action_form=ActionForm(), new_token=new_token,
                           sessions=[(row, device(row.user_agent), sessions.is_current(row, secret)) for row in live],
                           tokens=tokens.tokens_of(db(), current_user.id), now=utcnow(),
                           role_label=lambda role: ROLE_LABELS.get(role, role)), status


@bp.get("/")
@login_required
def index():
    return _page()


@bp.post("/password")
@login_required
def password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return _page(password_form=form, status=400)
    until = throttle.blocked_until(current_user.email)
    if until is not None:
        flash(too_many_attempts(until), "error")
        return _page(password_form=form, status=429)
    changed, ended = perform(lambda s: _change_password(s, form))
    if not changed:
        throttle.failed(current_user.email)
        form.current.errors = [_("This is not your current password.")]
        return _page(password_form=form, status=400)
    flash(ngettext("Your password is changed; %(num)d other session was signed out.",
                   "Your password is changed; %(num)d other sessions were signed out.", ended), "success")
    return redirect(url_for("account.index"), 303)


def _change_password(s: Session, form: PasswordForm) -> tuple[bool, int]:
    """Change my password if the current one is right; then my other sessions end (how many did)."""
    if not change_password(s, current_user.id, form.current.data, form.new.data):
        return False, 0
    return True, sessions.end_others(s, current_user.id, session.get(SESSION_SECRET), "password_changed")


def _action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    _action()
    ended = perform(lambda s: sessions.end_one(s, current_user.id, session_id, "signed_out_elsewhere"))
    if not ended:
        abort(404)
    flash(_("That session is signed out."), "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    _action()
    ended = perform(lambda s: sessions.end_others(s, current_user.id, session.get(SESSION_SECRET),
                                                  "signed_out_elsewhere"))
    flash(ngettext("%(num)d other session signed out.", "%(num)d other sessions signed out.", ended), "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/tokens")
@login_required
def new_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(token_form=form, status=400)
    value = perform(lambda s: tokens.issue(s, current_user, current_app.config["API_TOKEN_LIFETIME"], form.name.data))
    return _page(new_token=value)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    _action()
    revoked = perform(lambda s: tokens.revoke(s, current_user.id, token_id))
    if not revoked:
        abort(404)
    flash(_("The token is revoked; it no longer opens the API."), "success")
    return redirect(url_for("account.index"), 303)
