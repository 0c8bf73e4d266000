"""Auditing one complaint: verify its chain of seals (and its anchor), re-run its recorded inputs, export its
evidence pack, and see who viewed it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required

from accounts.directory import names_by_id
from complaints import queries as complaint_queries
from complaints.choices import N_
from complaints.models import Complaint
from complaints.registration import FIELDS
from complaints.viewlog import ViewLog
from db import utcnow
from engine import queries
from engine.errors import NotFound
from engine.history.anchor import Anchored, AnchorProblem
from engine.history.audit import ChainReport
from engine.history.rerun import rerun
from engine.records import Event, Instance, ProcessVersion
from engine.repository import listings
from forms.actions import ActionForm
from web.context import chosen_people, db, engine, record_viewing, view_log
from web.i18n import locale_code, localtime
from web.pdf import PdfUnavailable, print_pdf

bp = Blueprint("audit", __name__, url_prefix="/complaints")
CHAIN_PROBLEMS = {  # engine.history.audit's problem codes, for people
    "altered": N_("altered"),
    "deleted": N_("deleted"),
    "inserted": N_("inserted"),
    "truncated": N_("removed from the end"),
    "replaced": N_("replaced after it was anchored"),
    "missing": N_("removed with its whole case"),
}


def _complaint(instance_id: int):
    try:
        return complaint_queries.complaint_for_instance(db(), current_user.company_id, instance_id)
    except NotFound:
        abort(404)


def _checked_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _chain(instance_id: int) -> ChainReport:
    [report] = engine().auditor.verify(db(), current_user.company_id, instance_id)
    return report


@bp.app_template_global()
def chain_verdict(report: ChainReport) -> str:
    """What an auditor reads about a broken history: the first event that fails, or the events the anchor proves
    were removed."""
    anchored = report.anchored
    if report.problem == "truncated" and anchored is not None:
        return ngettext("The history was tampered with: event #%(events)s is missing since the checkpoint of "
                        "%(at)s, when the case had %(n)s events.",
                        "The history was tampered with: events #%(events)s are missing since the checkpoint of "
                        "%(at)s, when the case had %(n)s events.", anchored.events - report.broken_at + 1,
                        events=span(report.broken_at, anchored.events), at=localtime(anchored.at), n=anchored.events)
    if report.problem == "replaced" and anchored is not None:
        return _("The history was tampered with: event #%(seq)s is not the one anchored at %(at)s; the history "
                 "was cut back and continued.", seq=report.broken_at, at=localtime(anchored.at))
    return _("The history was tampered with: event #%(seq)s was %(problem)s.", seq=report.broken_at,
             problem=_(CHAIN_PROBLEMS.get(report.problem or "", report.problem)))


def span(first: int, last: int) -> str:
    """Numbers first to last as people write them: "7" or "15–17"."""
    return str(first) if first == last else f"{first}–{last}"


def anchor_damage(problem: AnchorProblem) -> str:
    """What an auditor reads about damage to the anchor file."""
    lines, count = span(problem.first, problem.last), problem.last - problem.first + 1
    if problem.kind == "missing":
        return ngettext("The anchor file was tampered with: line %(lines)s is missing.",
                        "The anchor file was tampered with: lines %(lines)s are missing.", count, lines=lines)
    return ngettext("The anchor file was tampered with: line %(lines)s is not what was signed.",
                    "The anchor file was tampered with: lines %(lines)s are not what was signed.", count, lines=lines)


@bp.post("/<int:instance_id>/verify")
@login_required
def verify(instance_id: int):
    """Recompute the complaint's chain of seals, compare it with the anchor, and say whether its history is
    intact; damage to the anchor file is shown too."""
    complaint = _complaint(instance_id)
    _checked_form()
    report = _chain(complaint.instance_id)
    if report.intact:
        flash(_("The history is intact: %(n)s events, each sealed by the one before.", n=report.events), "success")
    else:
        flash(chain_verdict(report), "error")
    for problem in engine().auditor.anchor_problems(db()):
        flash(anchor_damage(problem), "error")
    return redirect(url_for("complaints.show", instance_id=instance_id), 303)


@bp.post("/<int:instance_id>/rerun")
@login_required
def rerun_case(instance_id: int):
    """Re-execute the recorded inputs in a scratch engine and say whether every step came out the same."""
    complaint = _complaint(instance_id)
    _checked_form()
    report = rerun(db(), engine(), complaint.instance)
    if report.confirmed:
        flash(_("Re-run confirmed: %(n)s recorded steps reproduced exactly.", n=report.steps_checked), "success")
    else:
        divergence = report.divergence
        flash(_("Re-run diverged at event #%(seq)s: %(reason)s", seq=divergence.seq or "—",
                reason=divergence.reason), "error")
    for note in report.notes:
        flash(note, "info")
    return redirect(url_for("complaints.show", instance_id=instance_id), 303)


def _versions(instance: Instance, history) -> list[ProcessVersion]:
    """Every version the case ran on: the one it started on and those it was moved to."""
    ids = {instance.version_id} | {e.data.get(key) for e in history if e.type == "instance_migrated"
                                   for key in ("from_version_id", "to_version_id")}
    return listings.versions_by_id(db(), instance.company_id, ids)


def evidence(complaint: Complaint, history: list[Event], chain: ChainReport, views: ViewLog | None,
             exported_at: datetime) -> dict[str, Any]:
    """The complaint's whole record as plain data: fields, events with their seals, diagrams, chain check, and
    who viewed it (None where the exporter may not see that)."""
    instance = complaint.instance
    people = names_by_id(db(), {e.actor_id for e in history} | {complaint.registered_by_id})
    return {
        "complaint": {"number": complaint.number, **{name: getattr(complaint, name) for name in FIELDS},
                      "registered_at": complaint.registered_at.isoformat(),
                      "registered_by": people.get(complaint.registered_by_id)},
        "case": {"id": instance.id, "status": instance.status, "end_element": instance.end_element,
                 "chain_head": instance.event_head, "events": instance.event_count},
        "chain": {"intact": chain.intact, "broken_at": chain.broken_at, "problem": chain.problem,
                  "seal": "HMAC-SHA-256", "anchored": _checkpoint(chain.anchored)},
        "events": [{"seq": e.seq, "type": e.type, "at": e.at.isoformat(), "actor": people.get(e.actor_id),
                    "element_id": e.element_id, "task_id": e.task_id, "data": e.data, "prev_hash": e.prev_hash,
                    "hash": e.hash} for e in history],
        "diagrams": [{"process_key": v.process_key, "version": v.version, "content_hash": v.content_hash,
                      "bpmn": v.bpmn_xml, "decision_tables": [
                          {"key": d.decision_key, "version": d.version, "dmn": d.dmn_xml} for d in v.decisions]}
                     for v in _versions(instance, history)],
        "views": None if views is None else [{"who": v.who, "page": v.page, "at": v.at.isoformat()}
                                             for v in views.latest],
        "exported_at": exported_at.isoformat(), "exported_by": current_user.name,
    }


def _checkpoint(anchored: Anchored | None) -> dict[str, Any] | None:
    """The anchored checkpoint a verdict rests on, as plain data."""
    return None if anchored is None else {"events": anchored.events, "head": anchored.head,
                                          "at": anchored.at.isoformat()}


@bp.get("/<int:instance_id>/evidence.json")
@login_required
def evidence_json(instance_id: int):
    """The evidence pack as JSON, to file or to check with other tools."""
    complaint = _complaint(instance_id)
    record_viewing(instance_id, "evidence.json")
    history = queries.events(db(), instance_id, current_user.company_id)
    response = jsonify(evidence(complaint, history, _chain(complaint.instance_id), view_log(instance_id, limit=None),
                                utcnow()))
    response.headers["Content-Disposition"] = f'attachment; filename="evidence-{instance_id}.json"'
    return response


@bp.get("/<int:instance_id>/evidence")
@login_required
def evidence_page(instance_id: int):
    """The evidence pack as a printable page."""
    complaint = _complaint(instance_id)
    record_viewing(instance_id, "evidence")
    return _evidence_html(complaint)


@bp.get("/<int:instance_id>/evidence.pdf")
@login_required
def evidence_pdf(instance_id: int):
    """The printable page as a PDF to file, printed by headless Chromium on the server."""
    complaint = _complaint(instance_id)
    record_viewing(instance_id, "evidence.pdf")
    try:
        pdf = print_pdf(_evidence_html(complaint, printed=True), current_app.static_folder,
                        current_app.config["CHROMIUM"])
    except PdfUnavailable:
        flash(_("PDF export needs Chromium on the server; print this page from the browser instead."), "error")
        return redirect(url_for("audit.evidence_page", instance_id=instance_id), 303)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="evidence-{complaint.number}.pdf"'})


def _evidence_html(complaint: Complaint, printed: bool = False) -> str:
    history = queries.events(db(), complaint.instance_id, current_user.company_id)
    views, exported_at, chain = view_log(complaint.instance_id, limit=None), utcnow(), _chain(complaint.instance_id)
    return render_template("complaints/evidence.html", pack=evidence(complaint, history, chain, views, exported_at),
                           chain=chain,
                           complaint=complaint, history=history, views=views, exported_at=exported_at,
                           people=names_by_id(db(), {e.actor_id for e in history}), chosen=chosen_people(history),
                           view=queries.instance_view(db(), engine(), complaint.instance), locale=locale_code(),
                           sealed=True, printed=printed)
