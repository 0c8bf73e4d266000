"""My notifications: the list (opening one marks it read and goes where it points), marking all read, the unread
count in the header, and my choices of what is mailed, one by one or in a daily digest."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from db import utcnow
from engine.repository import listings
from forms.actions import ActionForm
from forms.notifications import PreferencesForm
from notifications import queries
from notifications.kinds import KINDS, render
from notifications.models import Notification
from notifications.reader import mark_read, save_preferences
from web.context import db, perform
from web.i18n import locale_code

bp = Blueprint("notifications", __name__)
SHOWN = 100  # the newest; older ones are still counted until read


def unread_count() -> int:
    return queries.unread_count(db(), current_user.id, current_user.company_id)


@bp.app_context_processor
def header() -> dict:
    """The header asks for the count only on pages of a signed-in user."""
    return {"unread_notifications": unread_count}


@bp.get("/notifications")
@login_required
def index():
    found = queries.latest(db(), current_user.id, current_user.company_id, SHOWN)
    locale, zone = locale_code(), current_user.company.timezone
    items = [(notification, render(notification.kind, notification.params, locale, zone, _)) for notification in found]
    return render_template("notifications/index.html", items=items, unread=unread_count(), action_form=ActionForm())


@bp.get("/notifications/<int:notification_id>")
@login_required
def follow(notification_id: int):
    """Mark it read and go where it points now: its task while open, else its complaint. A GET so that links in
    mails work; all it changes is the reader's own read mark."""
    notification = queries.notification(db(), current_user.id, current_user.company_id, notification_id)
    if notification is None:
        abort(404)
    if notification.read_at is None:
        perform(lambda s: mark_read(s, current_user.id, current_user.company_id, [notification_id]))
    return redirect(_target(notification))


def _target(notification: Notification) -> str:
    if notification.task_id and listings.has_task(db(), current_user.company_id, notification.task_id):
        return url_for("inbox.task", task_id=notification.task_id)
    if notification.instance_id is not None:
        return url_for("complaints.show", instance_id=notification.instance_id)
    return url_for("notifications.index")


@bp.post("/notifications/read")
@login_required
def read_all():
    if not ActionForm().validate_on_submit():
        abort(400)
    perform(lambda s: mark_read(s, current_user.id, current_user.company_id))
    flash(_("All notifications marked read."), "success")
    return redirect(url_for("notifications.index"), 303)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    prefs = queries.preferences(db(), current_user.id)
    form = PreferencesForm(data={"mailed": [kind for kind in KINDS if prefs.mails(kind)], "digest": prefs.digest})
    if form.validate_on_submit():
        muted = set(KINDS) - set(form.mailed.data)
        perform(lambda s: save_preferences(s, current_user.id, muted, form.digest.data, _company_now()))
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for("notifications.preferences"), 303)
    return render_template("notifications/preferences.html", form=form), 400 if form.errors else 200


def _company_now() -> datetime:
    return utcnow().astimezone(ZoneInfo(current_user.company.timezone))
