"""An admin's corrections to a complaint: edit its data, retry it after an error, skip a task, rewind it.

Each correction is one engine step (engine.runtime.corrections) carrying the admin's reason; the history records it with
the values before and after. A refused correction re-renders the page with the reason and what was typed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from complaints import queries as complaint_queries, sla
from complaints.choices import STATUSES
from complaints.models import Complaint
from complaints.registration import apply_corrections
from engine import queries
from engine.dto import InstanceView
from engine.errors import EngineError, NotFound
from engine.history.replay import cached_replay
from engine.records import Instance
from engine.runtime import corrections
from forms.actions import ActionForm
from web.context import actor, db, engine, perform, requires
from web.errors import describe, engine_error_status
from web.i18n import locale_code
from web.inputs import int_arg

bp = Blueprint("corrections", __name__, url_prefix="/complaints")
VALUE = "value:"  # prefix of the data form's inputs, one per field: value:<field>


@dataclass(frozen=True)
class DataField:
    """One field of the case's data as the form shows it: `shown` is its current value as typed text."""

    key: str
    label: str
    kind: str  # "yes_no", "number", "text", "long" (a text area) or "fixed" (a list or table: not editable here)
    shown: str


def _shown(value: Any) -> str:
    """A value as the form shows and posts it, so an untouched input compares equal to it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "yes_no"
    if isinstance(value, (int, float)):
        return "number"
    if value is None or isinstance(value, str):
        return "long" if value and (len(value) > 60 or "\n" in value) else "text"
    return "fixed"


def _fields(view: InstanceView, locale: str) -> list[DataField]:
    return [DataField(key, view.label_of(key, locale), _kind(value), _shown(value)) for key, value in view.data.items()]


def _complaint(instance_id: int) -> Complaint:
    try:
        return complaint_queries.complaint_for_instance(db(), current_user.company_id, instance_id)
    except NotFound:
        abort(404)


def _page(complaint: Complaint, failed: str = "", message: str = ""):
    """The page; after a refusal, `failed` names the form refused, shown with `message` and the values typed."""
    instance, locale = complaint.instance, locale_code()
    view = queries.instance_view(db(), engine(), instance)
    replayed, _chain = cached_replay(db(), engine(), instance)
    worked = [step for step in replayed.steps if step.events[0].type not in sla.EVENT_TYPES]  # not mere notes
    steps = [step for step in worked[:-1] if step.reproduced]  # after the last step is where it stands
    return render_template("complaints/corrections.html", complaint=complaint, view=view, fields=_fields(view, locale),
                           steps=steps, form=ActionForm(), failed=failed, message=message,
                           typed=request.form if failed else {}, statuses=STATUSES, locale=locale)


@bp.get("/<int:instance_id>/corrections")
@login_required
@requires("correct_case")
def show(instance_id: int):
    """The case's data, open tasks and history moments, each with the correction an admin can make."""
    return _page(_complaint(instance_id))


def _correct(instance_id: int, failed: str, action: Callable[[Session, Instance], dict[str, Any]],
             done: Callable[[dict[str, Any]], str]):
    """Run one correction in its own transaction; back to the page saying what was done, or why not."""
    _complaint(instance_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = perform(lambda s: action(s, queries.get_instance(s, instance_id, current_user.company_id)))
    except EngineError as error:
        status = engine_error_status(error)
        if status in (403, 404):
            abort(status)
        db().rollback()  # show what the failed step left: a retry that failed again stopped the case again
        return _page(_complaint(instance_id), failed, describe(error)), status
    flash(done(result), "success")
    return redirect(url_for("corrections.show", instance_id=instance_id), 303)


def _reason() -> str:
    return request.form.get("reason", "")


@bp.post("/<int:instance_id>/corrections/data")
@login_required
@requires("correct_case")
def correct_data(instance_id: int):
    """Set the fields whose typed value differs from the one shown."""
    view = queries.instance_view(db(), engine(), _complaint(instance_id).instance)
    locale = locale_code()
    values = {f.key: request.form[VALUE + f.key] for f in _fields(view, locale)
              if f.kind != "fixed" and request.form.get(VALUE + f.key, f.shown) != f.shown}
    def correct(session: Session, instance: Instance) -> dict[str, Any]:
        result = corrections.correct_data(session, engine(), instance, actor(), values, _reason())
        apply_corrections(session, instance.id, result["changes"])
        return result

    return _correct(instance_id, "data", correct,
                    lambda result: _("Data corrected: %(fields)s.", fields=", ".join(
                        view.label_of(key, locale) for key in result["changes"])))


@bp.post("/<int:instance_id>/corrections/retry")
@login_required
@requires("correct_case")
def retry(instance_id: int):
    """Let a stopped case run again."""
    return _correct(instance_id, "retry",
                    lambda s, instance: corrections.retry(s, engine(), instance, actor(), _reason()),
                    lambda result: _("The case runs again; its due timers have fired."))


@bp.post("/<int:instance_id>/corrections/skip")
@login_required
@requires("correct_case")
def skip(instance_id: int):
    """Complete an open task without its form."""
    task_id = request.form.get("task", "")
    view = queries.instance_view(db(), engine(), _complaint(instance_id).instance)
    task = next((t for t in view.tasks if t.id == task_id), None)
    name = task.name_in(locale_code()) if task else task_id
    return _correct(instance_id, f"skip:{task_id}",
                    lambda s, instance: corrections.skip(s, engine(), instance, task_id, actor(), _reason()),
                    lambda result: _("Skipped “%(task)s”; the case moved on.", task=name))


@bp.post("/<int:instance_id>/corrections/rewind")
@login_required
@requires("correct_case")
def rewind(instance_id: int):
    """Put the case back into the state it had after a chosen step."""
    to_seq = int_arg(request.form, "to_seq", 0)
    return _correct(instance_id, "rewind",
                    lambda s, instance: corrections.rewind(s, engine(), instance, actor(), to_seq, _reason()),
                    lambda result: _("The case is back where it stood after event #%(seq)s.", seq=to_seq))
