"""The timer worker: engine.jobs.timers.fire_due (one transaction per instance, exactly once, with several workers
and across a crash), the embedded thread firing within 2 s of the due time, and real Celery worker + beat on Redis.

The cases run tests/engine/diagrams/timers.bpmn: handle (a user task) with the interrupting boundary timer
handle_overdue → escalate; handle → pause (intermediate timer) → follow_up.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app import create_app
from conftest import AUDIT_KEY, DIAGRAMS, GROUPS, ROOT
from engine.jobs.timers import fire_due, next_due
from engine.records import Event, InboxTask, Instance
from engine.repository.publishing import publish
from worker import jobs
from worker.embedded import EmbeddedWorker

TIMERS = (DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8")
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own: stale ticks never reach `make worker`


def diagram(handle_timer: str, escalate_due: str | None = None) -> bytes:
    """The timers diagram; `escalate_due` gives the escalation task a due date (a broken one fails the firing)."""
    text = TIMERS.replace("HANDLE_TIMER", handle_timer).replace("PAUSE_TIMER", "PT1H")
    if escalate_due:
        text = text.replace('id="escalate" name="Escalate"', f'id="escalate" name="Escalate" '
                                                             f'camunda:dueDate="{escalate_due}"')
    return text.encode("utf-8")


def start_cases(database, engine, acme, handle_timer: str, count: int = 1, escalate_due: str | None = None,
                prefix: str = "T") -> list[int]:
    with database.session() as s:
        version = publish(s, acme.id, diagram(handle_timer, escalate_due), None, groups=GROUPS)
        return [engine.start(s, version, acme.actor("service"), {}, business_key=f"{prefix}-{n}").id
                for n in range(count)]


def wait_until_due(database, cases: list[int]) -> datetime:
    """Sleep until the cases' timers are due (the tests use one-second timers); returns the latest due time."""
    with database.session() as s:
        due = s.scalar(sa.select(sa.func.max(Instance.next_timer_at)).where(Instance.id.in_(cases)))
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)
    return due


def fired(database, instance_id: int) -> int:
    """How many timer_fired events the case has."""
    with database.session() as s:
        return s.scalar(sa.select(sa.func.count()).where(Event.instance_id == instance_id,
                                                         Event.type == "timer_fired"))


def inbox(database, instance_id: int) -> list[str]:
    with database.session() as s:
        return sorted(s.scalars(sa.select(InboxTask.element_id).where(InboxTask.instance_id == instance_id)))


def instance(database, instance_id: int) -> Instance:
    with database.session() as s:
        return s.get(Instance, instance_id)


def eventually(condition, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# -- fire_due ------------------------------------------------------------------------------------------

def test_fire_due_fires_a_due_boundary_timer_and_leaves_one_not_yet_due(database, engine, acme):
    [due] = start_cases(database, engine, acme, "PT1S", prefix="due")
    [later] = start_cases(database, engine, acme, "PT1H", prefix="later")
    with database.session() as s:
        assert next_due(s) == instance(database, due).next_timer_at
    assert fire_due(database, engine).due == 0  # nothing is due yet
    wait_until_due(database, [due])

    report = fire_due(database, engine)
    assert (report.fired, report.skipped, report.stopped, report.failed) == ((due,), (), (), ())
    assert (fired(database, due), inbox(database, due)) == (1, ["escalate"])
    assert (fired(database, later), inbox(database, later)) == (0, ["handle"])
    assert fire_due(database, engine).due == 0  # fired and committed: not fired again
    with database.session() as s:
        assert next_due(s) == instance(database, later).next_timer_at


def test_workers_running_at_once_fire_each_timer_exactly_once(database, engine, acme):
    cases = start_cases(database, engine, acme, "PT1S", count=12)
    wait_until_due(database, cases)
    barrier, reports = threading.Barrier(4), []

    def work() -> None:
        barrier.wait()
        reports.append(fire_due(database, engine))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sorted(i for r in reports for i in r.fired) == sorted(cases)  # each fired by exactly one worker
    assert [fired(database, case) for case in cases] == [1] * len(cases)
    assert not any(r.failed or r.stopped for r in reports)


def test_a_timer_that_fails_stops_its_case_and_the_others_still_fire(database, engine, acme):
    [broken] = start_cases(database, engine, acme, "PT1S", escalate_due="no_such_value", prefix="broken")
    good = start_cases(database, engine, acme, "PT1S", count=2, prefix="good")
    wait_until_due(database, [broken, *good])

    report = fire_due(database, engine)
    assert (report.stopped, sorted(report.fired)) == ((broken,), sorted(good))
    stopped = instance(database, broken)
    assert (stopped.status, stopped.error_element) == ("error", "escalate")
    assert fired(database, broken) == 0  # the failed step was rolled back; only its error was recorded
    assert [inbox(database, case) for case in good] == [["escalate"], ["escalate"]]
    assert fire_due(database, engine).due == 0  # a stopped case waits for an admin, not for the next pass


KILLED_WORKER = """
import os, signal, sys
from app import create_app
from engine.jobs.timers import fire_due

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "test-only-secret", "TESTING": True})
engine = app.extensions["kesu.engine"]
fire_timers = engine.fire_timers

def fire_then_die(session, instance, actor):
    fire_timers(session, instance, actor)  # the step is written (flushed), not committed
    os.kill(os.getpid(), signal.SIGKILL)

engine.fire_timers = fire_then_die
fire_due(app.extensions["kesu.db"], engine)
"""


def audited(tmp_path: Path) -> dict[str, str]:
    """The environment with which a worker process seals with the tests' key and anchors into `tmp_path`."""
    return {**os.environ, "KESU_AUDIT_KEY": AUDIT_KEY, "KESU_AUDIT_ANCHOR": str(tmp_path / "audit-anchor.jsonl")}


def test_a_worker_killed_before_its_commit_loses_nothing(database, engine, acme, tmp_path):
    [case] = start_cases(database, engine, acme, "PT1S")
    due = wait_until_due(database, [case])

    killed = subprocess.run([sys.executable, "-c", KILLED_WORKER, database.url], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=audited(tmp_path))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (fired(database, case), inbox(database, case), instance(database, case).next_timer_at) == (0, ["handle"],
                                                                                                      due)
    assert fire_due(database, engine).fired == (case,)  # the restarted worker fires it, once
    assert (fired(database, case), inbox(database, case)) == (1, ["escalate"])


# -- the embedded worker ---------------------------------------------------------------------------------

def test_embedded_worker_fires_a_timer_within_two_seconds_of_its_due_time(database, engine, acme):
    worker = EmbeddedWorker([jobs.timers(database, engine)], engine.clock).start()
    try:
        time.sleep(0.2)  # the worker is asleep, with nothing due, when the case starts
        [case] = start_cases(database, engine, acme, "PT2S")
        due = instance(database, case).next_timer_at
        assert eventually(lambda: fired(database, case) == 1, timeout=6)
        seen = datetime.now(UTC)
    finally:
        worker.stop()
    assert (seen - due).total_seconds() < 2.0
    assert not worker.is_alive()
    assert (fired(database, case), inbox(database, case)) == (1, ["escalate"])


def test_app_runs_the_embedded_worker_only_when_asked(app, database, tmp_path):
    assert "kesu.worker" not in app.extensions  # tests (and `flask kesu ...` commands) run without it
    with_worker = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "test-only-secret", "TESTING": True,
                              "EMBEDDED_WORKER": True, "AUDIT_KEY": AUDIT_KEY,
                              "AUDIT_ANCHOR": str(tmp_path / "audit-anchor.jsonl")})
    worker = with_worker.extensions["kesu.worker"]
    try:
        assert worker.is_alive()
    finally:
        worker.stop()
        with_worker.extensions["kesu.db"].dispose()
    assert not worker.is_alive()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "started-in-the-background"])
def test_flask_kesu_worker_fires_timers_in_the_foreground_until_interrupted(database, engine, acme, tmp_path,
                                                                          stop_signal, sigint_ignored):
    """Ctrl-C and a service manager's SIGTERM stop it cleanly, even when it was started from a shell's background
    job, which hands its children SIGINT ignored."""
    [case] = start_cases(database, engine, acme, "PT1S")
    env = {**audited(tmp_path), "KESU_DATABASE_URL": database.url, "KESU_SECRET_KEY": "test-only-secret"}
    env.pop("KESU_EMBEDDED_WORKER", None)
    command = [str(Path(sys.executable).with_name("flask")), "--app", "app", "kesu", "worker"]
    inherited = signal.SIG_IGN if sigint_ignored else signal.SIG_DFL
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, inherited))
    try:
        fired_once = eventually(lambda: fired(database, case) == 1, timeout=15, step=0.1)
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:  # it did not stop: never leave it (or this test) hanging
            process.kill()
            process.communicate()
    assert fired_once, output
    assert (process.returncode, output.split()[-1]) == (0, "stopped")


# -- Celery on Redis -------------------------------------------------------------------------------------

@pytest.fixture()
def celery_workers(database, tmp_path):
    """start(n): n real Celery worker processes on Redis against the test database, the first with beat."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    env = {**audited(tmp_path), "KESU_DATABASE_URL": database.url, "KESU_REDIS_URL": REDIS_URL,
           "KESU_SECRET_KEY": "test-only-secret"}
    env.pop("KESU_EMBEDDED_WORKER", None)
    celery = str(Path(sys.executable).with_name("celery"))
    processes: list[subprocess.Popen] = []

    def start(count: int) -> None:
        for n in range(count):
            beat = ["--beat", "--schedule", str(tmp_path / "beat-schedule")] if n == 0 else []
            with open(tmp_path / f"celery-{n}.log", "w") as log:
                processes.append(subprocess.Popen(
                    [celery, "--app", "worker.celery_app", "worker", *beat, "--pool", "solo", "--hostname",
                     f"kesu-test-{n}@%h", "--loglevel", "WARNING"], cwd=ROOT, env=env, stdout=log, stderr=log))
    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_celery_workers_and_beat_on_redis_fire_each_timer_once(database, engine, acme, celery_workers, tmp_path):
    cases = start_cases(database, engine, acme, "PT1S", count=6)
    celery_workers(2)
    fired_all = eventually(lambda: all(fired(database, case) for case in cases), timeout=30, step=0.2)
    assert fired_all, (tmp_path / "celery-0.log").read_text()
    time.sleep(2)  # two more ticks: nothing fires twice
    assert [fired(database, case) for case in cases] == [1] * len(cases)
    assert [inbox(database, case) for case in cases] == [["escalate"]] * len(cases)


def test_the_celery_worker_module_loads_without_the_web_app_flask_or_wtforms():
    """The Celery worker builds its database, engine and jobs from the configuration (kesu_runtime), never the app:
    neither app.py nor a page module is imported, nor Flask or WTForms (the built-in task forms reach the engine as
    plain field declarations, forms/builtin_fields.py)."""
    check = ("import sys, worker.celery_app; "
             "loaded = {name.partition('.')[0] for name in sys.modules}; "
             "banned = {'app', 'cli', 'web', 'flask', 'flask_babel', 'flask_wtf', 'wtforms'}; "
             "assert not banned & loaded, sorted(banned & loaded)")
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, timeout=60)
