"""The API's contract. Each view declares what it reads and answers with `contract` (shapes in web/api_schemas.py);
that one declaration validates the request before the view runs, checks every answer while testing, and is turned
into the OpenAPI 3 document (apispec) served at /api/v1/openapi.json and drawn at /api/v1/docs."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, current_app, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.routing import Rule

from web.api_schemas import Error
from web.errors import CATALOG, HTTP_CODES, error_json

PREFIX = "/api/v1"
_ARGUMENT = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")  # a rule's <converter:name>
View = TypeVar("View", bound=Callable[..., Any])
# Errors any call may meet, whatever its contract says (listed once, in the document's description).
ANYWHERE = ("not_found", "method_not_allowed", "too_large", "unsupported_media_type", "unstorable_text",
            "internal_error", "unavailable")


@dataclass(frozen=True)
class Contract:
    """What one API view reads and answers: statuses → answer shapes (None: no body) and → error codes."""

    answers: Mapping[int, Schema | None]
    body: Schema | None = None
    shape: str = "{...}"  # the body as a person writes it, for the refusal's text
    query: Schema | None = None
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    content: Mapping[str, Any] | None = None  # a body that is not JSON (a BPMN file), described, checked by the view


def _field_errors(messages: dict[str, Any]) -> dict[str, str]:
    """marshmallow's messages per field, in the caller's language, as the form refusals give them."""
    return {name: "; ".join(_(m) for m in found) if isinstance(found, list) else str(found)
            for name, found in messages.items()}


def _loaded(schema: Schema, data: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    try:
        return schema.load(data), {}
    except ValidationError as refused:
        return None, refused.normalized_messages()


def contract(answers: Mapping[int, Schema | None], **declared: Any) -> Callable[[View], View]:
    """Declare a view's contract (see Contract) and enforce its request: the view receives `body=` and `query=`
    already loaded, or the caller gets 400 with a code and an error per field."""
    spec = Contract(answers, **declared)

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if spec.query is not None:
                kwargs["query"], problems = _loaded(spec.query, request.args.to_dict())
                if problems:
                    return error_json(400, "invalid_query", {"fields": ", ".join(sorted(problems))},
                                      errors=_field_errors(problems))
            if spec.body is not None:
                kwargs["body"], problems = _loaded(spec.body, request.get_json(silent=True))
                if problems:
                    return error_json(400, "invalid_body", {"shape": spec.shape}, errors=_field_errors(problems))
            return view(*args, **kwargs)
        checked.contract = spec  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]
    return decorator


def _answer_shape(response: Response) -> Schema | None:
    """The schema this answer must have: Error for any error, else what the view's contract names for its status."""
    if response.status_code >= 400:
        return Error()
    view: Any = current_app.view_functions[request.endpoint or ""]
    spec: Contract = view.contract
    assert response.status_code in spec.answers, f"{request.endpoint} answered {response.status_code}, undeclared"
    return spec.answers[response.status_code]


def check_answer(response: Response) -> Response:
    """While testing, every /api/v1 answer is checked against its contract: a key the schema does not name, a
    missing one or a wrong type fails the test that made the request (at run time answers are built, not checked,
    to keep a step fast)."""
    checking = current_app.config.get("API_CHECK_ANSWERS", current_app.testing)
    if not checking or not request.path.startswith(PREFIX) or request.method == "OPTIONS":  # Flask's own answer
        return response
    schema = _answer_shape(response)
    if schema is not None and response.is_json:
        problems = schema.validate(response.get_json())
        assert not problems, f"{request.method} {request.path} answered off its contract: {problems}"
    return response


def _path(rule: Rule) -> str:
    """A werkzeug rule as an OpenAPI path: /instances/<int:instance_id> → /instances/{instance_id}."""
    return _ARGUMENT.sub(r"{\2}", rule.rule)


def _parameters(rule: Rule, spec: Contract) -> list[dict[str, Any]]:
    path = [{"in": "path", "name": name, "required": True,
             "schema": {"type": "integer" if converter == "int" else "string"}}
            for converter, name in _ARGUMENT.findall(rule.rule)]
    return path + ([{"in": "query", "schema": spec.query}] if spec.query is not None else [])


def _request_body(spec: Contract) -> dict[str, Any] | None:
    if spec.content is not None:
        return {"required": True, "content": dict(spec.content)}
    if spec.body is not None:
        return {"required": True, "content": {"application/json": {"schema": spec.body}}}
    return None


def _error_codes(view: Any, spec: Contract) -> dict[int, tuple[str, ...]]:
    """The codes each error status of this operation can carry: its own, the token's and the request's checks."""
    codes: dict[int, list[str]] = {status: list(found) for status, found in spec.errors.items()}
    roles = getattr(view, "api_roles", None)
    implied = ((400, "invalid_query", spec.query is not None), (400, "invalid_body", spec.body is not None),
               (401, "bad_token", roles is not None), (403, "role_not_allowed", bool(roles)))
    for status, code, applies in implied:
        if applies:
            codes.setdefault(status, []).append(code)
    return {status: tuple(found) for status, found in sorted(codes.items())}


def _responses(view: Any, spec: Contract) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, schema in spec.answers.items():
        responses[str(status)] = {"description": HTTPStatus(status).phrase}
        if schema is not None:
            responses[str(status)]["content"] = {"application/json": {"schema": schema}}
    for status, codes in _error_codes(view, spec).items():
        responses[str(status)] = {"description": f"{HTTPStatus(status).phrase}: {', '.join(codes)}",
                                  "x-codes": list(codes), "content": {"application/json": {"schema": "Error"}}}
    return responses


def _operation(rule: Rule, view: Any) -> dict[str, Any]:
    spec: Contract = view.contract
    summary, _blank, description = (view.__doc__ or rule.endpoint).strip().partition("\n")
    roles = getattr(view, "api_roles", None)
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.partition(".")[2], "summary": summary.strip(),
        "tags": [rule.rule[len(PREFIX):].split("/")[1]], "parameters": _parameters(rule, spec),
        "responses": _responses(view, spec), "security": [] if roles is None else [{"bearer": []}],
    }
    details = " ".join(line.strip() for line in description.splitlines()).strip()
    if roles:
        details = f"{details} Roles: {', '.join(roles)}.".strip()
    if details:
        operation["description"] = details
    body = _request_body(spec)
    if body:
        operation["requestBody"] = body
    return operation


def api_rules(app: Flask) -> list[Rule]:
    """Every rule of the JSON API, in path order."""
    return sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX)), key=lambda r: r.rule)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3 document of every /api/v1 rule, from the views' contracts (built once per app)."""
    if "kesu.openapi" not in app.extensions:
        spec = APISpec(title="Kesu API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                       info={"description": "Errors anywhere: " + ", ".join(ANYWHERE) + ". Every error answers "
                             "Error: `error` in the Accept-Language asked for (zh-Hans, zh-Hant, else English), "
                             "a stable `code` and the `params` its text names."})
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        spec.components.schema("Error", schema=Error)
        for rule in api_rules(app):
            view = app.view_functions[rule.endpoint]
            methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            spec.path(path=_path(rule), operations={m.lower(): _operation(rule, view) for m in methods})
        app.extensions["kesu.openapi"] = spec.to_dict()
    return app.extensions["kesu.openapi"]


def error_codes(app: Flask) -> list[tuple[str, list[int], str]]:
    """Every code of the catalog, the statuses the API answers it with, and its text in the reader's language."""
    statuses: dict[str, set[int]] = {code: {status} for status, code in HTTP_CODES.items()}
    for operations in document(app)["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                for code in response.get("x-codes", ()):
                    statuses.setdefault(code, set()).add(int(status))
    return [(code, sorted(statuses.get(code, ())), _(CATALOG[code])) for code in sorted(CATALOG)]
