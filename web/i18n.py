"""Locale and time zone per request, and the template helpers that use them."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    """The language chosen in this session, else the user's, else Simplified Chinese."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Dates show in the company's time zone; anonymous pages use China Standard Time."""
    if current_user.is_authenticated:
        return current_user.company.timezone
    return "Asia/Shanghai"


def locale_code() -> str:
    """The current locale as used in diagram translations (zh_Hans, zh_Hant, en)."""
    locale = get_locale()
    return f"{locale.language}_{locale.script}" if locale and locale.script else str(locale or "en")


def localtime(value: datetime | None, format: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, format) if value else ""
