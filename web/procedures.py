"""Procedures: the company's published versions (who, when, why, how many running cases), upload and download."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from auth.directory import names_by_id
from auth.models import Group, Role
from engine import publishing
from engine.errors import NotFound
from engine.records import Instance, ProcessVersion
from engine.xmlload import DiagramError
from engine.specs import name_in
from web.context import db, engine, perform, roles_required
from web.i18n import locale_code

bp = Blueprint("procedures", __name__, url_prefix="/procedures")
OWNERS = (Role.PROCESS_OWNER, Role.ADMIN)


class UploadForm(FlaskForm):
    diagram = FileField(_l("BPMN file"), [FileRequired()])
    note = StringField(_l("What changed and why"), [Optional(), Length(max=500)])


def _running_counts(company_id: int) -> dict[int, int]:
    """Running cases per version id, in one query."""
    return dict(db().execute(
        sa.select(Instance.version_id, sa.func.count()).where(Instance.company_id == company_id,
                                                              Instance.status == "running")
        .group_by(Instance.version_id)).all())


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = UploadForm()
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        if current_user.role not in {r.value for r in OWNERS}:
            abort(403)
        problems = _publish(form)
        if not problems:
            return redirect(url_for("procedures.index"), 303)
    versions = db().scalars(sa.select(ProcessVersion).where(ProcessVersion.company_id == current_user.company_id,
                                                              ProcessVersion.version.is_not(None))
                            .order_by(ProcessVersion.process_key, ProcessVersion.version.desc())).all()
    names = {v.id: name_in(engine().compiled(v).element_names, v.process_key, locale_code()) for v in versions}
    return render_template("procedures/index.html", versions=versions, form=form, problems=problems, names=names,
                           running=_running_counts(current_user.company_id),
                           people=names_by_id(db(), {v.published_by_id for v in versions}),
                           may_publish=current_user.role in {r.value for r in OWNERS}), 400 if problems else 200


def _publish_bytes(data: bytes, note: str) -> ProcessVersion:
    """Check and publish a diagram for my company; raises DiagramError listing its problems."""
    company_id, user_id = current_user.company_id, current_user.id
    groups = db().scalars(sa.select(Group.name).where(Group.company_id == company_id)).all()
    return perform(lambda s: publishing.publish(s, company_id, data, user_id, note, groups))


def _published_message(version: ProcessVersion) -> str:
    return _("Published %(key)s version %(version)s.", key=version.process_key, version=version.version)


def _publish(form: UploadForm) -> list[tuple[str | None, str]]:
    """Publish the uploaded diagram; the problems that refused it, or [] when it was published."""
    try:
        version = _publish_bytes(form.diagram.data.read(), form.note.data or "")
    except DiagramError as error:
        return error.problems
    flash(_published_message(version), "success")
    return []


@bp.get("/<key>/edit")
@login_required
@roles_required(*OWNERS)
def edit(key: str):
    """The modeler, opened on the newest version of a procedure."""
    try:
        version = publishing.latest_version(db(), current_user.company_id, key)
    except NotFound:
        abort(404)
    return render_template("procedures/edit.html", version=version, name=name_in(
        engine().compiled(version).element_names, key, locale_code()))


@bp.post("/publish.json")
@login_required
@roles_required(*OWNERS)
def publish_json():
    """The modeler's 'check and publish': the same checks as the API, problems listed by element."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        return jsonify(message=_("Send the diagram as JSON: {\"xml\": ..., \"note\": ...}")), 400
    try:
        version = _publish_bytes(body["xml"].encode("utf-8"), str(body.get("note") or "")[:500])
    except DiagramError as error:
        return jsonify(message=_("The diagram was not published:"),
                       errors=[{"element": element, "message": message} for element, message in error.problems]), 400
    return jsonify(message=_published_message(version), key=version.process_key, version=version.version), 201


@bp.get("/<key>/<int:number>.bpmn")
@login_required
def download(key: str, number: int):
    """One version's file, exactly as it was published."""
    version = db().scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == current_user.company_id, ProcessVersion.process_key == key,
        ProcessVersion.version == number))
    if version is None:
        abort(404)
    return Response(version.bpmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{number}.bpmn"'})
