"""The JSON API's request and response shapes (marshmallow): one definition validates the requests, checks the
answers in tests and becomes the OpenAPI document (web/openapi.py). Requests ignore keys they do not name, as the
API always has; answers name every key they carry, so the document lists them all. A task's `data` stays a free
object: the engine's form-field rules validate it, once."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields
from marshmallow.validate import OneOf, Range

from complaints.choices import COMPLAINT_STATUSES
from complaints.queries import Cursor
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


def _a_cursor(text: str) -> None:
    if Cursor.decode(text) is None:
        raise ValidationError(N_("not a cursor this API gave; use next_cursor as it came"))


class RegisterQuery(Body):
    """The register's filters, as the complaint list page reads them."""

    q = fields.String(metadata={"description": "a substring of number, customer, contact person, contact, product, "
                                               "specification, contract or work number, or content"})
    status = fields.String(validate=OneOf(tuple(COMPLAINT_STATUSES),
                                          error=N_("must be running, completed, invalid, abnormal or error")),
                           metadata={"description": "the register's status: running, completed (closed normally), "
                                                    "invalid, abnormal (closed so), error"})
    mine = fields.Boolean(error_messages={"invalid": N_("must be true or false")},
                          metadata={"description": "only those I received first, hold or worked on, until closed"})


class ComplaintsQuery(RegisterQuery):
    limit = fields.Integer(validate=Range(1, 200, error=N_("must be between 1 and 200")),
                           error_messages={"invalid": N_("must be a whole number")},
                           metadata={"description": "1 to 200, default 50"})
    cursor = fields.String(validate=_a_cursor, metadata={"description": "the next_cursor of the previous page"})


class ExportQuery(RegisterQuery):
    format = fields.String(validate=OneOf(("xlsx", "csv"), error=N_("must be xlsx or csv")),
                           metadata={"description": "xlsx (the default: a QP0701 sheet and one with every column) "
                                                    "or csv"})


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


class ComplaintItem(Answer):
    id = fields.Integer(required=True, metadata={"description": "the case's id (/instances/{id})"})
    number = fields.String(required=True)
    registered = fields.DateTime(required=True)
    customer_name = fields.String(required=True)
    contact_person = fields.String(required=True)
    contact = fields.String(required=True)
    channel = fields.String(required=True)
    category = fields.String(required=True)
    product = fields.String(required=True)
    specification = fields.String(required=True)
    contract_number = fields.String(required=True)
    work_number = fields.String(required=True)
    content = fields.String(required=True)
    customer_request = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "running, completed, invalid, abnormal or error"})
    first_receiver_id = fields.Integer(required=True, allow_none=True)


class ComplaintPage(Answer):
    items = fields.List(fields.Nested(ComplaintItem), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={"description": "null on the last page"})


class Error(Answer):
    """Every error answer: `error` in the caller's language, `code` stable, `params` what the text names."""

    error = fields.String(required=True)
    code = fields.String(required=True)
    params = fields.Dict(required=True)
    errors = fields.Raw(metadata={"description": "per field (an object) or per diagram element (a list)"})
    message = fields.String(metadata={"description": "the same text as error (older clients read it)"})
    retry_after = fields.Integer(metadata={"description": "429: seconds until sign-ins are accepted again"})
    retry_at = fields.String(metadata={"description": "429: when, in ISO 8601"})
