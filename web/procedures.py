"""Procedures: versions (who, when, why, how many running cases), upload, download, the modeler and its drafts."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session

from accounts.directory import names_by_id
from accounts.queries import active_users, group_names
from engine import queries
from engine.errors import Conflict, NotFound
from engine.records import Draft, ProcessVersion
from engine.repository import drafts, listings, publishing
from engine.repository.specs import name_in
from engine.repository.xmlload import DiagramError
from forms.builtin_fields import BUILTIN_FORM_LABELS
from forms.procedures import UploadForm
from web.context import can, db, engine, perform, requires
from web.errors import describe
from web.i18n import locale_code, localtime
from web.inputs import int_arg, json_xml, problems_json, takes_json
from web.texts import modeler_texts, viewer_texts

bp = Blueprint("procedures", __name__, url_prefix="/procedures")


def _older_running_counts(versions: list[ProcessVersion], running: dict[int, int]) -> dict[str, int]:
    """Per procedure, the running cases not on its newest version (the ones an owner could move)."""
    newest: dict[str, int] = {}
    counts: dict[str, int] = {}
    for v in versions:  # newest first within each procedure
        newest.setdefault(v.process_key, v.id)
        if v.id != newest[v.process_key]:
            counts[v.process_key] = counts.get(v.process_key, 0) + running.get(v.id, 0)
    return counts


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = UploadForm()
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        if not can("publish"):
            abort(403)
        problems = _publish(form)
        if not problems:
            return redirect(url_for("procedures.index"), 303)
    versions = listings.published_versions(db(), current_user.company_id)
    names = {v.id: name_in(engine().compiled(v).element_names, v.process_key, locale_code()) for v in versions}
    running = listings.running_counts(db(), current_user.company_id)
    company_drafts = listings.bpmn_drafts(db(), current_user.company_id)
    return render_template("procedures/index.html", versions=versions, form=form, problems=problems, names=names,
                           running=running, older_running=_older_running_counts(versions, running),
                           drafts=company_drafts, people=names_by_id(db(), {v.published_by_id for v in versions}
                                                                     | {d.saved_by_id for d in company_drafts.values()})
                           ), 400 if problems else 200


def _publish_bytes(data: bytes, note: str) -> ProcessVersion:
    """Check and publish a diagram for my company; raises DiagramError listing its problems."""
    company_id, user_id = current_user.company_id, current_user.id
    groups = company_groups()

    def publish(session: Session) -> ProcessVersion:
        version = publishing.publish(session, company_id, data, user_id, note, groups)
        drafts.discard_draft(session, company_id, "bpmn", version.process_key)
        engine().compiled(version)  # parsed while its XML can still be read: cases and pages need no reload
        return version
    return perform(publish)


def _published_message(version: ProcessVersion) -> str:
    name = name_in(engine().compiled(version).element_names, version.process_key, locale_code())
    return _("Published %(name)s version %(version)s.", name=name, version=version.version)


def _publish(form: UploadForm) -> list[tuple[str | None, str]]:
    """Publish the uploaded diagram; the problems that refused it, or [] when it was published."""
    try:
        version = _publish_bytes(form.diagram.data.read(), form.note.data or "")
    except DiagramError as error:
        return error.problems
    flash(_published_message(version), "success")
    return []


def company_groups() -> list[str]:
    return group_names(db(), current_user.company_id)


def _newest(key: str) -> ProcessVersion | None:
    try:
        return publishing.latest_version(db(), current_user.company_id, key)
    except NotFound:
        return None


def _draft_info(draft: Draft | drafts.DraftConflict | None) -> dict | None:
    """Who saved the draft last and when, as the modeler shows it."""
    if draft is None:
        return None
    return {"saved_by": names_by_id(db(), {draft.saved_by_id}).get(draft.saved_by_id, "?"),
            "saved_at": localtime(draft.saved_at)}


def _modeler_config(key: str, version: ProcessVersion | None, draft: Draft | None) -> dict:
    """Everything the modeler script needs: where to load and save, and what owners may pick from."""
    labels = engine().compiled(version).group_labels if version else {}
    company_id, locale = current_user.company_id, locale_code()
    users = active_users(db(), company_id)
    decisions = [{"key": d.decision_key, "name": d.name} for d in queries.latest_decisions(db(), company_id)]
    return {
        "key": key, "name": name_in(engine().compiled(version).element_names, key, locale) if version else key,
        "locale": locale, "revision": draft.revision if draft else 0, "draft": _draft_info(draft),
        "source_url": url_for("procedures.source", key=key),
        "groups": [{"name": g, "label": name_in(labels, g, locale)} for g in company_groups()],
        "users": [{"email": email, "name": name} for email, name in users],
        "form_keys": [{"key": k, "label": _(label)} for k, label in BUILTIN_FORM_LABELS.items()],
        "decisions": decisions, "csrf": generate_csrf(), "texts": modeler_texts(),
        "urls": {"check": url_for("procedures.check_json"), "save": url_for("procedures.save_draft", key=key),
                 "publish": url_for("procedures.publish_json"), "test_run": url_for("test_runs.start", key=key),
                 "versions": url_for("procedures.index")},
    }


@bp.get("/<key>/edit")
@login_required
@requires("model")
def edit(key: str):
    """The modeler, opened on the shared draft if there is one, else on the newest version."""
    version = _newest(key)
    draft = drafts.get_draft(db(), current_user.company_id, "bpmn", key)
    if version is None and draft is None:
        abort(404)
    config = _modeler_config(key, version, draft)
    return render_template("procedures/edit.html", config=config, name=config["name"], version=version, draft=draft)


@bp.get("/<key>/source.bpmn")
@login_required
@requires("model")
def source(key: str):
    """What the modeler opens: the draft's XML, else the newest version's."""
    draft = drafts.get_draft(db(), current_user.company_id, "bpmn", key)
    version = None if draft else _newest(key)
    if draft is None and version is None:
        abort(404)
    return Response(draft.xml if draft else version.bpmn_xml, mimetype="application/xml")


def check_problems(xml: bytes) -> list[dict]:
    """The server's checks of a diagram, as the modeler lists them ([] when it could be published)."""
    try:
        publishing.check(db(), current_user.company_id, xml, company_groups())
    except DiagramError as error:
        return problems_json(error)
    return []


@bp.post("/check.json")
@takes_json
@login_required
@requires("model")
def check_json():
    """The modeler's live check: the same checks publishing runs, nothing stored."""
    _body, xml = json_xml()
    return jsonify(errors=check_problems(xml))


@bp.post("/<key>/draft.json")
@takes_json
@login_required
@requires("model")
def save_draft(key: str):
    """Save the shared draft unless someone saved since the editor loaded it; then say who and when."""
    body, xml = json_xml()
    company_id, user_id = current_user.company_id, current_user.id
    base = body.get("revision") if isinstance(body.get("revision"), int) else 0
    try:
        draft = perform(lambda s: drafts.save_draft(s, company_id, "bpmn", key, body["xml"], base, user_id))
    except drafts.DraftConflict as conflict:
        info = _draft_info(conflict)
        return jsonify(message=_("%(name)s saved this draft at %(at)s, after you opened it. Your changes were not "
                                 "saved; they are still in the editor.", name=info["saved_by"], at=info["saved_at"]),
                       revision=conflict.revision, **info), 409
    except Conflict as error:
        return jsonify(message=describe(error)), 409
    except DiagramError as error:
        return jsonify(message=_("The draft was not saved:"), errors=problems_json(error)), 400
    return jsonify(message=_("Draft saved at %(at)s.", at=localtime(draft.saved_at)), revision=draft.revision,
                   errors=check_problems(xml))


@bp.post("/publish.json")
@takes_json
@login_required
@requires("publish")
def publish_json():
    """The modeler's 'check and publish': the same checks as the API; publishing ends the draft."""
    body, xml = json_xml()
    try:
        version = _publish_bytes(xml, str(body.get("note") or "")[:500])
    except DiagramError as error:
        return jsonify(message=_("The diagram was not published:"), errors=problems_json(error)), 400
    return jsonify(message=_published_message(version), key=version.process_key, version=version.version,
                   url=url_for("procedures.index", _anchor=f"{version.process_key}-{version.version}")), 201


@bp.get("/<key>/<int:number>.bpmn")
@login_required
def download(key: str, number: int):
    """One version's file, exactly as it was published."""
    try:
        version = publishing.published_version(db(), current_user.company_id, key, number)
    except NotFound:
        abort(404)
    return Response(version.bpmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{number}.bpmn"'})


@bp.get("/<key>/diff")
@login_required
def diff(key: str):
    """Two versions side by side, coloured by what was added, removed and changed (by default: the newest two)."""
    numbers = listings.published_numbers(db(), current_user.company_id, key)
    if not numbers:
        abort(404)
    new = int_arg(request.args, "to", numbers[0])
    older = [n for n in numbers if n < new]
    old = int_arg(request.args, "from", older[0] if older else new)
    if old not in numbers or new not in numbers:
        abort(404)
    side = {n: {"url": url_for("procedures.download", key=key, number=n), "label": _("Version %(n)s", n=n)}
            for n in (old, new)}
    config = {"old": side[old], "new": side[new], "locale": locale_code(), "texts": viewer_texts()}
    name = name_in(engine().compiled(publishing.latest_version(db(), current_user.company_id, key)).element_names,
                   key, locale_code())
    return render_template("procedures/diff.html", key=key, name=name, versions=numbers, old=old, new=new,
                           config=config)
