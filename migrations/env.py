"""Alembic environment: Kesu's database handle and metadata, from the Flask app (Flask-Migrate)."""
from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")

from complaints.models import modelled  # noqa: E402 - the search the database keeps is not in the models

database = current_app.extensions["migrate"].db
OPTIONS = {"target_metadata": database.metadata, "compare_type": True, "render_as_batch": True,
           "include_name": modelled}


def run_migrations_offline() -> None:
    context.configure(url=database.url, literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        context.configure(connection=connection, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
