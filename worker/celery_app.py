"""Scale-out background work (`make worker`): Celery beat sends a tick every second, any Celery worker takes it and
runs the same jobs as the embedded worker (due timers, SLA clocks, mail) until nothing more is due.

Configuration from the environment: KESU_REDIS_URL (the broker, default redis://127.0.0.1:6379/0) and the rest of
the app's configuration (config.py: KESU_DATABASE_URL, the audit key, mail). Run beat once; start workers on as
many machines as needed. A worker builds the database and the engine as the app does (kesu_runtime), never the web
app itself.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache

from celery import Celery

from config import load
from kesu_runtime import build_database, build_engine
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
def _jobs() -> tuple[list[worker_jobs.Job], Callable[[], datetime]]:
    """The jobs and the engine's clock, built once per worker process (after the fork)."""
    config = load()
    engine = build_engine(config)
    return worker_jobs.build(config, build_database(config), engine), engine.clock


@celery.task(name=TICK, ignore_result=True)
def run_jobs() -> None:
    """Run the worker's jobs (timers, SLA clocks, mail) until none has work left at once."""
    jobs, clock = _jobs()
    while worker_jobs.run_pass(jobs, clock(), POLL) == 0.0:
        pass
