"""My notifications: the list (opening one marks it read and goes where it points), marking all read, the unread
count in the header, and my choices of what is mailed, one by one or in a daily digest."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from db import utcnow
from engine.records import InboxTask
from notifications.kinds import KINDS, render
from notifications.models import Notification, NotificationPreferences
from web.context import db
from web.i18n import locale_code
from web.tasks import ActionForm

bp = Blueprint("notifications", __name__)
SHOWN = 100  # the newest; older ones are still counted until read


def _mine() -> sa.ColumnElement[bool]:
    return sa.and_(Notification.user_id == current_user.id, Notification.company_id == current_user.company_id)


def unread_count() -> int:
    return db().scalar(sa.select(sa.func.count()).select_from(Notification)
                       .where(_mine(), Notification.read_at.is_(None)))


@bp.app_context_processor
def header() -> dict:
    """The header asks for the count only on pages of a signed-in user."""
    return {"unread_notifications": unread_count}


@bp.get("/notifications")
@login_required
def index():
    found = db().scalars(sa.select(Notification).where(_mine())
                         .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(SHOWN)).all()
    locale, zone = locale_code(), current_user.company.timezone
    items = [(notification, render(notification.kind, notification.params, locale, zone, _)) for notification in found]
    return render_template("notifications/index.html", items=items, unread=unread_count(), action_form=ActionForm())


@bp.get("/notifications/<int:notification_id>")
@login_required
def follow(notification_id: int):
    """Mark it read and go where it points now: its task while open, else its complaint. A GET so that links in
    mails work; all it changes is the reader's own read mark."""
    notification = db().scalar(sa.select(Notification).where(Notification.id == notification_id, _mine()))
    if notification is None:
        abort(404)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db().commit()
    return redirect(_target(notification))


def _target(notification: Notification) -> str:
    if notification.task_id and db().scalar(sa.select(InboxTask.id).where(
            InboxTask.id == notification.task_id, InboxTask.company_id == current_user.company_id)):
        return url_for("inbox.task", task_id=notification.task_id)
    if notification.instance_id is not None:
        return url_for("complaints.show", instance_id=notification.instance_id)
    return url_for("notifications.index")


@bp.post("/notifications/read")
@login_required
def read_all():
    if not ActionForm().validate_on_submit():
        abort(400)
    db().execute(sa.update(Notification).where(_mine(), Notification.read_at.is_(None)).values(read_at=utcnow()))
    db().commit()
    flash(_("All notifications marked read."), "success")
    return redirect(url_for("notifications.index"), 303)


class PreferencesForm(FlaskForm):
    mailed = SelectMultipleField(_l("E-mail me when"),
                                 choices=[SelectChoice(kind, _l(text.choice)) for kind, text in KINDS.items()],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    digest = BooleanField(_l("Collect these e-mails in one summary each morning at 08:00, with my overdue tasks"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    prefs = db().get(NotificationPreferences, current_user.id) or NotificationPreferences(user_id=current_user.id,
                                                                                          muted=[], digest=False)
    form = PreferencesForm(data={"mailed": [kind for kind in KINDS if prefs.mails(kind)], "digest": prefs.digest})
    if form.validate_on_submit():
        prefs.choose(set(KINDS) - set(form.mailed.data), form.digest.data, _company_now())
        db().add(prefs)
        db().commit()
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for("notifications.preferences"), 303)
    return render_template("notifications/preferences.html", form=form), 400 if form.errors else 200


def _company_now() -> datetime:
    return utcnow().astimezone(ZoneInfo(current_user.company.timezone))
