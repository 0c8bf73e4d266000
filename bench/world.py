"""A database for the benchmark: the app on a fresh schema, one company with a user per lane, the grading table and
the standard procedure published."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

import models  # noqa: F401 - registers every table
from accounts.directory import actor_for
from accounts.provisioning import create_company, create_user
from app import create_app
from bench.procedure import COMPLAINT, GRADING_TABLE, GROUPS, STANDARD, USER_OF_LANE
from complaints.registration import register
from db import Base, Database
from engine.dto import Actor
from engine.records import InboxTask, Instance, ProcessVersion
from engine.repository.decisions import publish_decision
from engine.repository.publishing import publish
from engine.runtime.steps import Engine

PASSWORD = "bench-password-1"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_DATABASE = "kesu_bench"  # its own database: the test suite uses `test`
AUDIT = {"AUDIT_KEY": "62656e63682d6f6e6c792d61756469742d6b65792d30303030303030303030303031",
         "AUDIT_ANCHOR": str(Path(tempfile.gettempdir()) / "kesu-bench-anchor.jsonl")}  # never checkpointed


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    user: str  # key into World.actors


@dataclass
class World:
    """The app and what the benchmark needs from its database, all ids and actors loaded up front."""

    app: Flask
    version_id: int
    actors: dict[str, Actor]
    emails: dict[str, str]

    @property
    def database(self) -> Database:
        return self.app.extensions["kesu.db"]

    @property
    def engine(self) -> Engine:
        return self.app.extensions["kesu.engine"]

    def register(self) -> int:
        """Register a complaint (not timed); returns its instance id, waiting at check_validity.

        Engine calls run inside a request context: completing the callback task resolves the built-in
        form's lazily translated labels, and Kesu's locale selector reads the Flask session."""
        with self.app.test_request_context(), self.database.session() as s:
            version = s.get(ProcessVersion, self.version_id)
            complaint = register(s, self.engine, version, self.actors["service"], COMPLAINT, "Asia/Shanghai")
            return complaint.instance_id

    def ready(self, instance_id: int) -> ReadyTask | None:
        """The case's one open task, or None when it has ended."""
        with self.database.session() as s:
            row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
            return ReadyTask(row.id, row.element_id, USER_OF_LANE[row.lane]) if row else None

    def state_size(self, instance_id: int) -> int:
        """Bytes of the instance's stored workflow state."""
        with self.database.session() as s:
            return len(s.scalar(sa.select(Instance.state).where(Instance.id == instance_id)).encode("utf-8"))


def postgres_url() -> str:
    """The benchmark's PostgreSQL database, created on first use (raises if the server is down)."""
    server = sa.create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": POSTGRES_DATABASE})
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
    finally:
        server.dispose()
    return f"{POSTGRES_SERVER}/{POSTGRES_DATABASE}"


def server_version(url: str) -> str:
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return connection.scalar(sa.text("SHOW server_version")).split()[0]
    finally:
        database.dispose()


def build(url: str) -> World:
    """Create the app on `url`, drop and create every table, seed one company."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-only-secret", "TESTING": True, **AUDIT})
    database: Database = app.extensions["kesu.db"]
    Base.metadata.drop_all(database.engine)
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        company = create_company(s, "Bench 化工")
        users = {key: create_user(s, company, f"{key}@bench.test", "employee", PASSWORD, (lane,), key.title())
                 for lane, key in USER_OF_LANE.items()}
        users["auditor"] = create_user(s, company, "auditor@bench.test", "auditor", PASSWORD, (), "Auditor")
        publish_decision(s, company.id, GRADING_TABLE.read_bytes(), None, "bench")
        version = publish(s, company.id, STANDARD.read_bytes(), None, "bench", GROUPS)
        actors = {key: actor_for(user) for key, user in users.items()}
        return World(app, version.id, actors, {key: user.email for key, user in users.items()})


def dispose(world: World) -> None:
    world.database.dispose()
