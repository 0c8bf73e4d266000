"""How engine errors become HTTP responses, for pages and for the API."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, EngineError, Forbidden, NotFound, ProcessError
from complaints.choices import N_
from engine.formdata import FormError

STATUS: dict[type[EngineError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, ProcessError: 422}


def engine_error_status(error: Exception) -> int:
    if isinstance(error, FormError):
        return 400
    return next((code for cls, code in STATUS.items() if isinstance(error, cls)), 400)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _http_error(error: HTTPException):
    if _wants_json():
        return jsonify(error=error.name, message=error.description), error.code
    return render_template("error.html", code=error.code, title=_(TITLES.get(error.code, error.name)),
                           message=_(DESCRIPTIONS.get(error.code, error.description))), error.code


TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed here"),
    409: N_("Conflict"),
    413: N_("Too large"),
}

DESCRIPTIONS = {
    400: N_("The request could not be understood. Go back and try again."),
    403: N_("You are not allowed to do this."),
    404: N_("There is nothing here, or it belongs to another company."),
    405: N_("This page cannot be used this way."),
    409: N_("Someone else changed this at the same moment."),
    413: N_("The upload is too large."),
}


def _unexpected(error: Exception):
    if _wants_json():
        return jsonify(error="Internal Server Error", message="something went wrong on our side; it has been logged"), 500
    return render_template("error.html", code=500, title=_("Something went wrong"),
                           message=_("Something went wrong on our side; it has been logged.")), 500


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
