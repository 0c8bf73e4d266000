"""The JSON API (/api/v1): bearer tokens, procedures, instances, tasks. Errors are JSON a person can act on."""
from __future__ import annotations

from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.datastructures import MultiDict

from auth import tokens
from auth.accounts import authenticate
from auth.directory import actor_for, names_by_id
from auth.models import Group, Role, User
from complaints.registration import FIELDS, register
from engine import publishing, queries
from engine.errors import EngineError
from engine.formdata import FormError
from engine.views import InstanceView, TaskView
from engine.xmlload import DiagramError
from forms.builder import submitted_values, task_form_class
from forms.registration import RegistrationForm
from db import utcnow
from web import throttle
from web.context import WORKERS, database, db, engine, perform
from web.errors import engine_error_status

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra: Any):
    return jsonify(error=message, **extra), status


def api_user(*roles: Role):
    """Authenticate the bearer token; optionally require one of `roles`."""
    allowed = {r.value for r in roles}

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            found = tokens.user_for(db(), header[7:].strip()) if header.lower().startswith("bearer ") else None
            if found is None:
                return error(401, "missing, unknown, expired or revoked token; POST /api/v1/auth/token first")
            user, g.api_token_id = found
            if allowed and user.role not in allowed:
                return error(403, f"your role ({user.role}) may not do this")
            g.api_user = user
            return view(*args, **kwargs)
        return wrapped
    return decorator


@bp.post("/auth/token")
def token():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("email"), str) or not isinstance(body.get("password"), str):
        return error(400, 'send JSON: {"email": "...", "password": "..."}')
    email = body["email"]
    until = throttle.blocked_until(email)
    if until is not None:
        retry = max(1, int((until - utcnow()).total_seconds()))
        response = error(429, "too many failed sign-ins; try again later", retry_after=retry,
                         retry_at=until.isoformat())
        response[0].headers["Retry-After"] = str(retry)
        return response
    user = authenticate(db(), email, body["password"])
    if user is None:
        throttle.failed(email)
        return error(401, "wrong e-mail or password")
    throttle.succeeded(email)
    lifetime = current_app.config["API_TOKEN_LIFETIME"]
    name = body.get("name") if isinstance(body.get("name"), str) else "API"
    with database().session() as s:
        value = tokens.issue(s, s.get(User, user.id), lifetime, name)
    return jsonify(token=value, expires_at=(utcnow() + lifetime).isoformat())


@bp.delete("/auth/token")
@api_user()
def revoke_token():
    """Revoke the token this request carries; it is refused from then on."""
    with database().session() as s:
        tokens.revoke(s, g.api_user.id, g.api_token_id)
    return "", 204


@bp.get("/processes")
@api_user()
def processes():
    versions = publishing.latest_versions(db(), g.api_user.company_id)
    return jsonify([{"key": v.process_key, "version": v.version, "name": v.name,
                     "published_at": v.published_at.isoformat()} for v in versions])


def _uploaded_bpmn() -> bytes:
    if "file" in request.files:
        return request.files["file"].read()
    return request.get_data()


@bp.post("/processes")
@api_user(Role.PROCESS_OWNER, Role.ADMIN)
def publish():
    data = _uploaded_bpmn()
    if not data.strip():
        return error(400, "send the BPMN file as the body (application/xml) or as multipart field 'file'")
    company_id = g.api_user.company_id
    groups = db().scalars(sa.select(Group.name).where(Group.company_id == company_id)).all()
    try:
        version = perform(lambda s: publishing.publish(s, company_id, data, g.api_user.id,
                                                       request.args.get("note", ""), groups), actor_for(g.api_user))
    except DiagramError as problem:
        return error(400, "the diagram was not published", errors=[
            {"element": element, "message": message} for element, message in problem.problems])
    return jsonify(key=version.process_key, version=version.version, name=version.name), 201


def _as_formdata(data: dict[str, Any]) -> MultiDict:
    """JSON values as form input, so the API validates exactly like the HTML forms."""
    def text(value: Any) -> str:
        return {True: "true", False: "false", None: ""}.get(value, value) if isinstance(value, (bool, type(None))) \
            else str(value)
    return MultiDict({k: text(v) for k, v in data.items() if not isinstance(v, (dict, list))})


def _form_errors(form) -> dict[str, str]:
    return {name: "; ".join(str(m) for m in messages) for name, messages in form.errors.items()}


def _body_data() -> dict[str, Any] | None:
    """The `data` object of a JSON body, or None when the body is not shaped like that."""
    body = request.get_json(silent=True)
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None


def _refusal(form, data: dict[str, Any], allowed, what: str):
    """400 listing every bad and every undeclared field, or None when the form accepts the data."""
    unknown = {k: "this form has no such field" for k in data if k not in allowed}
    if form.validate() and not unknown:
        return None
    return error(400, f"the {what} was not accepted", errors={**_form_errors(form), **unknown})


@bp.post("/processes/<key>/instances")
@api_user(*WORKERS)
def start(key: str):
    data = _body_data()
    if data is None:
        return error(400, 'send JSON: {"data": {...registration fields...}}')
    form = RegistrationForm(formdata=_as_formdata(data), meta={"csrf": False})
    refused = _refusal(form, data, FIELDS, "complaint")
    if refused:
        return refused
    try:
        version = publishing.latest_version(db(), g.api_user.company_id, key)
        values = {name: form[name].data for name in FIELDS}
        complaint = perform(lambda s: register(s, engine(), s.merge(version), actor_for(g.api_user), values,
                                               g.api_user.company.timezone), actor_for(g.api_user))
    except EngineError as problem:
        return error(engine_error_status(problem), str(problem))
    view = queries.instance_view(db(), engine(), queries.get_instance(db(), complaint.instance_id,
                                                                       g.api_user.company_id))
    return jsonify(id=view.id, number=view.business_key, status=view.status,
                   tasks=[_task_json(t) for t in view.tasks]), 201


def _task_json(task: TaskView, holders: dict[int, str] | None = None) -> dict[str, Any]:
    """A task as integrations see it; `names` and `labels` carry the diagram's translations."""
    return {
        "id": task.id, "instance_id": task.instance_id, "number": task.business_key, "name": task.name,
        "names": task.names, "element_id": task.element_id, "lane": task.lane, "candidate_groups": list(task.candidate_groups),
        "candidate_users": list(task.candidate_users), "assignee": (holders or {}).get(task.assignee_id),
        "assignee_id": task.assignee_id, "due": task.due_at.isoformat() if task.due_at else None,
        "priority": task.priority, "created": task.created_at.isoformat(),
        "form_fields": [{"id": f.id, "type": f.type, "label": f.label, "labels": f.labels, "required": f.required,
                         "options": [{"id": o.id, "name": o.name} for o in f.options], "choices": f.choices}
                        for f in task.fields],
    }


@bp.get("/tasks")
@api_user(*WORKERS)
def tasks():
    scope = request.args.get("scope", "groups")
    if scope not in ("mine", "groups"):
        return error(400, "scope must be 'mine' or 'groups'")
    found = queries.tasks_for(db(), engine(), actor_for(g.api_user), scope)
    holders = names_by_id(db(), {t.assignee_id for t in found})
    return jsonify([_task_json(t, holders) for t in found])


def _step(action, respond):
    """Run an engine step; `respond(result)` builds the success response."""
    try:
        result = perform(action, actor_for(g.api_user))
    except FormError as problem:
        return error(400, "the task was not accepted", errors={k: str(v) for k, v in problem.errors.items()})
    except EngineError as problem:
        return error(engine_error_status(problem), str(problem))
    return respond(result)


@bp.post("/tasks/<task_id>/claim")
@api_user(*WORKERS)
def claim(task_id: str):
    return _step(lambda s: engine().claim(s, task_id, actor_for(g.api_user)), lambda _: jsonify(status="claimed"))


@bp.post("/tasks/<task_id>/release")
@api_user(*WORKERS)
def release(task_id: str):
    return _step(lambda s: engine().release(s, task_id, actor_for(g.api_user)), lambda _: jsonify(status="released"))


class BodyRefused(Exception):
    """A body the task's form refused, with the answer saying why; raised inside a step, it ends it unwritten."""

    def __init__(self, response) -> None:
        super().__init__("refused")
        self.response = response


@bp.post("/tasks/<task_id>/complete")
@api_user(*WORKERS)
def complete(task_id: str):
    data = _body_data()
    if data is None:
        return error(400, 'send JSON: {"data": {...the task\'s fields...}}')

    def validated(view: TaskView, _case: dict[str, Any]) -> dict[str, Any]:
        """The task's form checks the body inside the step, on the task the step read."""
        form = task_form_class(view.fields, view.form_key, "en")(formdata=_as_formdata(data), meta={"csrf": False})
        refused = _refusal(form, data, {f.id for f in view.fields if not f.readonly}, "task")
        if refused:
            raise BodyRefused(refused)
        return submitted_values(form, view.fields)

    try:
        return _step(lambda s: engine().complete(s, task_id, actor_for(g.api_user), validated),
                     lambda done: jsonify(_view_json(done)))
    except BodyRefused as refusal:
        return refusal.response


def _instance_json_by_id(instance_id: int) -> dict[str, Any]:
    view = queries.instance_view(db(), engine(), queries.get_instance(db(), instance_id, g.api_user.company_id))
    return _view_json(view)


def _view_json(view: InstanceView) -> dict[str, Any]:
    holders = names_by_id(db(), {t.assignee_id for t in view.tasks})
    return {"id": view.id, "number": view.business_key, "status": view.status, "process": view.process_key,
            "version": view.version, "data": view.data, "end": view.end_element, "error": view.error,
            "created": view.created_at.isoformat(),
            "completed": view.completed_at.isoformat() if view.completed_at else None,
            "tasks": [_task_json(t, holders) for t in view.tasks]}


@bp.get("/instances/<int:instance_id>")
@api_user()
def instance(instance_id: int):
    try:
        return jsonify(_instance_json_by_id(instance_id))
    except EngineError as problem:
        return error(engine_error_status(problem), str(problem))


@bp.get("/instances/<int:instance_id>/events")
@api_user()
def events(instance_id: int):
    try:
        found = queries.events(db(), instance_id, g.api_user.company_id)
    except EngineError as problem:
        return error(engine_error_status(problem), str(problem))
    people = names_by_id(db(), {e.actor_id for e in found})
    return jsonify([{"seq": e.seq, "type": e.type, "element_id": e.element_id, "task_id": e.task_id,
                     "actor": people.get(e.actor_id), "actor_id": e.actor_id, "at": e.at.isoformat(),
                     "data": e.data} for e in found])
