"""Complaints: register one, list them, and one complaint's page with its tasks and history."""
from __future__ import annotations

from dataclasses import replace

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.directory import company_calendar, names_by_id
from complaints import queries as complaint_queries, sla
from complaints.choices import CATEGORIES, CHANNELS, COMPLAINT_STATUSES
from complaints.registration import FIELDS, register
from engine import queries
from engine.errors import EngineError, NotFound
from engine.records import ProcessVersion
from engine.repository import publishing
from engine.repository.specs import name_in
from forms.actions import ActionForm
from forms.builder import form_labels
from forms.registration import NewComplaintForm
from forms.sla import category_label, grade_label
from web.context import (
    STANDARD_PROCESS,
    actor,
    can_act_on,
    chosen_people,
    db,
    engine,
    perform,
    record_viewing,
    requires,
    view_log,
)
from web.errors import describe
from web.i18n import locale_code
from web.register_export import Filters, export_file, export_refused

bp = Blueprint("complaints", __name__, url_prefix="/complaints")


@bp.get("/")
@login_required
def index():
    found = Filters.read()
    after = complaint_queries.Cursor.decode(request.args.get("after"))
    page = complaint_queries.complaint_page(db(), current_user.company_id, found.q, found.status, after,
                                            mine_of=found.mine_of)
    people = names_by_id(db(), {c.first_receiver_id for c in page.complaints})
    return render_template("complaints/index.html", complaints=page.complaints, status=found.status, q=found.q,
                           mine=found.mine_of is not None, next_cursor=page.next.encode() if page.next else None,
                           after=after, statuses=COMPLAINT_STATUSES, channels=CHANNELS, categories=CATEGORIES,
                           people=people)


def _too_many(found: Filters) -> Response | None:
    """Back to the register with a request to narrow the filters when they match more than EXPORT_MAX_ROWS."""
    limit = export_refused(current_user.company_id, found)
    if limit is None:
        return None
    flash(_("These filters match more than %(limit)s complaints, more than one export may hold. Narrow the search "
            "or choose a status, then export again.", limit=f"{limit:,}"), "error")
    return redirect(url_for("complaints.index", **found.query()), 303)


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    found = Filters.read()
    refused = _too_many(found)
    return refused if refused is not None else export_file(current_user.company, found, "xlsx")


@bp.get("/export.csv")
@login_required
def export_csv():
    found = Filters.read()
    refused = _too_many(found)
    return refused if refused is not None else export_file(current_user.company, found, "csv")


def _procedures() -> dict[str, tuple[ProcessVersion, str]]:
    """The company's procedures a person may register a complaint on: key -> (newest version, name shown)."""
    locale = locale_code()
    return {v.process_key: (v, name_in(engine().compiled(v).element_names, v.process_key, locale) or v.name)
            for v in publishing.startable_versions(db(), current_user.company_id)}


def _preferred(procedures: dict) -> str | None:
    """The procedure offered first: the one this user registered on last, else the standard one, else the first."""
    for key in (current_user.last_procedure, STANDARD_PROCESS):
        if key in procedures:
            return key
    return next(iter(procedures), None)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@requires("register_complaint")
def new():
    procedures = _procedures()
    form = NewComplaintForm([(key, name) for key, (_v, name) in procedures.items()],
                            data={"procedure": _preferred(procedures)})
    if procedures and form.validate_on_submit():
        version = procedures[form.procedure.data][0]
        values = {name: form[name].data for name in FIELDS}
        try:
            complaint = perform(lambda s: register(s, engine(), s.merge(version), actor(), values,
                                                   current_user.company.timezone))
        except EngineError as error:
            flash(describe(error), "error")
        else:
            flash(_("Complaint %(number)s registered.", number=complaint.number), "success")
            return redirect(url_for("complaints.show", instance_id=complaint.instance_id), 303)
    return render_template("complaints/new.html", form=form, procedures=procedures), 400 if form.errors else 200


def _complaint_or_404(instance_id: int):
    try:
        return complaint_queries.complaint_for_instance(db(), current_user.company_id, instance_id)
    except NotFound:
        abort(404)


@bp.get("/<int:instance_id>")
@login_required
def show(instance_id: int):
    complaint = _complaint_or_404(instance_id)
    record_viewing(instance_id, "complaint")
    view = queries.instance_view(db(), engine(), complaint.instance)
    view = replace(view, field_labels={**form_labels(), **view.field_labels})  # the history names every field
    history = queries.events(db(), instance_id, current_user.company_id)
    clocks = sla.clocks_of(db(), [instance_id]).get(instance_id, [])
    people = names_by_id(db(), {e.actor_id for e in history} | {t.assignee_id for t in view.tasks}
                         | {complaint.registered_by_id, complaint.first_receiver_id}
                         | {c.acknowledged_by_id for c in clocks})
    return render_template("complaints/show.html", complaint=complaint, view=view, history=history, clocks=clocks,
                           now=engine().clock(), calendar=company_calendar(db(), current_user.company_id),
                           grade_label=grade_label, category_label=category_label,
                           people=people, chosen=chosen_people(history), channels=CHANNELS, categories=CATEGORIES,
                           statuses=COMPLAINT_STATUSES,
                           locale=locale_code(), version=complaint.instance.version, can_act_on=can_act_on,
                           action_form=ActionForm(), views=view_log(instance_id))


@bp.get("/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    complaint = _complaint_or_404(instance_id)
    return Response(complaint.instance.version.bpmn_xml, mimetype="application/xml")
