"""How engine errors become HTTP responses, for pages and for the API."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from complaints.choices import N_
from db import unavailable
from engine.errors import Conflict, EngineError, Forbidden, NotFound, ProcessError
from engine.formdata import FormError

STATUS: dict[type[EngineError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, ProcessError: 422}


# The engine's error codes (engine.errors.MESSAGES), marked for translation.
ENGINE_TEXT = {
    "no_such_task": N_("There is no such task."),
    "no_such_case": N_("There is no such case."),
    "no_such_procedure": N_("No procedure called %(key)s has been published."),
    "not_offered": N_("This task is not offered to you or your groups."),
    "held_by": N_("This task is held by %(name)s."),
    "not_held": N_("You do not hold this task."),
    "already_completed": N_("This task was already completed by %(name)s."),
    "not_ready": N_("This task cannot be completed now; reload the case."),
    "concurrent_change": N_("Someone else changed this case at the same moment; reload it and try again."),
    "case_stopped": N_("This case is stopped by an error an administrator must resolve: %(error)s"),
    "cannot_migrate": N_("This case cannot move to that version: %(reasons)s"),
    "draft_gone": N_("This draft was published or discarded meanwhile; your changes were not saved. Reload to see "
                     "the newest version."),
    "reason_required": N_("Give the reason for this correction; it is kept in the case's history."),
    "case_closed": N_("This case is closed; its data can no longer be corrected."),
    "unknown_field": N_("The case has no field called %(field)s."),
    "unknown_choice": N_("%(value)s is not a known code for %(field)s."),
    "not_editable": N_("%(field)s holds a list or a table and cannot be corrected here."),
    "not_yes_no": N_("%(field)s must be yes or no, not “%(value)s”."),
    "not_whole_number": N_("%(field)s must be a whole number, not “%(value)s”."),
    "not_number": N_("%(field)s must be a number, not “%(value)s”."),
    "nothing_changed": N_("These are the case's values already; nothing was corrected."),
    "not_stopped": N_("This case is not stopped by an error; there is nothing to retry."),
    "skip_failed": N_("Skipping %(task)s failed, so nothing was changed: %(error)s. The elements after it may need "
                      "values its form would have given: correct the data first, or have the task completed."),
    "not_a_step_end": N_("Event #%(seq)s does not end a step of this case's history; choose the last event of a "
                         "step."),
    "rewind_to_last": N_("Event #%(seq)s is the case's last event: the case already stands there."),
    "rewind_diverges": N_("The history cannot be re-executed up to event #%(seq)s (at event #%(at)s: %(reason)s), "
                          "so the case cannot be put back there."),
}


def describe(error: Exception) -> str:
    """An engine error in the user's language (diagram errors are shown as the diagram states them)."""
    code = getattr(error, "code", None)
    if code in ENGINE_TEXT:
        return _(ENGINE_TEXT[code], **error.params)
    return str(error)


def engine_error_status(error: Exception) -> int:
    if isinstance(error, FormError):
        return 400
    return next((code for cls, code in STATUS.items() if isinstance(error, cls)), 400)


def _wants_json() -> bool:
    """The API and the pages' JSON requests (the modeler's, the decision editor's) get their errors as JSON."""
    return request.path.startswith("/api/") or request.is_json


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
    415: N_("Not a form"),
    503: N_("Try again in a moment"),
}

DESCRIPTIONS = {
    400: N_("The request could not be understood. Go back and try again."),
    403: N_("You are not allowed to do this."),
    404: N_("There is nothing here, or it belongs to another company."),
    405: N_("This page cannot be used this way."),
    409: N_("Someone else changed this at the same moment."),
    413: N_("The upload is too large."),
    415: N_("This page takes a form, not JSON."),
    503: N_("The database cannot be reached right now. Try again in a moment."),
}


def _unexpected(error: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return jsonify(error="Internal Server Error", message="something went wrong on our side; it has been logged"), 500
    return render_template("error.html", code=500, title=_("Something went wrong"),
                           message=_("Something went wrong on our side; it has been logged.")), 500


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
        return jsonify(error="Service Unavailable", message=DESCRIPTIONS[503]), 503
    return render_template("error.html", code=503, title=_(TITLES[503]), message=_(DESCRIPTIONS[503])), 503


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sa.exc.DBAPIError, _database_error)
    app.register_error_handler(sa.exc.TimeoutError, _database_error)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
