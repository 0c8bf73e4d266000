"""Decision tables (DMN): versions, upload, download and the dmn-js editor; publishing one updates its callers."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from accounts.directory import names_by_id
from engine.records import DecisionVersion, ProcessVersion
from engine.repository import decisions, listings
from engine.repository.xmlload import DiagramError
from forms.procedures import DecisionUploadForm
from web.context import can, db, perform, requires
from web.i18n import locale_code
from web.inputs import takes_json
from web.texts import viewer_texts

bp = Blueprint("decisions", __name__, url_prefix="/decisions")




def _publish(data: bytes, note: str) -> tuple[DecisionVersion, list[ProcessVersion]]:
    company_id, user_id = current_user.company_id, current_user.id
    return perform(lambda s: decisions.publish_decision(s, company_id, data, user_id, note))


def _published_message(version: DecisionVersion, callers: list[ProcessVersion]) -> str:
    message = _("Published decision table %(key)s version %(version)s.", key=version.decision_key,
                version=version.version)
    if callers:
        message += " " + _("New procedure versions use it: %(list)s.", list=", ".join(
            f"{p.process_key} v{p.version}" for p in callers))
    return message


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """Every version of every decision table, and the upload form for owners."""
    form = DecisionUploadForm()
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        if not can("publish"):
            abort(403)
        try:
            flash(_published_message(*_publish(form.table.data.read(), form.note.data or "")), "success")
            return redirect(url_for("decisions.index"), 303)
        except DiagramError as error:
            problems = error.problems
    versions = listings.decision_versions(db(), current_user.company_id)
    return render_template("decisions/index.html", versions=versions, form=form, problems=problems,
                           people=names_by_id(db(), {v.published_by_id for v in versions})), 400 if problems else 200


def _version(key: str, number: int | None = None) -> DecisionVersion:
    """One numbered version of a decision table, or its newest; 404 when there is none."""
    if number is None:
        version = decisions.latest_decision(db(), current_user.company_id, key)
    else:
        version = listings.decision_version(db(), current_user.company_id, key, number)
    if version is None:
        abort(404)
    return version


@bp.get("/<key>/<int:number>.dmn")
@login_required
def download(key: str, number: int):
    """One version's file, exactly as it was published."""
    version = _version(key, number)
    return Response(version.dmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{number}.dmn"'})


@bp.get("/<key>/edit")
@login_required
@requires("model")
def edit(key: str):
    """The dmn-js editor, opened on the newest version."""
    version = _version(key)
    config = {"key": key, "name": version.name, "locale": locale_code(), "csrf": generate_csrf(),
              "source_url": url_for("decisions.download", key=key, number=version.version),
              "urls": {"publish": url_for("decisions.publish_json"), "list": url_for("decisions.index")},
              "texts": viewer_texts()}
    return render_template("decisions/edit.html", config=config, version=version, name=version.name)


@bp.post("/publish.json")
@takes_json
@login_required
@requires("publish")
def publish_json():
    """The editor's 'check and publish'; procedures calling the table get new versions pinned to it."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        return jsonify(message=_("Send the decision table as JSON: {\"xml\": ..., \"note\": ...}")), 400
    try:
        version, callers = _publish(body["xml"].encode("utf-8"), str(body.get("note") or "")[:500])
    except DiagramError as error:
        return jsonify(message=_("The decision table was not published:"),
                       errors=[{"element": e, "message": m} for e, m in error.problems]), 400
    return jsonify(message=_published_message(version, callers), version=version.version,
                   republished=[{"key": p.process_key, "version": p.version} for p in callers]), 201
