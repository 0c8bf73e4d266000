"""Server-side validation of a task submission against the fields the task declares.

This is the authority for every channel (HTML forms and the JSON API): undeclared keys are refused,
so one lane's form can never set the variable another lane's gateway reads.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import N_
from engine.repository.specs import FieldSpec


@dataclass(frozen=True)
class FieldError:
    """A problem with one field: a code for translation and its parameters."""

    code: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return MESSAGES[self.code] % dict(self.params)


# The one home of form messages by code, for every channel: English here, translated at the edge.
MESSAGES = {
    "unknown": N_("this task has no such field"),
    "not_in_form": N_("this form has no such field"),
    "readonly": N_("this field is read-only"),
    "required": N_("this field is required"),
    "boolean": N_("answer yes or no (true or false)"),
    "integer": N_("enter a whole number"),
    "date": N_("enter a date as YYYY-MM-DD"),
    "choice": N_("choose one of: %(choices)s"),
    "text": N_("enter text"),
    "min": N_("must be at least %(limit)s"),
    "max": N_("must be at most %(limit)s"),
    "minlength": N_("must be at least %(limit)s characters"),
    "maxlength": N_("must be at most %(limit)s characters"),
    "unknown_user": N_("no active user of your company has this e-mail"),
    "unknown_group": N_("your company has no group of this name"),
}


class FormError(Exception):
    """The submission was refused; `errors` maps each bad field to its FieldError."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("boolean")


def _long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError("integer") from None


def _date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("date") from None


def _text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("text")
    return str(value).strip()


def _coerce(spec: FieldSpec, value: Any) -> Any:
    if spec.type == "boolean":
        return _boolean(value)
    if spec.type == "long":
        return _long(value)
    if spec.type == "date":
        return _date(value)
    if spec.type == "enum":
        if not isinstance(value, str) or value not in {o.id for o in spec.options}:
            raise ValueError("choice")
        return value
    return _text(value)


def _limits(spec: FieldSpec, value: Any) -> FieldError | None:
    if spec.type == "long":
        if spec.min is not None and value < spec.min:
            return FieldError("min", (("limit", _plain(spec.min)),))
        if spec.max is not None and value > spec.max:
            return FieldError("max", (("limit", _plain(spec.max)),))
    if spec.type == "string":
        if spec.minlength is not None and len(value) < spec.minlength:
            return FieldError("minlength", (("limit", spec.minlength),))
        if spec.maxlength is not None and len(value) > spec.maxlength:
            return FieldError("maxlength", (("limit", spec.maxlength),))
    return None


def _plain(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean(fields: tuple[FieldSpec, ...], data: dict[str, Any]) -> dict[str, Any]:
    """The submission reduced to declared, typed, valid values; raises FormError listing every problem."""
    by_id = {f.id: f for f in fields}
    errors: dict[str, FieldError] = {k: FieldError("unknown") for k in data if k not in by_id}
    errors.update({k: FieldError("readonly") for k in data if k in by_id and by_id[k].readonly})
    result: dict[str, Any] = {}
    for spec in fields:
        if spec.readonly or spec.id in errors:
            continue
        value = data.get(spec.id)
        if _is_blank(value):
            if spec.required:
                errors[spec.id] = FieldError("required")
            elif spec.id in data:
                result[spec.id] = None
            continue
        try:
            result[spec.id] = _coerce(spec, value)
        except ValueError as error:
            choices = ", ".join(o.id for o in spec.options)
            errors[spec.id] = FieldError(str(error), (("choices", choices),) if spec.type == "enum" else ())
            continue
        problem = _limits(spec, result[spec.id])
        if problem:
            errors[spec.id] = problem
    errors.update(_conditional_requirements(fields, result, errors))
    if errors:
        raise FormError(errors)
    return result


def check_people(fields: tuple[FieldSpec, ...], values: dict[str, Any], is_user: Callable[[str], bool],
                 is_group: Callable[[str], bool]) -> None:
    """Fields choosing one of the company's users or groups must name an existing one; raises FormError."""
    known = {"users": (is_user, "unknown_user"), "groups": (is_group, "unknown_group")}
    errors = {spec.id: FieldError(known[spec.choices][1]) for spec in fields
              if spec.choices and values.get(spec.id) and not known[spec.choices][0](values[spec.id])}
    if errors:
        raise FormError(errors)


def _conditional_requirements(fields: tuple[FieldSpec, ...], values: dict[str, Any],
                              errors: dict[str, FieldError]) -> dict[str, FieldError]:
    """Fields required only when another field has a given value (e.g. 'satisfied' once 'reached')."""
    return {spec.id: FieldError("required") for spec in fields
            if spec.required_when and spec.id not in errors and values.get(spec.id) is None
            and values.get(spec.required_when[0]) == spec.required_when[1]}
