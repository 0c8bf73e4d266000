"""Procedures: the company's published versions (who, when, why, how many running cases), upload and download."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from auth.directory import names_by_id
from auth.models import Group, Role
from engine import publishing
from engine.records import Instance, ProcessVersion
from engine.xmlload import DiagramError
from engine.specs import name_in
from web.context import db, engine, perform
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
    versions = db().scalars(sa.select(ProcessVersion).where(ProcessVersion.company_id == current_user.company_id)
                            .order_by(ProcessVersion.process_key, ProcessVersion.version.desc())).all()
    names = {v.id: name_in(engine().compiled(v).element_names, v.process_key, locale_code()) for v in versions}
    return render_template("procedures/index.html", versions=versions, form=form, problems=problems, names=names,
                           running=_running_counts(current_user.company_id),
                           people=names_by_id(db(), {v.published_by_id for v in versions}),
                           may_publish=current_user.role in {r.value for r in OWNERS}), 400 if problems else 200


def _publish(form: UploadForm) -> list[tuple[str | None, str]]:
    """Publish the uploaded diagram; the problems that refused it, or [] when it was published."""
    data, company_id, user_id = form.diagram.data.read(), current_user.company_id, current_user.id
    groups = db().scalars(sa.select(Group.name).where(Group.company_id == company_id)).all()
    try:
        version = perform(lambda s: publishing.publish(s, company_id, data, user_id, form.note.data or "", groups))
    except DiagramError as error:
        return error.problems
    flash(_("Published %(key)s version %(version)s.", key=version.process_key, version=version.version), "success")
    return []


@bp.get("/<key>/<int:number>.bpmn")
@login_required
def download(key: str, number: int):
    version = db().scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == current_user.company_id, ProcessVersion.process_key == key,
        ProcessVersion.version == number))
    if version is None:
        abort(404)
    return Response(version.bpmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{number}.bpmn"'})
