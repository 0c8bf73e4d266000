"""Input settled once for every route, so that no view has to think about it: ids no column can hold, whole-number
arguments, text no database can store, JSON nested too deep to parse, and JSON posted to pages that take forms.
Each answers a 4xx a person can act on instead of failing deep inside a view. Also the diagram posted as JSON by
the modeler and its test runs, and its problems as they answer them."""
from __future__ import annotations

import json
import re
from itertools import accumulate, chain
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map

from engine.repository.xmlload import DiagramError
from web.errors import refuse

# The largest value of an sa.Integer column on PostgreSQL (SQLite's hold 64 bits): every id and number in a URL.
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Text no database here can take: NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8, so no driver sends them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
Marked = TypeVar("Marked")


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: digits beyond what an id column holds match no route (404) instead of reaching
    the database, where SQLite cannot bind them (OverflowError) and PostgreSQL refuses them (out of range)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def _whole(text: str | None) -> int | None:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # missing, not a number, or thousands of digits
        return None


def int_arg(values: MultiDict, name: str, default: int | None = None, low: int = INT_MIN,
            high: int = INT_MAX) -> int | None:
    """A whole number from the query string or a form, clamped to [low, high] (a page number past the end asks for
    the last possible page, an id beyond any column finds nothing); `default` when missing or not a number."""
    value = _whole(values.get(name))
    return default if value is None else min(max(value, low), high)


def int_list(values: MultiDict, name: str) -> list[int]:
    """Every value of `name` that is a whole number an id column can hold; the others are left out."""
    return [n for n in map(_whole, values.getlist(name)) if n is not None and INT_MIN <= n <= INT_MAX]


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text, counted without recursion (brackets in strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _holds_unstorable(value: Any) -> bool:
    """Whether any string in a parsed JSON value, key or value, holds text no database can take."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _UNSTORABLE.search(item):
            return True
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
    return False


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, refusing text nested deeper than JSON_MAX_DEPTH before it is parsed (the parser recurses once
    per level and fails near 1,000 with a RecursionError, which `get_json(silent=True)` does not catch), and strings
    no database can store (a NUL or a lone surrogate, which JSON escapes can spell). Refused, the text is a
    ValueError like any malformed JSON: `get_json()` answers 400 and `get_json(silent=True)` gives None."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode(json.detect_encoding(s)) if isinstance(s, bytes) else s
        limit = self._app.config["JSON_MAX_DEPTH"]
        if nesting_depth(text) > limit:
            raise ValueError(f"JSON nested deeper than {limit} levels")
        value = super().loads(text, **kwargs)
        if _holds_unstorable(value):
            raise ValueError("JSON text holding a NUL character or a lone surrogate")
        return value


def takes_json(target: Marked) -> Marked:
    """Mark a view (right under its route decorator) or a whole blueprint as reading JSON bodies."""
    target.takes_json = True  # type: ignore[attr-defined]
    return target


def refuse_json_to_forms() -> None:
    """Pages take form posts: refuse a JSON post (415) to a view not marked `takes_json`. Flask-WTF would read the
    JSON as the page form's fields, and JSON that is not an object of texts (`true`, a list, a nested object)
    breaks the form or the view."""
    marked = (current_app.view_functions.get(request.endpoint or ""), current_app.blueprints.get(request.blueprint))
    if request.method == "POST" and request.is_json and not any(getattr(m, "takes_json", False) for m in marked):
        refuse(415, "unsupported_media_type")


def refuse_unstorable_text() -> None:
    """Refuse (400) a path, query string or form holding a NUL character, which PostgreSQL cannot store: refused
    here, it never reaches a query (JSON bodies are checked as they are parsed)."""
    fields = (part for values in (request.args, request.form) for pair in values.items(multi=True) for part in pair)
    texts = chain((request.view_args or {}).values(), fields)
    if any(isinstance(text, str) and _UNSTORABLE.search(text) for text in texts):
        refuse(400, "unstorable_text")


def register(app: Flask) -> None:
    """Before any blueprint is registered: rules bind their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.json = JsonProvider(app)
    app.before_request(refuse_unstorable_text)
    app.before_request(refuse_json_to_forms)


def json_xml() -> tuple[dict, bytes]:
    """The request's JSON body and its diagram; 400 when there is none."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        abort(Response(json.dumps({"message": _("Send the diagram as JSON: {\"xml\": ...}")}), 400,
                       mimetype="application/json"))
    return body, body["xml"].encode("utf-8")


def problems_json(error: DiagramError) -> list[dict]:
    return [{"element": element, "message": message} for element, message in error.problems]

