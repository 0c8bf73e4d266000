"""Sign-in guessing is limited: failed sign-ins are counted per account and per address (Flask-Limiter's storage:
Redis when KESU_REDIS_URL is set, so every process and machine counts together; memory otherwise), and past the
limit the page and the API answer 429 saying when to try again. A success clears its account's count."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.strategies import RateLimiter


def init_app(app: Flask) -> None:
    """Each app counts in its own storage (a test app may count in Redis while another counts in memory)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.extensions["kesu.limiter"] = Limiter(get_remote_address, app=app, strategy="moving-window")
    app.extensions["kesu.login_limit"] = parse(app.config["LOGIN_FAILURE_LIMIT"])


def _counting() -> tuple[RateLimiter, RateLimitItem]:
    return current_app.extensions["kesu.limiter"].limiter, current_app.extensions["kesu.login_limit"]


def _keys(email: str) -> tuple[tuple[str, str], ...]:
    return ("login-account", email.strip().lower()), ("login-address", request.remote_addr or "?")


def blocked_until(email: str) -> datetime | None:
    """When sign-ins for this e-mail from this address are accepted again, if too many have failed."""
    strategy, item = _counting()
    resets = [strategy.get_window_stats(item, *key).reset_time for key in _keys(email)
              if not strategy.test(item, *key)]
    return datetime.fromtimestamp(max(resets), UTC) if resets else None


def failed(email: str) -> None:
    strategy, item = _counting()
    for key in _keys(email):
        strategy.hit(item, *key)


def succeeded(email: str) -> None:
    strategy, item = _counting()
    strategy.clear(item, *_keys(email)[0])


def reset() -> None:
    """Forget every count (tests start each from nothing)."""
    current_app.extensions["kesu.limiter"].reset()
