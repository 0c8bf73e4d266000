"""Test runs: an owner plays a draft as a sandbox case (every role at once) and sees the path it takes.

Sandbox cases never appear in inboxes, complaint lists, reports or audits; only this page shows them.
"""
from __future__ import annotations

import dataclasses
import uuid
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from accounts.directory import names_by_id
from accounts.queries import group_names
from complaints.registration import sample_values
from engine import queries
from engine.dto import Actor, TaskView
from engine.errors import EngineError
from engine.records import Instance
from engine.repository import listings, publishing
from engine.repository.xmlload import DiagramError
from engine.runtime.formdata import FormError
from forms.builder import apply_errors, initial_data, read_only, submitted_values, task_form_class
from web.context import actor, db, engine, perform, requires
from web.errors import describe
from web.i18n import locale_code
from web.inputs import json_xml, problems_json, takes_json

bp = Blueprint("test_runs", __name__, url_prefix="/procedures")


def tester() -> Actor:
    """The signed-in owner, allowed to act on every task of their test runs."""
    return dataclasses.replace(actor(), tester=True)


@bp.post("/<key>/test-runs")
@takes_json
@login_required
@requires("test_run")
def start(key: str):
    """Start a sandbox case of the posted draft with a sample complaint; answers the page to play it on."""
    _body, xml = json_xml()
    who, groups = tester(), group_names(db(), current_user.company_id)

    def begin(session: Session) -> int:
        version = publishing.trial_version(session, who.company_id, xml, who.user_id, groups)
        return engine().start(session, version, who, sample_values(), f"TEST-{uuid.uuid4().hex[:8]}").id
    try:
        instance_id = perform(begin, who)
    except DiagramError as error:
        return jsonify(message=_("The test run could not start:"), errors=problems_json(error)), 400
    except EngineError as error:
        return jsonify(message=describe(error), errors=[]), 400
    return jsonify(url=url_for("test_runs.show", instance_id=instance_id)), 201


def _sandbox(instance_id: int) -> Instance:
    instance = listings.sandbox_instance(db(), current_user.company_id, instance_id)
    if instance is None:
        abort(404)
    return instance


def _forms(tasks: tuple[TaskView, ...], data: dict, failed: tuple[str, object] | None) -> dict:
    """A form per open task, prefilled as the inbox's task page does; the one that failed keeps what was typed."""
    forms = {}
    for task in tasks:
        form_class = task_form_class(task.fields, locale_code())
        forms[task.id] = failed[1] if failed and failed[0] == task.id else \
            form_class(data=_shown(task, data), prefix=f"t{task.id[:8]}", formdata=None)
    return forms


def _shown(task: TaskView, data: dict) -> dict:
    """What the task's form shows before anything is typed (dates read on the company's calendar)."""
    return initial_data(task.fields, data, ZoneInfo(current_user.company.timezone),
                        queries.answers_for(db(), task.instance_id, task.element_id))


def _render(instance: Instance, failed: tuple[str, object] | None = None, status: int = 200):
    view = queries.instance_view(db(), engine(), instance)
    history = queries.events(db(), instance.id, current_user.company_id)
    return render_template("procedures/test_run.html", instance=instance, view=view, history=history,
                           forms=_forms(view.tasks, view.data, failed), locale=locale_code(),
                           people=names_by_id(db(), {e.actor_id for e in history})), status


@bp.get("/test-runs/<int:instance_id>")
@login_required
@requires("test_run")
def show(instance_id: int):
    """The sandbox case: the path so far on the diagram, its history, and a form for every open task."""
    return _render(_sandbox(instance_id))


@bp.post("/test-runs/<int:instance_id>/tasks/<task_id>")
@login_required
@requires("test_run")
def complete(instance_id: int, task_id: str):
    """Complete one open task of the test run with the sample data typed in its form."""
    instance = _sandbox(instance_id)
    case = queries.instance_view(db(), engine(), instance)
    view = next((t for t in case.tasks if t.id == task_id), None)
    if view is None:
        abort(404)
    form = task_form_class(view.fields, locale_code())(
        prefix=f"t{task_id[:8]}", data=read_only(view.fields, _shown(view, case.data)))
    if form.validate_on_submit():
        try:
            perform(lambda s: engine().complete(s, task_id, tester(), submitted_values(form, view.fields)), tester())
            flash(_("Done: %(task)s.", task=view.name_in(locale_code())), "success")
            return redirect(url_for("test_runs.show", instance_id=instance_id), 303)
        except FormError as error:
            apply_errors(form, error.errors)
        except EngineError as error:
            flash(describe(error), "error")
            return redirect(url_for("test_runs.show", instance_id=instance_id), 303)
    return _render(instance, (task_id, form), 400)


@bp.get("/test-runs/<int:instance_id>/diagram.bpmn")
@login_required
@requires("test_run")
def diagram(instance_id: int):
    return Response(_sandbox(instance_id).version.bpmn_xml, mimetype="application/xml")
