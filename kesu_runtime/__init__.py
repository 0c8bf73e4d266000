"""Kesu's composition root without Flask: the database and the engine built from a configuration mapping.

The app (app.py, and through it the CLI and the bench), the embedded worker and the Celery worker all build them
here, so every process runs the same engine: the same audit keys, script limits, user directory, calendars, task
forms and observers. It is a package, not a module beside app.py, because import-linter follows imports only
through packages: `.importlinter` can then prove the Celery worker never reaches the web app through it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import models  # noqa: F401 - registers every table on the metadata, so every mapper configures
from accounts.directory import UserDirectory, company_calendar
from complaints import closures, reopen, sla
from config import load_audit_keys
from db import Database
from engine import Engine
from engine.history.audit import Auditor
from forms.builtin_fields import builtin_fields
from notifications import on_step as tell_of_new_tasks


def build_database(config: Mapping[str, Any]) -> Database:
    return Database(config["DATABASE_URL"])


def build_engine(config: Mapping[str, Any]) -> Engine:
    """The engine with its observers in the order a step tells them: reopen notices, closures (and the first
    receiver's notices), SLA clocks, new tasks."""
    return Engine(Auditor(load_audit_keys(config), config["AUDIT_ANCHOR"]),
                  script_time_limit=config["SCRIPT_TIME_LIMIT"], script_memory_limit=config["SCRIPT_MEMORY_LIMIT"],
                  script_processes=config["SCRIPT_PROCESSES"], form_resolver=builtin_fields, directory=UserDirectory(),
                  calendars=company_calendar, observers=(reopen.on_step, closures.on_step, sla.on_step,
                                                        tell_of_new_tasks))
