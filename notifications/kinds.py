"""The kinds of notification and their texts, written from a notification's params in the reader's language and
the company's time zone whenever it is shown or mailed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import LazyString, gettext as _, lazy_gettext as _l

DATE_FORMAT = "yyyy-MM-dd HH:mm"  # as the pages show dates (web.i18n.localtime)


@dataclass(frozen=True)
class Kind:
    """`choice` names the kind on the preferences form; `subject` and `body` are written from the params
    number (the complaint number), task (a task's names by locale), clock (an SLA clock: a name marked for
    translation, or names by locale)."""

    choice: LazyString
    subject: LazyString
    body: LazyString


KINDS: dict[str, Kind] = {
    "task_assigned": Kind(_l("A task is assigned to me"), _l("Assigned to you: %(task)s · %(number)s"),
                          _l("The task “%(task)s” of complaint %(number)s is assigned to you.")),
    "task_offered": Kind(_l("A task is offered to me or my groups"), _l("New task: %(task)s · %(number)s"),
                         _l("The task “%(task)s” of complaint %(number)s is offered to you or one of your groups: "
                            "claim it in your inbox to work on it.")),
    "sla_warning": Kind(_l("A deadline is close"), _l("Deadline close: %(clock)s · %(number)s"),
                        _l("The deadline “%(clock)s” of complaint %(number)s is close.")),
    "sla_breached": Kind(_l("A deadline has passed"), _l("Deadline missed: %(clock)s · %(number)s"),
                         _l("The deadline “%(clock)s” of complaint %(number)s has passed.")),
    "reopened": Kind(_l("A complaint I worked on is reopened"), _l("Complaint %(number)s reopened"),
                     _l("Complaint %(number)s was sent back by the customer and is being handled again.")),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    details: tuple[str, ...]  # the due time, whom a breach escalated to


def when(value: datetime | str, locale: str, zone: str) -> str:
    """A stored UTC time (or its ISO text) as the company's clocks show it."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, DATE_FORMAT, tzinfo=ZoneInfo(zone), locale=locale)


def _name(value: Any, locale: str) -> str:
    """A name given by locale ({"": default, "zh_Hans": ...}) or as a message to translate."""
    if isinstance(value, dict):
        return value.get(locale) or value.get("") or ""
    return _(value) if value else ""


def render(kind: str, params: dict[str, Any], locale: str, zone: str) -> Rendered:
    """The notification's texts in the current gettext locale, which `locale` names (for names and dates)."""
    values = {"number": params.get("number", ""), "task": _name(params.get("task"), locale),
              "clock": _name(params.get("clock"), locale)}
    details = []
    if params.get("due_at"):
        details.append(_("Due: %(due)s", due=when(params["due_at"], locale, zone)))
    if params.get("escalated_to"):
        details.append(_("Escalated to %(group)s.", group=params["escalated_to"]))
    text = KINDS[kind]
    return Rendered(str(text.subject) % values, str(text.body) % values, tuple(details))
