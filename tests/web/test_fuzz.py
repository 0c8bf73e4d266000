"""No input makes the app answer 5xx (or, in tests, raise): Hypothesis throws generated requests at every route.

Every rule of the app's URL map, with every method it takes, is tried by each role of a company (signed in, with a
valid CSRF token on every post and the user's bearer token on /api/ routes) and by an anonymous visitor. The path is
filled from the rule's converters with ids of the company's own things, ids of nothing, ids beyond 64 bits and text
of every kind; query strings and bodies are generated too: forms with the app's own field names, uploads, JSON of
every shape (nested 100,000 deep, huge numbers, unicode, lone surrogates, wrong types) and raw bytes.

Bounded for CI: FUZZ_EXAMPLES examples per rule, method and visitor (KESU_FUZZ_EXAMPLES runs more), no new example
after FUZZ_SECONDS in one test, and derandomized, so every run tries the same requests. HEAD is drawn on GET rules;
OPTIONS is left out (Flask answers it from the rule, no view runs). Routes are read from the URL map, so a route
added later is fuzzed without a change here.
"""
from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, note, settings, strategies as st
from werkzeug.routing import IntegerConverter, PathConverter, Rule
from wtforms.fields.core import UnboundField

from app import create_app
from complaints import sla
from complaints.registration import FIELDS as REGISTRATION_FIELDS, sample_values
from conftest import (
    COMPLAINT,
    DIAGRAMS,
    GRADING,
    GRADING_TABLE,
    GROUPS,
    PASSWORD,
    ROOT,
    STANDARD,
    Api,
    Browser,
    cheap_password_hash,
    empty,
    make_company,
)
from db import Database, utcnow
from engine.calendars.company import CompanyCalendar
from engine.records import InboxTask, Instance, ProcessVersion
from engine.repository.drafts import save_draft
from engine.repository.publishing import trial_version
from forms.builtin_fields import BUILTIN_FIELDS
from notifications import notify
from notifications.models import Notification

FUZZ_EXAMPLES = int(os.environ.get("KESU_FUZZ_EXAMPLES", "25"))
FUZZ_SECONDS = float(os.environ.get("KESU_FUZZ_SECONDS", "6"))
VISITORS = {"anonymous": None, "employee": "service", "process_owner": "owner", "admin": "admin", "auditor": "auditor"}


def _rules() -> list[tuple[str, str]]:
    """(rule, method) for every rule of a freshly built app, HEAD and OPTIONS aside."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "rules-only",
                      "EMBEDDED_WORKER": False})
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


RULES = _rules()

# -- what is sent ---------------------------------------------------------------------------------------------

BEYOND = [2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, int("9" * 400)]
NASTY = ["", " ", "\x00", "a\x00b", "%", "%00", "%ff", "..", "../../app.py", "<script>alert(1)</script>",
         "' OR '1'='1", "NaN", "-1", "1e999", "\uff10\uff11\uff12", "١٢٣", "\u202egnp.exe", "𠀀𪚥", "😀", "\r\n",
         "null", "[]", "{}", "a" * 5000, "9" * 5000, "2026-02-30", "PT0S", "level:1", "true"]
JSON_ONLY = ["\ud800", "x\udfffy", "\x00"]  # lone surrogates cannot travel in a URL or a form, only as JSON escapes
ARGS = ["page", "step", "to", "from", "version", "status", "scope", "sort", "overdue", "procedure", "grade",
        "category", "next", "note", "q", "after", "mine", "limit", "cursor", "format"]
XML = [STANDARD.read_text(), GRADING_TABLE.read_text(), "", "<bpmn:definitions", "<a>" * 5000 + "</a>" * 5000,
       (DIAGRAMS / "billion_laughs.bpmn").read_text(), (DIAGRAMS / "xxe.bpmn").read_text(), "not xml at all"]
TOO_LARGE = b"x" * (5 * 1024 * 1024)  # over MAX_CONTENT_LENGTH
CONTENT_TYPES = ["application/json", "application/xml", "text/plain", "multipart/form-data",
                 "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                 "application/json; charset=utf-16"]


def _form_field_names() -> list[str]:
    """Every field name the app's forms, task forms and views read, so generated forms reach their validation."""
    forms, seen = [FlaskForm], set()
    while forms:
        form = forms.pop()
        forms += form.__subclasses__()
        seen |= {name for name, value in vars(form).items() if isinstance(value, UnboundField)}
    shipped = {match for path in (ROOT / "processes").glob("*.bpmn")
               for match in re.findall(r'formField id="([^"]+)"', path.read_text())}
    read_by_views = {"reason", "task", "to_seq", "instance", "to", "next", "value:customer_name",
                     "value:handling_cost", "value:valid", "value:grade"}
    builtin = {spec.id for fields in BUILTIN_FIELDS.values() for spec in fields}
    return sorted(seen | shipped | builtin | read_by_views | set(REGISTRATION_FIELDS))


FORM_FIELDS = _form_field_names()
# Values that pass validation, so that a form with a few fields changed gets past the others.
VALID = {**COMPLAINT, **{key: str(value).lower() if isinstance(value, bool) else str(value)
                         for key, value in GRADING.items()},
         "valid": "true", "reason": "fuzzing", "note": "fuzzing", "name": "Fuzz calendar", "timezone": "Asia/Shanghai",
         "periods": "08:30-12:00, 13:00-17:30", "weekdays": ["0", "1"], "holidays": "2026-10-01 # National Day",
         "year": "2026", "grade": "level:4", "response_target": "PT24H", "resolution_target": "5 working days",
         "warn_percent": "80", "escalate_to": "Customer Service", "text": "Called the customer back.",
         "mailed": ["reopened"], "digest": "y", "to_seq": "3"}

numbers = st.one_of(st.integers(-3, 5), st.sampled_from(BEYOND), st.sampled_from(BEYOND).map(lambda n: -n),
                    st.integers())
texts = st.one_of(st.text(max_size=30), st.sampled_from(NASTY), numbers.map(str))
values = st.one_of(texts, st.floats().map(str), st.lists(texts, max_size=3))
json_texts = st.one_of(texts, st.sampled_from(JSON_ONLY))
json_leaves = st.one_of(st.none(), st.booleans(), numbers, st.floats(), json_texts)
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.one_of(st.sampled_from(FORM_FIELDS), texts), inner, max_size=3),
                           max_leaves=10)


def _changed(base: dict[str, Any], keys: st.SearchStrategy, fill: st.SearchStrategy) -> st.SearchStrategy:
    """`base` or nothing, with a few generated fields over it."""
    return st.builds(lambda start, extra: {**start, **extra}, st.sampled_from([{}, base]),
                     st.dictionaries(st.one_of(st.sampled_from(list(keys)), texts), fill, max_size=4))


def _nested(depth: int) -> list[str]:
    nested = "[" * depth + "]" * depth
    return [nested, '{"a":' * depth + "1" + "}" * depth, '{"data": ' + nested + "}",
            '{"xml": "<x/>", "note": ' + nested + "}", "[" * depth]


RAW_JSON = [text for depth in (65, 1_000, 10_000, 100_000) for text in _nested(depth)] + [
    '{"data": {"handling_cost": 1' + "0" * 400 + "}}", '{"revision": 1e999, "xml": ""}', "9" * 5000, "NaN", "",
    '{"data": ', "\ufeff{}", '{"email": "service@acme.test", "password": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"data": {"customer_name": "\\u0000"}}', '{"data": {"content": "\\ud800"}}']
API_JSON = {"email": json_texts, "password": json_texts, "xml": st.one_of(st.sampled_from(XML), json_values),
            "note": json_values, "revision": json_values,
            "data": st.one_of(_changed({**COMPLAINT, "valid": True}, FORM_FIELDS, json_values), json_values)}


def _json_bodies() -> st.SearchStrategy:
    shaped = st.fixed_dictionaries({}, optional=API_JSON)
    encoded = st.one_of(shaped, json_values).map(json.dumps)
    return st.builds(lambda text, encoding: {"data": text.encode(encoding, "surrogatepass"),
                                             "content_type": "application/json"},
                     st.one_of(encoded, st.sampled_from(RAW_JSON)), st.sampled_from(["utf-8", "utf-8", "utf-16"]))


def _uploads() -> st.SearchStrategy:
    content = st.one_of(st.sampled_from(XML).map(str.encode), st.binary(max_size=100))
    files = st.dictionaries(st.sampled_from(["diagram", "table", "file"]),
                            st.tuples(content, st.sampled_from(["x.bpmn", "x.dmn", "", "../x.bpmn", "图.bpmn"])),
                            min_size=1, max_size=2)
    return st.builds(lambda fields, chosen: {"data": fields, "files": chosen},
                     _changed({"note": "fuzzing"}, FORM_FIELDS, values), files)


def _raw() -> st.SearchStrategy:
    data = st.one_of(st.binary(max_size=300), st.sampled_from(XML).map(str.encode), st.just(TOO_LARGE))
    return st.builds(lambda body, kind: {"data": body, "content_type": kind}, data, st.sampled_from(CONTENT_TYPES))


FORMS = st.builds(lambda form: {"data": form}, _changed(VALID, FORM_FIELDS, values))
BODIES = st.one_of(st.just({}), FORMS, FORMS, _json_bodies(), _json_bodies(), _uploads(), _raw())
QUERIES = st.one_of(st.dictionaries(st.one_of(st.sampled_from(ARGS), texts), values, max_size=4),
                    st.text(max_size=40), st.just("page=%zz&&=&step=&to=%ff"))

# -- the company the visitors belong to -----------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class World:
    """acme's people and the values its routes take: ids and keys of its things, as path segments."""

    emails: dict[str, str]
    ids: list[str]
    keys: list[str]

    def __repr__(self) -> str:
        return "World(acme)"


def _things(app: Flask, database: Database, acme) -> World:
    """Complaints at every stage, a breached SLA clock escalated to a group, a notification, a test run, a draft."""
    with database.session() as s:
        sla.save_policy(s, acme.id, None, grade="", category="", resolution_target="PT0S",
                        escalate_to="Customer Service")
        save_draft(s, acme.id, "bpmn", "complaint_standard", STANDARD.read_text(), 0, acme.users["owner"].id)
        trial = trial_version(s, acme.id, STANDARD.read_bytes(), acme.users["owner"].id, GROUPS)
        app.extensions["kesu.engine"].start(s, trial, acme.actor("owner"), sample_values(), "TEST-fuzz")
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"email": acme.email("service"), "password": PASSWORD})
    service = Api(client, token.get_json()["token"])
    for answers in ({}, {"valid": True}):
        case = service.post("/processes/complaint_standard/instances", {"data": COMPLAINT}).get_json()
        service.post(f"/tasks/{case['tasks'][0]['id']}/claim")
        if answers:
            service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": answers})
    sla.check_clocks(database.sessionmaker, app.extensions["kesu.engine"], utcnow() + timedelta(seconds=1))
    with database.session() as s:
        notify(s, acme.id, [u.id for u in acme.users.values()], "reopened", instance_id=case["id"],
               params={"number": case["number"]})
        ids = {value for model in (Instance, CompanyCalendar, sla.SlaPolicy, sla.SlaClock, Notification)
               for value in s.scalars(sa.select(model.id).where(model.company_id == acme.id))}
        ids |= set(s.scalars(sa.select(ProcessVersion.version).where(ProcessVersion.company_id == acme.id)))
        tasks = set(s.scalars(sa.select(InboxTask.id).where(InboxTask.company_id == acme.id)))
    return World(emails={key: acme.email(key) for key in acme.users}, ids=sorted(str(i) for i in ids if i),
                 keys=["complaint_standard", "grading", "en", "zh_Hans", "zh_Hant", *sorted(tasks)])


@pytest.fixture(scope="module")
def world(app) -> Iterator[World]:
    """One company for the whole module (its users hashed cheaply, as conftest does), emptied afterwards."""
    database = app.extensions["kesu.db"]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("accounts.models.generate_password_hash", cheap_password_hash)
            acme = make_company(database, "Acme 化工", "acme.test")
        yield _things(app, database, acme)
    finally:
        empty(database)


@dataclass(repr=False)
class Visitor:
    """A test client, signed in or not, with its CSRF token and (signed in) its bearer token."""

    name: str
    client: FlaskClient
    csrf: str
    token: str | None

    def __repr__(self) -> str:
        return self.name

    def headers(self, path: str, method: str) -> dict[str, str]:
        headers = {"X-CSRFToken": self.csrf} if method == "POST" else {}
        if self.token and path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def _visitor(app: Flask, world: World, name: str) -> Visitor:
    browser, key = Browser(app.test_client()), VISITORS[name]
    token = None
    if key:
        assert browser.login(world.emails[key]).status_code == 302
        answer = browser.client.post("/api/v1/auth/token", json={"email": world.emails[key], "password": PASSWORD})
        token = answer.get_json()["token"]
    return Visitor(name, browser.client, browser.csrf("/login"), token)


@dataclass(repr=False)
class Visitors:
    """Every visitor, signed in afresh for each test (a fuzzed request may sign one out or switch its language),
    and the test's clock: past FUZZ_SECONDS no new example is tried, but a failing one is still shrunk."""

    each: list[Visitor]
    started: float = field(default_factory=time.monotonic)
    failed: bool = False

    def __repr__(self) -> str:
        return f"Visitors({', '.join(map(repr, self.each))})"

    def out_of_time(self) -> bool:
        return not self.failed and time.monotonic() - self.started > FUZZ_SECONDS


@pytest.fixture()
def visitors(app, world, monkeypatch) -> Visitors:
    monkeypatch.setitem(app.config, "CHROMIUM", "/nonexistent/chromium")  # a PDF costs seconds; covered elsewhere
    return Visitors([_visitor(app, world, name) for name in VISITORS])


# -- the requests ---------------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _segment(rule: Rule, name: str, world: World) -> st.SearchStrategy:
    """Values for one variable of the rule, as its converter would see them in the URL."""
    converter = rule._converters[name]
    if isinstance(converter, IntegerConverter):
        chosen = st.one_of(st.sampled_from(world.ids), st.sampled_from(world.ids), st.integers(0, 3).map(str),
                           st.sampled_from(BEYOND).map(str), st.just("9" * 5000), texts)
    elif isinstance(converter, PathConverter):
        chosen = st.one_of(st.sampled_from(["kesu.css", "../app.py", "vendor/../../config.py", "src/"]), texts)
    else:
        chosen = st.one_of(st.sampled_from(world.keys), st.sampled_from(world.keys), texts)
    return chosen.filter(bool).map(lambda value: quote(value, safe="/" if isinstance(converter, PathConverter) else ""))


@dataclass(frozen=True)
class Probe:
    """One request, printed as a person would retype it."""

    method: str
    path: str
    query: dict | str
    body: dict

    def __str__(self) -> str:
        body = {key: (value[:300] + b"..." if isinstance(value, bytes) and len(value) > 300 else value)
                for key, value in self.body.items()}
        return f"{self.method} {self.path} query={self.query!r} body={body!r}"[:3000]


def _filled(rule: str, values: tuple[str, ...]) -> str:
    """The rule with its placeholders replaced by `values`, in order."""
    remaining = iter(values)
    return PLACEHOLDER.sub(lambda _match: next(remaining), rule)


def probes(rule: Rule, method: str, world: World) -> st.SearchStrategy:
    names = PLACEHOLDER.findall(rule.rule)
    path = st.tuples(*[_segment(rule, name, world) for name in names]).map(partial(_filled, rule.rule))
    verbs = st.sampled_from(["GET", "GET", "HEAD"]) if method == "GET" else st.just(method)
    return st.builds(Probe, verbs, path, QUERIES, BODIES if method == "POST" else st.just({}))


def _rule(app: Flask, text: str, method: str) -> Rule:
    return next(rule for rule in app.url_map.iter_rules() if rule.rule == text and method in rule.methods)


def _send(visitor: Visitor, probe: Probe):
    body = dict(probe.body)
    files = {name: (io.BytesIO(data), filename) for name, (data, filename) in body.pop("files", {}).items()}
    if isinstance(body.get("data"), dict):
        body["data"] = {**body["data"], **files, "csrf_token": visitor.csrf}  # a fresh stream for every visitor
    return visitor.client.open(probe.path, method=probe.method, query_string=probe.query,
                               headers=visitor.headers(probe.path, probe.method), **body)


@pytest.mark.parametrize("rule,method", RULES)
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much, HealthCheck.large_base_example])
@given(data=st.data())
def test_no_generated_request_gets_a_server_error(app, world, visitors, rule, method, data):
    if visitors.out_of_time():
        return
    probe = data.draw(probes(_rule(app, rule, method), method, world), label="request")
    note(str(probe))
    for visitor in visitors.each:
        note(f"... as {visitor.name}")
        try:
            response = _send(visitor, probe)
            assert response.status_code < 500, \
                f"{visitor.name}: {probe} → {response.status_code}: {response.get_data(as_text=True)[:500]}"
        except BaseException:
            visitors.failed = True
            raise
