"""How errors become HTTP responses, for pages and for the API, from one catalog of texts by code.

The engine's codes and texts live in `engine.errors.MESSAGES`; the situations only the web layer meets (HTTP
statuses, tokens, request bodies) are in `EDGE` below. Together they are `CATALOG`: every error JSON carries
`{"error": text, "code": code, "params": {...}}`, the text translated here, at the edge, from the N_-marked English.
"""
from __future__ import annotations

from typing import Any, NoReturn

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, default_exceptions

from db import unavailable
from engine.errors import MESSAGES, N_, Conflict, EngineError, Forbidden, NotFound, ProcessError
from engine.runtime.formdata import FormError

STATUS: dict[type[EngineError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, ProcessError: 422}

# Situations of the web layer, by code (the engine's are in engine.errors.MESSAGES).
EDGE: dict[str, str] = {
    "bad_request": N_("The request could not be understood. Go back and try again."),
    "unauthorized": N_("Sign in first."),
    "forbidden": N_("You are not allowed to do this."),
    "not_found": N_("There is nothing here, or it belongs to another company."),
    "method_not_allowed": N_("This page cannot be used this way."),
    "conflict": N_("Someone else changed this at the same moment."),
    "too_large": N_("The upload is too large."),
    "unsupported_media_type": N_("This page takes a form, not JSON."),
    "unprocessable": N_("The request was understood but cannot be carried out."),
    "too_many_requests": N_("Too many requests; try again later."),
    "internal_error": N_("Something went wrong on our side; it has been logged."),
    "unavailable": N_("The database cannot be reached right now. Try again in a moment."),
    "unstorable_text": N_("The request holds a NUL character, which cannot be stored; send it without."),
    "bad_token": N_("The token is missing, unknown, expired or revoked; POST /api/v1/auth/token first."),
    "role_not_allowed": N_("Your role (%(role)s) may not do this."),
    "wrong_credentials": N_("Wrong e-mail or password."),
    "too_many_sign_ins": N_("Too many failed sign-ins; try again in %(retry_after)s seconds."),
    "invalid_body": N_("The request body was not accepted; send JSON shaped like %(shape)s."),
    "invalid_query": N_("The query string was not accepted: %(fields)s."),
    "empty_diagram": N_("Send the BPMN file as the body (application/xml) or as the multipart field “file”."),
    "diagram_refused": N_("The diagram was not published."),
    "complaint_refused": N_("The complaint was not accepted."),
    "task_refused": N_("The task was not accepted."),
    "too_many_to_export": N_("These filters match more than %(limit)s complaints, more than one export may hold; "
                             "narrow the search or choose a status."),
}
CATALOG: dict[str, str] = {**MESSAGES, **EDGE}

# The code of each HTTP status an error page or error JSON can have.
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "unprocessable",
              429: "too_many_requests", 500: "internal_error", 503: "unavailable"}

TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed here"),
    409: N_("Conflict"),
    413: N_("Too large"),
    415: N_("Not a form"),
    503: N_("Try again in a moment"),
}


def text(code: str, params: dict[str, Any] | None = None) -> str:
    """The catalog's text for `code` in the reader's language."""
    return _(CATALOG[code], **(params or {}))


def describe(error: Exception) -> str:
    """An error in the user's language (diagram errors are shown as the diagram states them)."""
    if isinstance(error, EngineError):
        return text(error.code, error.params)
    return str(error)


def engine_error_status(error: Exception) -> int:
    if isinstance(error, FormError):
        return 400
    return next((code for cls, code in STATUS.items() if isinstance(error, cls)), 400)


def error_json(status: int, code: str, params: dict[str, Any] | None = None, **extra: Any) -> tuple[Response, int]:
    """The one shape of an error answer: the text in the reader's language, its stable code and its params."""
    return jsonify(error=text(code, params), code=code, params=params or {}, **extra), status


def refuse(status: int, code: str, **params: Any) -> NoReturn:
    """Abort with a catalog code: JSON answers carry it, pages show their status's page."""
    error = default_exceptions[status](description=CATALOG[code] % params)
    error.kesu_code, error.kesu_params = code, params  # type: ignore[attr-defined]
    raise error


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _wants_json() -> bool:
    """The API and the pages' JSON requests (the modeler's, the decision editor's) get their errors as JSON."""
    return _is_api() or request.is_json


def _http_json(error: HTTPException) -> tuple[Response, int]:
    """The API's texts come from the catalog; the pages' scripts get the description the view gave, as they did."""
    status = error.code or 500
    code = getattr(error, "kesu_code", HTTP_CODES.get(status, "bad_request"))
    params = getattr(error, "kesu_params", {})
    given = error.description != type(error).description and not hasattr(error, "kesu_code")
    message = error.description if given or not _is_api() else text(code, params)
    return jsonify(error=message, message=message, code=code, params=params), status


def _http_error(error: HTTPException):
    if _wants_json():
        return _http_json(error)
    status = error.code or 500
    known = status in TITLES  # the statuses pages explain in their own words
    return render_template("error.html", code=status, title=_(TITLES.get(status, error.name)),
                           message=text(HTTP_CODES[status]) if known else error.description), status


def _unexpected(error: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return error_json(500, "internal_error", message=text("internal_error"))
    return render_template("error.html", code=500, title=_("Something went wrong"), message=text("internal_error")), 500


def _database_error(error: Exception):
    """503 when the database cannot be reached (down, dropped the connection, locked, out of connections): the
    person can try again. The page is drawn for an anonymous visitor, since its header would ask the database for
    the signed-in user. Nothing is retried here: a request may have written before its connection broke. Any other
    database error is a bug, handled like every unexpected error."""
    if not unavailable(error):
        if current_app.testing:
            raise error
        return _unexpected(error)
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    current_app.login_manager._update_request_context_with_user()  # anonymous for this response only
    if _wants_json():
        return error_json(503, "unavailable", message=text("unavailable"))
    return render_template("error.html", code=503, title=_(TITLES[503]), message=text("unavailable")), 503


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sa.exc.DBAPIError, _database_error)
    app.register_error_handler(sa.exc.TimeoutError, _database_error)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
