"""The inbox and task pages: list, claim, release, open a form, complete it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from accounts.directory import company_calendar, company_people, names_by_id
from complaints import sla
from complaints.deadlines import Deadline, deadlines, earliest
from complaints.queries import complaint_instances
from engine import queries
from engine.dto import TaskView
from engine.errors import EngineError
from engine.records import InboxTask
from engine.repository import listings
from engine.repository.specs import name_in
from engine.runtime.formdata import FormError
from forms.actions import ActionForm
from forms.builder import PeopleChoices, apply_errors, initial_data, read_only, submitted_values, task_form_class
from forms.sla import AcknowledgeForm
from web.context import actor, can, db, engine, perform, requires
from web.errors import describe, engine_error_status
from web.i18n import locale_code

bp = Blueprint("inbox", __name__)
SCOPES = ("all", "mine", "groups")


@bp.app_template_filter("working_time")
def working_time(left: timedelta, overdue: bool | None = None) -> str:
    """Working time left ('13 h 05 min left') or overdue ('2 h 10 min overdue'); `overdue` says which when the
    caller knows (a deadline passed outside working hours is overdue by no working time yet)."""
    overdue = left < timedelta(0) if overdue is None else overdue
    if overdue and not left:
        return _("overdue, outside working hours")
    minutes = int(abs(left).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    amount = _("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes) if hours \
        else _("%(minutes)d min", minutes=minutes)
    return _("%(time)s overdue", time=amount) if overdue else _("%(time)s left", time=amount)


@dataclass(frozen=True)
class InboxRow:
    task: TaskView
    deadlines: list[Deadline]  # most urgent first


def _rows(tasks: list[TaskView], sort: str, overdue_only: bool) -> list[InboxRow]:
    """The tasks with their deadlines in working time, filtered to the overdue ones and sorted as asked."""
    clocks = sla.clocks_of(db(), {task.instance_id for task in tasks})
    calendar, now = company_calendar(db(), actor().company_id), engine().clock()
    rows = [InboxRow(task, deadlines(task.due_at, task.created_at, clocks.get(task.instance_id, ()), now, calendar))
            for task in tasks]
    if overdue_only:
        rows = [row for row in rows if any(d.overdue for d in row.deadlines)]
    if sort == "due":  # stable: among equal due times the priority order stays
        rows.sort(key=lambda row: (earliest(row.deadlines) is None, earliest(row.deadlines) or now))
    return rows


@bp.get("/")
@login_required
def index():
    scope = request.args.get("scope", "all")
    scope = scope if scope in SCOPES else "all"
    sort = "due" if request.args.get("sort") == "due" else "priority"
    overdue_only = request.args.get("overdue") == "1"
    tasks = queries.tasks_for(db(), engine(), actor(), scope) if can("work_cases") else []
    rows = _rows(tasks, sort, overdue_only)
    escalations = sla.escalations_for(db(), actor().company_id, [g.name for g in current_user.groups]) \
        if can("work_cases") else []
    holders = names_by_id(db(), {t.assignee_id for t in tasks})
    numbers = listings.business_keys(db(), actor().company_id, {c.instance_id for c in escalations})
    return render_template("inbox/index.html", rows=rows, clock_numbers=numbers,
                           complaint_ids=complaint_instances(db(), {t.instance_id for t in tasks}),
                           any_tasks=bool(tasks), scope=scope, sort=sort, overdue_only=overdue_only, holders=holders,
                           escalations=escalations,
                           acknowledge_form=AcknowledgeForm(), action_form=ActionForm(), locale=locale_code())


def _visible_task(task_id: str) -> tuple[InboxTask, TaskView]:
    """The task if it is in my company and offered to me; 404 and 403 otherwise."""
    row = db().get(InboxTask, task_id)
    if row is None or row.company_id != actor().company_id:
        abort(404)
    if not engine().may_act(row, actor()):
        abort(403)
    instance = queries.get_instance(db(), row.instance_id, row.company_id)
    return row, queries.task_view(engine(), row, instance)


def _after_error(error: EngineError):
    """Missing or forbidden: the error page; a conflict: back to the inbox saying who won."""
    status = engine_error_status(error)
    if status in (403, 404):
        abort(status)
    flash(describe(error), "error")
    return redirect(url_for("inbox.index"), 303)


def _step(action, message: str, target: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        perform(action)
    except EngineError as error:
        return _after_error(error)
    flash(message, "success")
    return redirect(target, 303)


def people_choices(task: TaskView) -> PeopleChoices:
    """The company's users and groups, for a task with a field choosing one (read only then)."""
    kinds = {spec.choices for spec in task.fields if spec.choices}
    if not kinds:
        return PeopleChoices()
    users, groups = company_people(db(), actor().company_id)
    locale = locale_code()
    return PeopleChoices(
        users=tuple((p.email, f"{p.name} · {', '.join(name_in(task.group_labels, g, locale) for g in p.groups)}"
                     if p.groups else p.name) for p in users) if "users" in kinds else (),
        groups=tuple((g, name_in(task.group_labels, g, locale)) for g in groups) if "groups" in kinds else ())


@bp.post("/tasks/<task_id>/claim")
@login_required
@requires("work_cases")
def claim(task_id: str):
    return _step(lambda s: engine().claim(s, task_id, actor()), _("You now hold this task."),
                 url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/release")
@login_required
@requires("work_cases")
def release(task_id: str):
    return _step(lambda s: engine().release(s, task_id, actor()),
                 _("Task released: your groups see it as open again."), url_for("inbox.index"))


class _Submission:
    """The posted task form, checked inside the completion on the task and case data its step read, so a completion
    reads them once; it keeps them to show the form again when it is refused."""

    view: TaskView
    data: dict[str, Any]
    form: FlaskForm

    def __call__(self, view: TaskView, data: dict[str, Any]) -> dict[str, Any]:
        self.view, self.data = view, data
        shown = initial_data(view.fields, data, ZoneInfo(current_user.company.timezone))
        self.form = _form_class(view)(data=read_only(view.fields, shown))
        if not self.form.validate_on_submit():
            raise _FormRefused
        return submitted_values(self.form, view.fields)


class _FormRefused(Exception):
    """The posted form did not validate; the step ends unwritten and the page shows the form's errors."""


def _form_class(view: TaskView) -> type[FlaskForm]:
    return task_form_class(view.fields, locale_code(), people_choices(view))


def _task_page(view: TaskView, form: FlaskForm, data: dict[str, Any]):
    status = 400 if form.errors or form.form_errors else 200
    return render_template("inbox/task.html", task=view, form=form, data=data, complaint_id=view.instance_id,
                           is_complaint=bool(complaint_instances(db(), [view.instance_id])),
                           holders=names_by_id(db(), {view.assignee_id}), action_form=ActionForm(),
                           locale=locale_code()), status


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
@requires("work_cases")
def task(task_id: str):
    if request.method == "POST":
        return _complete(task_id)
    _, view = _visible_task(task_id)
    instance = queries.get_instance(db(), view.instance_id, actor().company_id)
    data = queries.instance_view(db(), engine(), instance).data
    shown = initial_data(view.fields, data, ZoneInfo(current_user.company.timezone),
                         queries.answers_for(db(), instance.id, view.element_id))
    return _task_page(view, _form_class(view)(data=shown), data)


def _complete(task_id: str):
    """Complete the task with the posted form: done, back to the inbox; refused, the form again with its errors."""
    submission = _Submission()
    try:
        perform(lambda s: engine().complete(s, task_id, actor(), submission))
    except _FormRefused:
        pass
    except FormError as error:
        apply_errors(submission.form, error.errors)
    except EngineError as error:
        return _after_error(error)
    else:
        flash(_("Done: %(task)s.", task=submission.view.name_in(locale_code())), "success")
        return redirect(url_for("inbox.index"), 303)
    return _task_page(submission.view, submission.form, submission.data)
