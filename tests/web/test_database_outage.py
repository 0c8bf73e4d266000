"""A database that is down, locked, or drops its connections: a dead pooled connection is replaced once at checkout
(pool pre-ping), and otherwise the app answers 503, JSON on the API and the error page on HTML, never a bare 500."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, g
from sqlalchemy.pool import NullPool

from app import create_app
from conftest import COMPLAINT, PASSWORD, Browser
from db import Database, unavailable
from web.auth import SESSION_SECRET

ON_POSTGRESQL = os.environ.get("KESU_TEST_DATABASE_URL", "").startswith("postgresql")
postgresql = pytest.mark.skipif(not ON_POSTGRESQL, reason="drops PostgreSQL connections (KESU_TEST_DATABASE_URL)")
CLOSED_PORT = "postgresql+psycopg://postgres@127.0.0.1:1/kesu"


def terminate(url: sa.URL, pid: int | None = None) -> int:
    """From a connection of its own, end one backend of the database, or all the others, as a failover would."""
    killer = sa.create_engine(url, poolclass=NullPool)
    which = "pid = :pid" if pid else "pid <> pg_backend_pid()"
    with killer.connect() as connection:
        ended = connection.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                           f"WHERE datname = current_database() AND {which}"), {"pid": pid}).scalar()
    killer.dispose()
    return ended


def signed_in_session(client, lang: str = "en") -> None:
    """A session cookie as signing in leaves it, made without the database."""
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = "1", True, lang
        session[SESSION_SECRET] = "a-session-secret"  # looked up in the database, which is down


@postgresql
def test_a_dropped_postgresql_connection_is_retried(database, acme, login, api):
    page, client = login(acme.email("service")), api(acme.email("service"))
    assert page.get("/complaints/").status_code == 200 and client.get("/tasks").status_code == 200
    assert terminate(database.engine.url) >= 1, "the app's pooled connections should have been ended"
    assert page.get("/complaints/").status_code == 200
    assert client.get("/tasks").status_code == 200
    assert client.post("/processes/complaint_standard/instances", {"data": COMPLAINT}).status_code == 201


@pytest.fixture()
def dropping_app(database, acme) -> Iterator[Flask]:
    """An app on the test database whose every request loses its connection after the answer is made."""
    dropping = create_app({"TESTING": True, "DATABASE_URL": database.url, "SECRET_KEY": "test-only-secret"})

    @dropping.after_request
    def drop_connection(response):
        if "db_session" in g:
            terminate(database.engine.url, g.db_session.execute(sa.text("SELECT pg_backend_pid()")).scalar())
        return response

    yield dropping
    dropping.extensions["kesu.db"].dispose()


@postgresql
def test_a_connection_dropped_after_the_answer_is_made_keeps_the_answer(dropping_app, acme, api):
    token = api(acme.email("service")).headers
    client = dropping_app.test_client()
    for _ in range(2):  # the second request is served on a new connection
        response = client.get("/api/v1/tasks", headers=token)
        assert response.status_code == 200, response.get_data(as_text=True)
    browser = Browser(dropping_app.test_client())
    assert browser.login(acme.email("service")).status_code == 302
    assert browser.get("/complaints/").status_code == 200


@pytest.fixture(params=["postgresql-closed-port", "sqlite-missing-directory"])
def down(request, tmp_path) -> Iterator[Flask]:
    """An app whose database cannot be reached: nothing listens on its port, or its file cannot be opened."""
    url = CLOSED_PORT if request.param.startswith("postgresql") else f"sqlite:///{tmp_path / 'missing' / 'kesu.db'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-only-secret"})
    yield app
    app.extensions["kesu.db"].dispose()


def test_a_database_that_is_down_answers_503_page_and_json(down):
    api = down.test_client()
    for response in (api.get("/api/v1/tasks", headers={"Authorization": "Bearer some-token"}),
                     api.post("/api/v1/auth/token", json={"email": "service@acme.test", "password": PASSWORD})):
        assert response.status_code == 503 and response.is_json
        assert "database cannot be reached" in response.get_json()["message"]

    visitor = Browser(down.test_client())
    signing_in = visitor.login("service@acme.test")  # the form needs no database; checking the password does
    assert signing_in.status_code == 503
    assert "稍后再试" in signing_in.get_data(as_text=True)

    signed_in = Browser(down.test_client())
    csrf = signed_in.csrf()
    signed_in_session(signed_in.client)  # loading the user is the first thing that needs the database
    page = signed_in.get("/complaints/")
    assert page.status_code == 503 and "Try again in a moment" in page.get_data(as_text=True)
    assert "Sign out" not in page.get_data(as_text=True), "the page is drawn without asking for the user"
    modeler = signed_in.client.post("/procedures/check.json", json={"xml": "<x/>"}, headers={"X-CSRFToken": csrf})
    assert modeler.status_code == 503 and modeler.is_json


def test_locked_or_unreachable_databases_are_unavailable_but_a_wrong_statement_is_a_bug(tmp_path):
    path = tmp_path / "kesu.db"
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sa.exc.OperationalError) as locked, impatient.connect() as connection:
        connection.execute(sa.text("SELECT * FROM sqlite_master"))
    holder.execute("ROLLBACK")
    with pytest.raises(sa.exc.OperationalError) as wrong, impatient.connect() as connection:
        connection.execute(sa.text("SELECT * FROM no_such_table"))
    with pytest.raises(sa.exc.OperationalError) as refused:
        Database(CLOSED_PORT).engine.connect()
    assert "locked" in str(locked.value) and unavailable(locked.value)
    assert unavailable(refused.value)
    assert not unavailable(wrong.value)
    assert unavailable(sa.exc.TimeoutError()) and not unavailable(ValueError())
    holder.close()
    impatient.dispose()
