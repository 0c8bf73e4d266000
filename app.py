"""Kesu: the application factory."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from accounts import sessions
from accounts.models import User
from cli import register as register_cli
from config import INSTANCE_DIR, load, load_secret
from kesu_runtime import build_database, build_engine
from web import (
    account,
    admin,
    api,
    audit_cases,
    auth,
    calendars,
    complaints,
    corrections,
    decisions,
    errors,
    evidence as audit,
    inbox as tasks,
    inputs,
    instance_migration as migration,
    notifications as notification_pages,
    procedures,
    replay,
    security,
    sla as sla_pages,
    throttle,
    trial_runs as test_runs,
)
from web.auth import SESSION_SECRET
from web.context import can, close_session, db
from web.i18n import locale_code, localtime, select_locale, select_timezone, use_wtforms_catalog
from worker import jobs
from worker.embedded import EmbeddedWorker

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a live server-side session: a cookie replayed after signing out, a password change elsewhere or
    too long idle finds none."""
    secret = session.get(SESSION_SECRET)
    if not user_id.isdigit() or not isinstance(secret, str):
        return None
    return sessions.user_of(db(), secret, int(user_id), current_app.config["SESSION_IDLE_TIMEOUT"])


def _configure(app: Flask, config: dict[str, Any] | None) -> None:
    app.config.update(load(config))
    app.config["SECRET_KEY"] = load_secret(app.config)


def _extensions(app: Flask) -> None:
    database = build_database(app.config)
    app.extensions["kesu.db"] = database
    app.extensions["kesu.engine"] = build_engine(app.config)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    migrate.init_app(app, database, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    throttle.init_app(app)
    security.init_app(app)
    app.teardown_appcontext(close_session)
    app.before_request(use_wtforms_catalog)


def _blueprints(app: Flask) -> None:
    inputs.register(app)  # first: rules bind their converters when they are added
    for module in (auth, account, tasks, complaints, audit, replay, audit_cases, corrections, procedures, migration,
                   test_runs, decisions, admin, calendars, sla_pages, notification_pages):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens, no cookies: CSRF cannot apply
    inputs.takes_json(api.bp)  # it reads JSON bodies, and builds no form from the request by itself
    errors.register(app)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["locale_code"] = locale_code
    app.jinja_env.globals["can"] = can  # {% if can("publish") %}: the table is accounts/permissions.py
    app.jinja_env.globals["languages"] = app.config["LANGUAGES"]  # not `config`: pages pass their own script config


def _worker(app: Flask) -> None:
    """Fire timers in a thread of this process when KESU_EMBEDDED_WORKER is on (`make run` turns it on; every
    process may run one: they never fire a timer twice). Tests turn it on with EMBEDDED_WORKER."""
    enabled = app.config.get("EMBEDDED_WORKER", os.environ.get("KESU_EMBEDDED_WORKER", "") in ("1", "true", "on"))
    if enabled:
        worker = EmbeddedWorker(jobs.for_app(app), app.extensions["kesu.engine"].clock)
        app.extensions["kesu.worker"] = worker.start()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the environment's configuration (tests pass theirs)."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    _configure(app, config)
    _extensions(app)
    _blueprints(app)
    register_cli(app)
    _worker(app)
    return app
