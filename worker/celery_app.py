"""Scale-out background work (`make worker`): Celery beat sends a tick every second, any Celery worker takes it and
runs the same jobs as the embedded worker (due timers, SLA clocks, mail) until nothing more is due.

Configuration from the environment: KESU_REDIS_URL (the broker, default redis://127.0.0.1:6379/0) and
KESU_DATABASE_URL (read by the app's configuration). Run beat once; start workers on as many machines as needed.
"""
from __future__ import annotations

import os
from functools import cache

from celery import Celery
from flask import Flask

from app import create_app
from worker import jobs as worker_jobs
from worker.embedded import POLL

TICK = "kesu.run_jobs"

celery = Celery("kesu", broker=os.environ.get("KESU_REDIS_URL", "redis://127.0.0.1:6379/0"))
celery.conf.update(
    beat_schedule={"run-jobs": {"task": TICK, "schedule": 1.0,
                                       "options": {"expires": 5}}},  # ticks queued while no worker ran are dropped
    task_ignore_result=True,
    timezone="UTC",
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,  # a busy worker leaves the next tick to an idle one
)


@cache
def _app() -> Flask:
    """The app, built once per worker process (after the fork): its database and its configured engine."""
    return create_app({"EMBEDDED_WORKER": False})  # this process fires timers through Celery


@celery.task(name=TICK, ignore_result=True)
def run_jobs() -> None:
    """Run the worker's jobs (timers, SLA clocks, mail) until none has work left at once."""
    app = _app()
    jobs = worker_jobs.for_app(app)
    clock = app.extensions["kesu.engine"].clock
    while worker_jobs.run_pass(jobs, clock(), POLL) == 0.0:
        pass
