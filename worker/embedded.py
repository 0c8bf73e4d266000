"""The worker loop: run the jobs (worker/jobs.py), then sleep until the earliest of them has work, but never
longer than `poll` seconds so that work created meanwhile (by other processes) is noticed. `make run` runs it in
a daemon thread of the web app, `flask --app app kesu worker` in the foreground."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from worker.jobs import Job, run_pass

POLL = 1.0  # seconds: the longest new work waits to be noticed, well inside the 2 s promise for timers


def run(jobs: Sequence[Job], clock: Callable[[], datetime], stop: threading.Event, poll: float = POLL) -> None:
    """Run the jobs until `stop` is set."""
    while not stop.is_set():
        stop.wait(run_pass(jobs, clock(), poll))


class EmbeddedWorker:
    """The loop in a daemon thread of the web process."""

    def __init__(self, jobs: Sequence[Job], clock: Callable[[], datetime], poll: float = POLL) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=run, args=(jobs, clock, self.stop_event, poll),
                                       name="kesu-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()
