"""The JSON API's request and response shapes (marshmallow): one definition validates the requests, checks the
answers in tests and becomes the OpenAPI document (web/openapi.py). Requests ignore keys they do not name, as the
API always has; answers name every key they carry, so the document lists them all. A task's `data` stays a free
object: the engine's form-field rules validate it, once."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields
from marshmallow.validate import OneOf

from engine.errors import N_

# marshmallow's own messages for the fields used below, so they are extracted and translated with Kesu's.
LIBRARY_MESSAGES = (N_("Missing data for required field."), N_("Not a valid string."), N_("Not a valid mapping type."),
                    N_("Field may not be null."), N_("Invalid input type."))


class Body(Schema):
    """A request: keys it does not name are ignored."""

    class Meta:
        unknown = EXCLUDE


class Answer(Schema):
    """An answer: every key is named (an unnamed one fails the tests' check)."""

    class Meta:
        unknown = RAISE


class TokenRequest(Body):
    email = fields.String(required=True)
    password = fields.String(required=True)
    name = fields.String(metadata={"description": "what the token is for, shown on the account page"})


class TokenIssued(Answer):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class DataBody(Body):
    data = fields.Dict(required=True, metadata={"description": "field id → value; the form's rules check it"})


class TasksQuery(Body):
    scope = fields.String(validate=OneOf(("mine", "groups"), error=N_("must be mine or groups")),
                          metadata={"description": "default: groups"})


class Procedure(Answer):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    published_at = fields.DateTime(required=True)


class Published(Answer):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)


class Option(Answer):
    id = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)


class FormField(Answer):
    id = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)
    labels = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    required = fields.Boolean(required=True)
    options = fields.List(fields.Nested(Option), required=True)
    choices = fields.String(required=True, allow_none=True, metadata={"description": "users, groups or null"})


class Task(Answer):
    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    number = fields.String(required=True)
    name = fields.String(required=True)
    names = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    element_id = fields.String(required=True)
    lane = fields.String(required=True, allow_none=True)
    candidate_groups = fields.List(fields.String(), required=True)
    candidate_users = fields.List(fields.String(), required=True)
    assignee = fields.String(required=True, allow_none=True)
    assignee_id = fields.Integer(required=True, allow_none=True)
    due = fields.DateTime(required=True, allow_none=True)
    priority = fields.Integer(required=True)
    created = fields.DateTime(required=True)
    form_fields = fields.List(fields.Nested(FormField), required=True)


class Started(Answer):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    tasks = fields.List(fields.Nested(Task), required=True)


class Instance(Started):
    process = fields.String(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(required=True)
    end = fields.String(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    created = fields.DateTime(required=True)
    completed = fields.DateTime(required=True, allow_none=True)


class Event(Answer):
    seq = fields.Integer(required=True)
    type = fields.String(required=True)
    element_id = fields.String(required=True, allow_none=True)
    task_id = fields.String(required=True, allow_none=True)
    actor = fields.String(required=True, allow_none=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    at = fields.DateTime(required=True)
    data = fields.Dict(required=True, allow_none=True)


class StepDone(Answer):
    status = fields.String(required=True, metadata={"description": "claimed or released"})


class Error(Answer):
    """Every error answer: `error` in the caller's language, `code` stable, `params` what the text names."""

    error = fields.String(required=True)
    code = fields.String(required=True)
    params = fields.Dict(required=True)
    errors = fields.Raw(metadata={"description": "per field (an object) or per diagram element (a list)"})
    message = fields.String(metadata={"description": "the same text as error (older clients read it)"})
    retry_after = fields.Integer(metadata={"description": "429: seconds until sign-ins are accepted again"})
    retry_at = fields.String(metadata={"description": "429: when, in ISO 8601"})
