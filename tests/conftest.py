"""Shared fixtures: a real database (SQLite file, or PostgreSQL via KESU_TEST_DATABASE_URL), the app,
two companies with a user for every role and group, and helpers for forms (with CSRF) and the API."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

import models  # every table on the metadata, for create_all
from accounts.directory import actor_for
from accounts.models import User
from accounts.provisioning import create_company, create_user
from app import create_app
from db import Base, Database
from engine.dto import Actor
from engine.records import ProcessVersion
from engine.repository.decisions import publish_decision
from engine.repository.publishing import publish
from mail_server import Mailbox, MailServer
from web import throttle

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "tests" / "engine" / "diagrams"  # the small diagrams every test folder reads, kept in one place
STANDARD = ROOT / "processes" / "complaint_standard.bpmn"
GRADING_TABLE = ROOT / "processes" / "grading.dmn"
PASSWORD = "correct-horse-battery"
AUDIT_KEY = "6b6573752d74657374732d6f6e6c792d61756469742d6b65792d303030303031"  # seals the tests' histories
GROUPS = ("Customer Service", "Handling Department", "Quality", "Management")
PEOPLE = {  # key: (role, groups)
    "service": ("employee", ("Customer Service",)),
    "service2": ("employee", ("Customer Service",)),
    "handler": ("employee", ("Handling Department",)),
    "quality": ("employee", ("Quality",)),
    "manager": ("employee", ("Management",)),
    "admin": ("admin", ()),
    "owner": ("process_owner", ()),
    "auditor": ("auditor", ()),
}


cheap_password_hash = partial(generate_password_hash, method="pbkdf2:sha256:1000")


@pytest.fixture(autouse=True)
def quick_password_hashing(request, monkeypatch):
    """Test users get cheap PBKDF2 hashes (same code path, not a fifth of a second per user), except in
    tests that ask for `real_password_hashing`."""
    if "real_password_hashing" not in request.fixturenames:
        monkeypatch.setattr("accounts.models.generate_password_hash", cheap_password_hash)


@pytest.fixture()
def real_password_hashing():
    """Keep the production password hashing for this test."""


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("KESU_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kesu-test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = database_url(tmp_path_factory)
    application = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-only-secret",
                              "SCRIPT_TIME_LIMIT": 1.0, "AUDIT_KEY": AUDIT_KEY,
                              "AUDIT_ANCHOR": str(tmp_path_factory.mktemp("anchor") / "audit-anchor.jsonl")})
    database: Database = application.extensions["kesu.db"]
    Base.metadata.drop_all(database.engine)
    Base.metadata.create_all(database.engine)
    yield application
    database.dispose()


@pytest.fixture()
def database(app) -> Database:
    """The app's database, emptied after each test; the anchor of its histories and the failed sign-ins it
    counted are forgotten too."""
    db = app.extensions["kesu.db"]
    yield db
    Path(app.config["AUDIT_ANCHOR"]).unlink(missing_ok=True)
    with app.app_context():
        throttle.reset()
    empty(db)


def empty(db: Database) -> None:
    """Delete every row of every table."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # past the append-only trigger on events (superuser only)
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture()
def engine(app):
    return app.extensions["kesu.engine"]


def tamper(database: Database, *statements: str | sa.Executable, **params) -> None:
    """Change the database behind the app's back, as someone with write access might: on PostgreSQL past its
    triggers (the test user is superuser)."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            connection.execute(sa.text(statement) if isinstance(statement, str) else statement, params)


@dataclass
class Company:
    id: int
    name: str
    timezone: str
    users: dict[str, User] = field(default_factory=dict)
    version: ProcessVersion | None = None

    def actor(self, key: str) -> Actor:
        return actor_for(self.users[key])

    def email(self, key: str) -> str:
        return self.users[key].email


def make_company(database: Database, name: str, domain: str) -> Company:
    with database.session() as s:
        company = create_company(s, name)
        result = Company(company.id, company.name, company.timezone)
        for key, (role, groups) in PEOPLE.items():
            result.users[key] = create_user(s, company, f"{key}@{domain}", role, PASSWORD, groups, key.title())
        publish_decision(s, company.id, GRADING_TABLE.read_bytes(), result.users["owner"].id, "first")
        result.version = publish(s, company.id, STANDARD.read_bytes(), result.users["owner"].id, "first", GROUPS)
        for user in result.users.values():
            _ = user.group_names, user.company  # load before the session closes
    return result


@pytest.fixture()
def acme(database) -> Company:
    """The company under test, with every role and group and the standard procedure published."""
    return make_company(database, "Acme 化工", "acme.test")


@pytest.fixture()
def rival(database) -> Company:
    """A second company, to prove that nothing crosses between companies."""
    return make_company(database, "Rival 电气", "rival.test")


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that signs in and posts forms with their CSRF token, like a browser."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        match = CSRF.search(self.client.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.csrf()})

    def post(self, path: str, data: dict | None = None, token_from: str = "/login", **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf(token_from)}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)


@pytest.fixture()
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture()
def login(app):
    """login('service@acme.test') -> a Browser signed in as that user."""
    def sign_in(email: str) -> Browser:
        b = Browser(app.test_client())
        response = b.login(email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return b
    return sign_in


class Api:
    """A JSON API client holding one user's bearer token."""

    def __init__(self, client, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str):
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kwargs)


@pytest.fixture()
def api(app):
    """api('service@acme.test') -> an Api client with that user's token."""
    def for_user(email: str) -> Api:
        client = app.test_client()
        response = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        return Api(client, response.get_json()["token"])
    return for_user


COMPLAINT = {
    "customer_name": "上海明达涂料有限公司", "contact_person": "周经理", "contact": "021-5555 0101",
    "channel": "phone", "category": "product_quality", "product": "环氧树脂 E-51", "specification": "25 kg",
    "contract_number": "HT-2026-0311", "work_number": "", "content": "树脂结块，无法使用。",
    "customer_request": "退换货",
}


@pytest.fixture()
def complaint_data() -> dict:
    return dict(COMPLAINT)


# What quality records on the standard procedure's grade_complaint for a routine case (the grading table: level 4).
GRADING = {"handling_cost": 20000, "affected_kw": 0, "defect_type": "none", "major_impact": False, "lawsuit": False,
           "repeated": False, "safety_hazard": False, "group_complaint": False, "media_exposure": False,
           "urgency": "urgent"}


def count(database: Database, model) -> int:
    with database.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture()
def server(app, monkeypatch) -> MailServer:
    """The app's mail server, a real SMTP server on a free port, not yet running."""
    mail_server = MailServer()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", mail_server.port)
    monkeypatch.setitem(app.config, "BASE_URL", "https://kesu.example.cn/app")
    yield mail_server
    mail_server.stop()


@pytest.fixture()
def mailbox(server) -> Mailbox:
    """The app's mail server, running: the messages it received."""
    return server.start()
