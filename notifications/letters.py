"""What a mail says and how it looks, without the web app: the reader's gettext catalog (babel), the HTML written
by a plain Jinja environment over templates/, and absolute links to the pages a mail points to.

Only the mail module imports this one: the domain that creates notifications never loads Jinja. The links' paths
are the pages' own (web/notifications.py, web/inbox.py); tests/notifications/test_letters.py proves the app's
routes build the same URLs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from urllib.parse import urlsplit

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.routing import Map, MapAdapter, Rule

ROOT = Path(__file__).resolve().parent.parent
PAGES = Map([Rule("/account/notifications", endpoint="notifications.preferences"),
             Rule("/notifications/<int:notification_id>", endpoint="notifications.follow"),
             Rule("/tasks/<task_id>", endpoint="inbox.task")])


@dataclass(frozen=True)
class Entry:
    text: str
    url: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Letter:
    """A mail's content, written once as plain text and once as HTML."""

    subject: str
    greeting: str
    sections: tuple[tuple[str, tuple[Entry, ...]], ...]  # (heading, or "" for none; its entries)
    footer: str
    settings_url: str

    def plain(self) -> str:
        lines = [self.greeting, ""]
        for heading, entries in self.sections:
            lines += [heading, ""] if heading else []
            for entry in entries:
                lines += [f"- {entry.text}", *(f"  {detail}" for detail in entry.details), f"  {entry.url}", ""]
        return "\n".join([*lines, "-- ", self.footer, self.settings_url, ""])

    def html(self, lang: str) -> str:
        return _templates().get_template("notifications/mail.html").render(letter=self, lang=lang)


class Language:
    """A reader's language: `locale` names it (for names and dates), calling it translates as Flask-Babel's
    gettext does (a message, then its %(name)s values)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.catalog = _catalog(locale)

    def __call__(self, message: str, **values: object) -> str:
        text = self.catalog.gettext(message)
        return text % values if values else text


def links(base_url: str) -> MapAdapter:
    """Builds absolute links to the site as mail readers reach it (BASE_URL), outside any request."""
    base = urlsplit(base_url)
    return PAGES.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")


@cache
def _catalog(locale: str) -> NullTranslations:
    return Translations.load(str(ROOT / "translations"), [locale])


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=select_autoescape())
