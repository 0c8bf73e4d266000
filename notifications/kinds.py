"""The kinds of notification and their texts, written from a notification's params in the reader's language and
the company's time zone whenever it is shown or mailed.

The texts are English, marked with N_; whoever shows them (a page, a mail) passes `render` the reader's gettext,
so the domain that creates notifications never loads Flask-Babel."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from engine import N_

DATE_FORMAT = "yyyy-MM-dd HH:mm"  # as the pages show dates (web.i18n.localtime)
Gettext = Callable[[str], str]  # a message in the reader's language


@dataclass(frozen=True)
class Kind:
    """`choice` names the kind on the preferences form; `subject` and `body` are written from the params
    number (the complaint number), task (a task's names by locale), clock (an SLA clock: a name marked for
    translation, or names by locale), closure (how a case closed: normal, invalid, abnormal)."""

    choice: str
    subject: str
    body: str


KINDS: dict[str, Kind] = {
    "task_assigned": Kind(N_("A task is assigned to me"), N_("Assigned to you: %(task)s · %(number)s"),
                          N_("The task “%(task)s” of complaint %(number)s is assigned to you.")),
    "task_offered": Kind(N_("A task is offered to me or my groups"), N_("New task: %(task)s · %(number)s"),
                         N_("The task “%(task)s” of complaint %(number)s is offered to you or one of your groups: "
                            "claim it in your inbox to work on it.")),
    "sla_warning": Kind(N_("A deadline is close"), N_("Deadline close: %(clock)s · %(number)s"),
                        N_("The deadline “%(clock)s” of complaint %(number)s is close.")),
    "sla_breached": Kind(N_("A deadline has passed"), N_("Deadline missed: %(clock)s · %(number)s"),
                         N_("The deadline “%(clock)s” of complaint %(number)s has passed.")),
    "reopened": Kind(N_("A complaint I worked on or received first is reopened"),
                     N_("Complaint %(number)s reopened"),
                     N_("Complaint %(number)s was sent back by the customer and is being handled again.")),
    "closed": Kind(N_("A complaint I received first is closed"), N_("Complaint %(number)s closed: %(closure)s"),
                   N_("Complaint %(number)s, which you received first, is closed: %(closure)s.")),
}
# How a case closed (the end event's `closure`), as the "closed" notification says it.
CLOSURES: dict[str, str] = {"normal": N_("Closed"), "invalid": N_("Closed as invalid"),
                            "abnormal": N_("Closed abnormally")}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    details: tuple[str, ...]  # the due time, whom a breach escalated to


def when(value: datetime | str, locale: str, zone: str) -> str:
    """A stored UTC time (or its ISO text) as the company's clocks show it."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, DATE_FORMAT, tzinfo=ZoneInfo(zone), locale=locale)


def _name(value: Any, locale: str, gettext: Gettext) -> str:
    """A name given by locale ({"": default, "zh_Hans": ...}) or as a message to translate."""
    if isinstance(value, dict):
        return value.get(locale) or value.get("") or ""
    return gettext(value) if value else ""


def render(kind: str, params: dict[str, Any], locale: str, zone: str, gettext: Gettext) -> Rendered:
    """The notification's texts through `gettext`, the catalog of the language `locale` names (which also picks
    the names and date formats)."""
    values = {"number": params.get("number", ""), "task": _name(params.get("task"), locale, gettext),
              "clock": _name(params.get("clock"), locale, gettext),
              "closure": gettext(CLOSURES.get(params.get("closure") or "normal", CLOSURES["normal"]))}
    details = []
    if params.get("due_at"):
        details.append(gettext(N_("Due: %(due)s")) % {"due": when(params["due_at"], locale, zone)})
    if params.get("escalated_to"):
        details.append(gettext(N_("Escalated to %(group)s.")) % {"group": params["escalated_to"]})
    text = KINDS[kind]
    return Rendered(gettext(text.subject) % values, gettext(text.body) % values, tuple(details))
