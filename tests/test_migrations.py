"""The Alembic migrations build the schema the models describe, on an empty database."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from complaints.models import modelled
from conftest import AUDIT_KEY
from db import Base


@pytest.fixture()
def empty_database_url(tmp_path):
    """A brand-new empty database: a SQLite file, or a fresh PostgreSQL schema on the test server."""
    url = os.environ.get("KESU_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_migrations_create_the_schema_the_models_describe(empty_database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database_url, "SECRET_KEY": "x", "AUDIT_KEY": AUDIT_KEY})
    with app.app_context():
        upgrade()
    engine = app.extensions["kesu.db"].engine
    with engine.connect() as connection:
        # the search's FTS5 table and trigram index are the database's own, outside the models
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": modelled})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models drifted from migrations/: {differences}"
