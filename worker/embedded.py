"""The worker loop: fire what is due, then sleep until the next due time, but never longer than `poll` seconds
so that timers created meanwhile (by other processes) are noticed. `make run` runs it in a daemon thread of the
web app, `flask --app app kesu worker` in the foreground."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from db import Database
from engine.runtime import Engine
from engine.worker import FiringReport, fire_due, next_due

log = logging.getLogger(__name__)
POLL = 1.0  # seconds: the longest a new timer waits to be noticed, well inside the 2 s promise
NAP = 0.01  # seconds: the shortest sleep, so a timer due at this very instant is not spun on


def pause(report: FiringReport, due: datetime | None, now: datetime, poll: float) -> float:
    """Seconds to sleep after a pass."""
    if report.full:
        return 0.0
    if report.failed or report.skipped or due is None:
        return poll  # what is left due is failing or in another worker's hands: look again later
    return min(poll, max(NAP, (due - now).total_seconds()))


def run(database: Database, engine: Engine, stop: threading.Event, poll: float = POLL) -> None:
    """Fire due timers until `stop` is set; a pass that fails (the database is down) is retried after `poll`."""
    while not stop.is_set():
        try:
            report = fire_due(database, engine)
            with database.sessionmaker() as session:
                due = next_due(session)
            delay = pause(report, due, engine.clock(), poll)
        except Exception:  # noqa: BLE001 - the worker outlives a database restart
            log.exception("timer worker pass failed")
            delay = poll
        stop.wait(delay)


class EmbeddedWorker:
    """The loop in a daemon thread of the web process."""

    def __init__(self, database: Database, engine: Engine, poll: float = POLL) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=run, args=(database, engine, self.stop_event, poll),
                                       name="kesu-timer-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()
