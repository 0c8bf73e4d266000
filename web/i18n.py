"""Locale and time zone per request, and the template helpers that use them."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from babel import support
from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

# WTForms ships its messages as zh (Simplified) and zh_TW (Traditional), not under script codes.
WTFORMS_LOCALES = {"zh_Hans": "zh", "zh_Hant": "zh_TW"}


def select_locale() -> str:
    """The language chosen in this session, else the user's, else Simplified Chinese. The API, which integrations
    call, speaks the language its Accept-Language header asks for, else the one chosen in this session (its docs
    page in a browser), else English."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        return _accepted(languages) or _chosen(languages) or "en"
    chosen = _chosen(languages)
    if chosen:
        return chosen
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# How clients write our Chinese locales in Accept-Language (zh-CN, zh-TW, zh-Hant-HK…), by their first two parts.
CHINESE_TAGS = {"zh": "zh_Hans", "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-hans": "zh_Hans",
                "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant", "zh-hant": "zh_Hant"}


def _accepted(languages: dict[str, str]) -> str | None:
    """The best of our languages the Accept-Language header asks for, reading zh-CN as zh_Hans and zh-TW as zh_Hant."""
    for tag, _quality in request.accept_languages:
        code = tag.replace("_", "-").lower()
        found = CHINESE_TAGS.get("-".join(code.split("-")[:2])) or next(
            (name for name in languages if name.lower() == code.split("-")[0]), None)
        if found in languages:
            return found
    return None


def _chosen(languages: dict[str, str]) -> str | None:
    """The language picked with the page's language buttons, if it is one we have."""
    chosen = session.get("lang")
    return chosen if chosen in languages else None


def select_timezone() -> str:
    """Dates show in the company's time zone; anonymous pages use China Standard Time."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.company.timezone
    return "Asia/Shanghai"


def locale_code() -> str:
    """The current locale as used in diagram translations (zh_Hans, zh_Hant, en)."""
    locale = get_locale()
    return f"{locale.language}_{locale.script}" if locale and locale.script else str(locale or "en")


def localtime(value: datetime | str | None, format: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC moment (or its ISO text, as event data keeps it) on the company's clocks."""
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    return format_datetime(value, format) if value else ""


@lru_cache(maxsize=8)
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [WTFORMS_LOCALES.get(locale, locale)], domain="wtforms")


def use_wtforms_catalog() -> None:
    """Give WTForms' built-in messages the page's language (Flask-WTF reads request.wtforms_translations)."""
    request.wtforms_translations = _wtforms_catalog(locale_code())
