"""The JSON API (/api/v1): bearer tokens, procedures, instances, tasks. Each view declares its contract
(web/openapi.py), which checks its requests and documents it at /api/v1/openapi.json and /api/v1/docs. Errors are JSON
a person can act on and a program can test: `{"error": text, "code": stable code, "params": {...}}` (web/errors.py's
catalog)."""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from accounts import permissions, tokens
from accounts.directory import actor_for, names_by_id
from accounts.provisioning import authenticate
from accounts.queries import group_names
from complaints import queries as complaint_queries
from complaints.models import Complaint
from complaints.registration import FIELDS, register_with_view
from db import utcnow
from engine import queries
from engine.dto import InstanceView, TaskView
from engine.errors import EngineError
from engine.repository import publishing
from engine.repository.xmlload import DiagramError
from engine.runtime.formdata import FieldError, FormError
from forms.builder import field_message, submitted_values, task_form_class
from forms.registration import RegistrationForm
from web import throttle
from web.api_schemas import (
    ComplaintPage,
    ComplaintsQuery,
    DataBody,
    Event,
    ExportQuery,
    Instance,
    Procedure,
    Published,
    Started,
    StepDone,
    Task,
    TasksQuery,
    TokenIssued,
    TokenRequest,
)
from web.context import db, engine, perform
from web.errors import engine_error_status, error_json
from web.openapi import check_answer, contract, document, error_codes
from web.register_export import Filters, export_file, export_refused

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.after_app_request(check_answer)

DATA_SHAPE = '{"data": {...}}'
TOKEN_SHAPE = '{"email": "...", "password": "..."}'
# The engine's errors each step can answer, by status (its contract lists them); completing may refuse the form.
STEP_ERRORS = {403: ("not_offered",), 404: ("no_such_task",),
               409: ("held_by", "not_held", "already_completed", "not_ready", "case_stopped", "concurrent_change"),
               422: ("process_error",)}
COMPLETE_ERRORS = {400: ("task_refused",), **STEP_ERRORS}


def engine_error(problem: EngineError):
    """An engine error as the API answers it: its status, its code and its text in the caller's language."""
    return error_json(engine_error_status(problem), problem.code, problem.params)


def api_user(permission: str | None = None):
    """Authenticate the bearer token; optionally require `permission`."""
    holders = sorted(permissions.holders(permission)) if permission else []  # an unknown name fails here

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            found = tokens.user_for(db(), header[7:].strip()) if header.lower().startswith("bearer ") else None
            if found is None:
                return error_json(401, "bad_token")
            user, g.api_token_id = found
            if permission is not None and not permissions.can(user, permission):
                return error_json(403, "role_not_allowed", {"role": user.role})
            g.api_user = user
            return view(*args, **kwargs)
        wrapped.api_roles = tuple(holders)  # type: ignore[attr-defined]  # the document lists them
        return wrapped
    return decorator


@bp.get("/openapi.json")
@contract({200: None})
def openapi():
    """This API's OpenAPI 3 document."""
    return jsonify(document(current_app))


@bp.get("/docs")
@contract({200: None})
def docs():
    """This API's operations, shapes and error codes, as a page."""
    return render_template("api/docs.html", doc=document(current_app), codes=error_codes(current_app))


@bp.post("/auth/token")
@contract({200: TokenIssued()}, body=TokenRequest(), shape=TOKEN_SHAPE,
          errors={401: ("wrong_credentials",), 429: ("too_many_sign_ins",)})
def token(body: dict[str, Any]):
    """Issue a bearer token for an e-mail and password.

    Too many failed sign-ins for an account or from an address answer 429 with Retry-After."""
    email = body["email"]
    until = throttle.blocked_until(email)
    if until is not None:
        retry = max(1, int((until - utcnow()).total_seconds()))
        response = error_json(429, "too_many_sign_ins", {"retry_after": retry}, retry_after=retry,
                              retry_at=until.isoformat())
        response[0].headers["Retry-After"] = str(retry)
        return response
    user = authenticate(db(), email, body["password"])
    if user is None:
        throttle.failed(email)
        return error_json(401, "wrong_credentials")
    throttle.succeeded(email)
    lifetime = current_app.config["API_TOKEN_LIFETIME"]
    name = body.get("name", "API")
    value = perform(lambda s: tokens.issue(s, user, lifetime, name))
    return jsonify(token=value, expires_at=(utcnow() + lifetime).isoformat())


@bp.delete("/auth/token")
@api_user()
@contract({204: None})
def revoke_token():
    """Revoke the token this request carries; it is refused from then on."""
    perform(lambda s: tokens.revoke(s, g.api_user.id, g.api_token_id))
    return "", 204


@bp.get("/processes")
@api_user()
@contract({200: Procedure(many=True)})
def processes():
    """The newest published version of each of my company's procedures."""
    versions = publishing.latest_versions(db(), g.api_user.company_id)
    return jsonify([{"key": v.process_key, "version": v.version, "name": v.name,
                     "published_at": v.published_at.isoformat()} for v in versions])


def _uploaded_bpmn() -> bytes:
    if "file" in request.files:
        return request.files["file"].read()
    return request.get_data()


BPMN_UPLOAD = {"application/xml": {"schema": {"type": "string"}},
               "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                  "properties": {"file": {"type": "string", "format": "binary"}}}}}


@bp.post("/processes")
@api_user("publish")
@contract({201: Published()}, content=BPMN_UPLOAD, errors={400: ("empty_diagram", "diagram_refused")})
def publish():
    """Publish a BPMN diagram as the next version of its procedure (`?note=` is kept with it).

    A refused diagram answers 400 with `errors`: one {element, message} per problem."""
    data = _uploaded_bpmn()
    if not data.strip():
        return error_json(400, "empty_diagram")
    company_id = g.api_user.company_id
    groups = group_names(db(), company_id)
    try:
        version = perform(lambda s: publishing.publish(s, company_id, data, g.api_user.id,
                                                       request.args.get("note", ""), groups), actor_for(g.api_user))
    except DiagramError as problem:
        return error_json(400, "diagram_refused", errors=[
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


NOT_IN_FORM = FieldError("not_in_form")


def _refusal(form, data: dict[str, Any], allowed, code: str):
    """400 listing every bad and every undeclared field, or None when the form accepts the data."""
    unknown = {k: field_message(NOT_IN_FORM) for k in data if k not in allowed}
    if form.validate() and not unknown:
        return None
    return error_json(400, code, errors={**_form_errors(form), **unknown})


@bp.post("/processes/<key>/instances")
@api_user("register_complaint")
@contract({201: Started()}, body=DataBody(), shape=DATA_SHAPE,
          errors={400: ("complaint_refused", "unknown_choice"), 404: ("no_such_procedure",), 422: ("process_error",)})
def start(key: str, body: dict[str, Any]):
    """Register a complaint and start the newest version of procedure `key` for it.

    `data` holds the registration form's fields; each bad or unknown one is named in `errors`."""
    data = body["data"]
    form = RegistrationForm(formdata=_as_formdata(data), meta={"csrf": False})
    refused = _refusal(form, data, FIELDS, "complaint_refused")
    if refused:
        return refused
    try:
        version = publishing.latest_version(db(), g.api_user.company_id, key)
        values = {name: form[name].data for name in FIELDS}
        case = perform(lambda s: register_with_view(s, engine(), s.merge(version), actor_for(g.api_user), values,
                                                    g.api_user.company.timezone), actor_for(g.api_user)).case
    except EngineError as problem:
        return engine_error(problem)
    return jsonify(id=case.id, number=case.business_key, status=case.status,
                   tasks=[_task_json(t) for t in case.tasks]), 201


def _task_json(task: TaskView, holders: dict[int, str] | None = None) -> dict[str, Any]:
    """A task as integrations see it; `names` and `labels` carry the diagram's translations."""
    return {
        "id": task.id, "instance_id": task.instance_id, "number": task.business_key, "name": task.name,
        "names": task.names, "element_id": task.element_id, "lane": task.lane,
        "candidate_groups": list(task.candidate_groups),
        "candidate_users": list(task.candidate_users), "assignee": (holders or {}).get(task.assignee_id),
        "assignee_id": task.assignee_id, "due": task.due_at.isoformat() if task.due_at else None,
        "priority": task.priority, "created": task.created_at.isoformat(),
        "form_fields": [{"id": f.id, "type": f.type, "label": f.label, "labels": f.labels, "required": f.required,
                         "options": [{"id": o.id, "name": o.name} for o in f.options], "choices": f.choices}
                        for f in task.fields],
    }


@bp.get("/tasks")
@api_user("work_cases")
@contract({200: Task(many=True)}, query=TasksQuery())
def tasks(query: dict[str, Any]):
    """Open tasks: those I hold (`scope=mine`) or those offered to my groups (`scope=groups`, the default)."""
    scope = query.get("scope", "groups")
    found = queries.tasks_for(db(), engine(), actor_for(g.api_user), scope)
    holders = names_by_id(db(), {t.assignee_id for t in found})
    return jsonify([_task_json(t, holders) for t in found])


def _step(action, respond):
    """Run an engine step; `respond(result)` builds the success response."""
    try:
        result = perform(action, actor_for(g.api_user))
    except FormError as problem:
        return error_json(400, "task_refused", errors={k: field_message(v) for k, v in problem.errors.items()})
    except EngineError as problem:
        return engine_error(problem)
    return respond(result)


@bp.post("/tasks/<task_id>/claim")
@api_user("work_cases")
@contract({200: StepDone()}, errors=STEP_ERRORS)
def claim(task_id: str):
    """Take a task offered to me, so that nobody else works on it."""
    return _step(lambda s: engine().claim(s, task_id, actor_for(g.api_user)), lambda _: jsonify(status="claimed"))


@bp.post("/tasks/<task_id>/release")
@api_user("work_cases")
@contract({200: StepDone()}, errors=STEP_ERRORS)
def release(task_id: str):
    """Give back a task I hold, so that its groups see it again."""
    return _step(lambda s: engine().release(s, task_id, actor_for(g.api_user)), lambda _: jsonify(status="released"))


class BodyRefused(Exception):
    """A body the task's form refused, with the answer saying why; raised inside a step, it ends it unwritten."""

    def __init__(self, response) -> None:
        super().__init__("refused")
        self.response = response


@bp.post("/tasks/<task_id>/complete")
@api_user("work_cases")
@contract({200: Instance()}, body=DataBody(), shape=DATA_SHAPE, errors=COMPLETE_ERRORS)
def complete(task_id: str, body: dict[str, Any]):
    """Complete a task with the values of its form's fields; answers the case as it stands after the step.

    `data` may hold only the task's own editable fields; each bad or unknown one is named in `errors`."""
    data = body["data"]

    def validated(view: TaskView, _case: dict[str, Any]) -> dict[str, Any]:
        """The task's form checks the body inside the step, on the task the step read."""
        form = task_form_class(view.fields, "en")(formdata=_as_formdata(data), meta={"csrf": False})
        refused = _refusal(form, data, {f.id for f in view.fields if not f.readonly}, "task_refused")
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
@contract({200: Instance()}, errors={404: ("no_such_case",)})
def instance(instance_id: int):
    """A case of my company: its status, data and open tasks."""
    try:
        return jsonify(_instance_json_by_id(instance_id))
    except EngineError as problem:
        return engine_error(problem)


@bp.get("/instances/<int:instance_id>/events")
@api_user()
@contract({200: Event(many=True)}, errors={404: ("no_such_case",)})
def events(instance_id: int):
    """A case's history, oldest first: who did what and when."""
    try:
        found = queries.events(db(), instance_id, g.api_user.company_id)
    except EngineError as problem:
        return engine_error(problem)
    people = names_by_id(db(), {e.actor_id for e in found})
    return jsonify([{"seq": e.seq, "type": e.type, "element_id": e.element_id, "task_id": e.task_id,
                     "actor": people.get(e.actor_id), "actor_id": e.actor_id, "at": e.at.isoformat(),
                     "data": e.data} for e in found])


def _filters(query: dict[str, Any]) -> Filters:
    return Filters.of(query.get("q"), query.get("status"), g.api_user.id if query.get("mine") else None)


def _complaint_json(complaint: Complaint) -> dict[str, Any]:
    c = complaint
    return {"id": c.instance_id, "number": c.number, "registered": c.registered_at.isoformat(),
            "customer_name": c.customer_name, "contact_person": c.contact_person, "contact": c.contact,
            "channel": c.channel, "category": c.category, "product": c.product, "specification": c.specification,
            "contract_number": c.contract_number, "work_number": c.work_number, "content": c.content,
            "customer_request": c.customer_request, "status": c.status, "first_receiver_id": c.first_receiver_id}


@bp.get("/complaints")
@api_user()
@contract({200: ComplaintPage()}, query=ComplaintsQuery())
def complaints(query: dict[str, Any]):
    """My company's complaint register, newest first: the register page's search, status and "mine", by pages.

    Pass a page's `next_cursor` as `cursor` for the next one (keyset paging: rows registered meanwhile neither
    repeat nor skip); it is null on the last page."""
    found = _filters(query)
    page = complaint_queries.complaint_page(db(), g.api_user.company_id, found.q, found.status,
                                            complaint_queries.Cursor.decode(query.get("cursor")),
                                            query.get("limit", complaint_queries.PAGE_SIZE), found.mine_of)
    return jsonify(items=[_complaint_json(c) for c in page.complaints],
                   next_cursor=page.next.encode() if page.next else None)


@bp.get("/complaints/export")
@api_user()
@contract({200: None}, query=ExportQuery(), errors={422: ("too_many_to_export",)})
def complaints_export(query: dict[str, Any]):
    """The complaints the register's filters match as the register page exports them: an Excel workbook or CSV.

    More than the configured maximum of rows (KESU_EXPORT_MAX_ROWS) answers 422 asking to narrow the filters."""
    found = _filters(query)
    limit = export_refused(g.api_user.company_id, found)
    if limit is not None:
        return error_json(422, "too_many_to_export", {"limit": limit})
    return export_file(g.api_user.company, found, query.get("format", "xlsx"))
