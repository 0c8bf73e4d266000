"""Configuration classes; secrets and URLs come from the environment, never from the code."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from engine.history.sealing import parse_keys

INSTANCE_DIR = Path(__file__).resolve().parent / "instance"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "on", "yes")


class Config:
    SECRET_KEY = os.environ.get("KESU_SECRET_KEY")
    DATABASE_URL = os.environ.get("KESU_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'kesu.db'}")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A signed-in session ends after this long without a request (the server's record of it, whatever the cookie).
    SESSION_IDLE_TIMEOUT = timedelta(hours=float(os.environ.get("KESU_SESSION_IDLE_HOURS", "8")))
    PERMANENT_SESSION_LIFETIME = SESSION_IDLE_TIMEOUT  # the browser forgets the cookie as well
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    EXPORT_MAX_ROWS = int(os.environ.get("KESU_EXPORT_MAX_ROWS", "200000"))  # the register's exports; more: narrow
    JSON_MAX_DEPTH = int(os.environ.get("KESU_JSON_MAX_DEPTH", "64"))  # deeper request bodies are refused (400)
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES: ClassVar[dict[str, str]] = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
    SCRIPT_TIME_LIMIT = float(os.environ.get("KESU_SCRIPT_TIME_LIMIT", "2"))
    SCRIPT_MEMORY_LIMIT = int(os.environ.get("KESU_SCRIPT_MEMORY_LIMIT", "256"))  # MB per script evaluator process
    SCRIPT_PROCESSES = int(os.environ.get("KESU_SCRIPT_PROCESSES", "2"))  # script evaluators per server process
    API_TOKEN_LIFETIME = timedelta(days=float(os.environ.get("KESU_API_TOKEN_DAYS", "30")))
    # Failed sign-ins allowed per account and per address before 429 (the `limits` notation), counted in Redis
    # when KESU_REDIS_URL is set (every process and machine together), else in each process's memory.
    LOGIN_FAILURE_LIMIT = os.environ.get("KESU_LOGIN_FAILURE_LIMIT", "10 per 15 minutes")
    REDIS_URL = os.environ.get("KESU_REDIS_URL")
    CHROMIUM = os.environ.get("KESU_CHROMIUM", "/usr/bin/chromium")  # prints evidence packs to PDF
    # Outgoing mail for notifications; without KESU_SMTP_HOST they are shown in the app only.
    MAIL_SERVER = os.environ.get("KESU_SMTP_HOST")
    MAIL_PORT = int(os.environ.get("KESU_SMTP_PORT", "25"))
    MAIL_USE_TLS = _flag("KESU_SMTP_STARTTLS")
    MAIL_USE_SSL = _flag("KESU_SMTP_SSL")
    MAIL_USERNAME = os.environ.get("KESU_SMTP_USER")
    MAIL_PASSWORD = os.environ.get("KESU_SMTP_PASSWORD")
    MAIL_FROM = os.environ.get("KESU_MAIL_FROM", "Kesu <kesu@localhost>")
    BASE_URL = os.environ.get("KESU_BASE_URL", "http://127.0.0.1:5000")  # links in mails point here
    # The history's seals and anchor (README: Auditing a complaint): keys in hex, newest first, comma-separated.
    AUDIT_KEY = os.environ.get("KESU_AUDIT_KEY")
    AUDIT_ANCHOR = os.environ.get("KESU_AUDIT_ANCHOR", str(INSTANCE_DIR / "audit-anchor.jsonl"))
    AUDIT_CHECKPOINT_SECONDS = float(os.environ.get("KESU_AUDIT_CHECKPOINT", "60"))  # 0: this process never does


class DevelopmentConfig(Config):
    """`make run`: a per-checkout random secret is written to instance/ on first start."""


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-only-secret"
    DATABASE_URL = os.environ.get("KESU_TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


def load(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """This environment's configuration (KESU_ENV=production or not), with `overrides` on top (tests pass theirs):
    what the app, the CLI and the Celery worker run with."""
    production = os.environ.get("KESU_ENV") == "production"
    chosen = ProductionConfig if production else DevelopmentConfig
    values = {name: getattr(chosen, name) for name in dir(chosen) if name.isupper()}
    values["ENV_NAME"] = "production" if production else "development"
    return {**values, **(overrides or {})}


def load_secret(config: Mapping[str, Any]) -> str:
    """The secret key: from the environment, or (development only) a random one kept in instance/."""
    if config.get("SECRET_KEY"):
        return config["SECRET_KEY"]
    if config.get("ENV_NAME") == "production":
        raise RuntimeError("KESU_SECRET_KEY must be set in production")
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()


def load_audit_keys(config: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The audit keys, newest first: from KESU_AUDIT_KEY, else from instance/audit_key (one per line), which
    development creates on first start. Production refuses to start without either: a key made up there would
    seal histories nobody can verify once the machine is gone."""
    if config.get("AUDIT_KEY"):
        return parse_keys(config["AUDIT_KEY"])
    path = INSTANCE_DIR / "audit_key"
    if not path.exists():
        if config.get("ENV_NAME") == "production":
            raise RuntimeError("KESU_AUDIT_KEY must be set in production, or instance/audit_key exist "
                               "(README: Auditing a complaint)")
        INSTANCE_DIR.mkdir(exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(os.urandom(32).hex() + "\n")
    return parse_keys(path.read_text())
