"""Helpers for the tests of diagram code: the scripted test diagram, storing a version past the publish checks,
a liveness guard, and a way to kill the evaluator process that is running a script."""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa

from conftest import DIAGRAMS, GROUPS
from engine.records import InboxTask, ProcessVersion
from engine.repository.publishing import publish
from engine.repository.specs import content_hash
from engine.runtime import evaluator


def scripted(script: str = "total = amount * 2", condition: str = "total > 100") -> bytes:
    """diagrams/script_and_gateway.bpmn with this script and this condition on flow_big: prepare (Quality, field
    `amount`) → compute (the script) → gw_big (flow_big has the condition) → review_big / review_small."""
    text = (DIAGRAMS / "script_and_gateway.bpmn").read_text(encoding="utf-8")
    return text.replace("SCRIPT", escape(script)).replace("CONDITION", escape(condition)).encode("utf-8")


# Whatever a script raises is the case's error, named with its element (and line), never a crash of the step: what
# it raises (unchecked: some are refused when publishing) and what the error must say; `amount` is 10.
RAISED = {
    "key-error-of-a-number": ("raise KeyError(1)", "KeyError: 1"),
    "key-error-in-the-server": ("x = {}[amount]", "KeyError: 10"),
    "error-without-arguments": ("raise ValueError()", "ValueError"),
    "memory-error": ("raise MemoryError", "MemoryError"),
    "recursion-error": ("def down(n):\n    return down(n + 1)\nx = down(0)",
                        "RecursionError: maximum recursion depth exceeded. line 2: return down(n + 1)"),
    "system-exit": ("raise SystemExit(3)", "SystemExit: 3"),
    "keyboard-interrupt": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    "error-holding-an-object": ("raise ValueError(math)", "ValueError"),
    "error-holding-a-method-in-the-server": ("x = {}[''.join]", "KeyError"),
    "class-statement": ("class Record:\n    pass", "class statements are not allowed"),
    "timeout": ("while True:\n    pass", "time limit"),
    "line-in-the-server": ("x = 1\ny = undefined_name", "line 2: y = undefined_name"),
    "line-in-an-evaluator": ("x = [n for n in range(3)]\nraise KeyError(x)", "line 2: raise KeyError(x)"),
}


def publish_unchecked(session, company_id: int, xml: bytes) -> ProcessVersion:
    """Store a version without check_diagram, like one published before a sandbox rule existed."""
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == "scripted")) or 0
    version = ProcessVersion(company_id=company_id, process_key="scripted", version=latest + 1, name="Scripted",
                             content_hash=content_hash(xml), bpmn_xml=xml.decode("utf-8"))
    session.add(version)
    session.flush()
    return version


def start_scripted(database, engine, company, xml: bytes, checked: bool, business_key: str = "SANDBOX-1"
                   ) -> tuple[int, str]:
    """Publish (or store unchecked) and start the diagram; returns the instance id and its `prepare` task id."""
    with database.session() as s:
        version = publish(s, company.id, xml, None, groups=GROUPS) if checked else publish_unchecked(s, company.id, xml)
        instance = engine.start(s, version, company.actor("quality"), {}, business_key=business_key)
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance.id))
        assert row.element_id == "prepare"
        return instance.id, row.id


class Hung(BaseException):
    """Raised by the guard below; a BaseException so no `except Exception` in the engine can swallow it."""


@contextlib.contextmanager
def must_return_within(seconds: float) -> Iterator[None]:
    """Turn a hang into a test failure instead of a stuck test run (a liveness guard, not a timing check).
    Works in the main thread, which is where the tests run."""
    interrupted = []

    def interrupt(signum, frame):
        interrupted.append(True)
        raise Hung()
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if interrupted:
            pytest.fail(f"still running after {seconds:g} s: the script time limit did not stop it")


def pool_of(engine) -> evaluator.EvaluatorPool:
    """The evaluators this test process runs the engine's scripts in."""
    return evaluator.pool(engine.script_engine.environment.limits.processes)


def evaluator_pids(engine) -> list[int]:
    return [e.process.pid for e in pool_of(engine).evaluators]


def running(pid: int) -> bool:
    """Whether the process is on a CPU now (an idle evaluator sleeps on its pipe)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "R"
    except FileNotFoundError:
        return False


def busy_evaluator(engine, within: float = 20.0) -> int:
    """The pid of an evaluator running a script, once one is (a script that loops keeps it on a CPU)."""
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        busy = [pid for pid in evaluator_pids(engine) if running(pid)]
        if busy:
            return busy[0]
        time.sleep(0.01)
    raise AssertionError(f"no evaluator started running within {within:g} s")


@contextlib.contextmanager
def killing_the_busy_evaluator(engine) -> Iterator[list[int]]:
    """Kill (SIGKILL) the evaluator that starts running a script inside the block, as the OOM killer would;
    yields the list its pid is added to."""
    killed: list[int] = []
    give_up = time.monotonic() + 20
    while any(map(running, evaluator_pids(engine))) and time.monotonic() < give_up:
        time.sleep(0.01)  # evaluators still starting up are not the one to kill

    def kill() -> None:
        pid = busy_evaluator(engine)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    thread = threading.Thread(target=kill, name="evaluator-killer", daemon=True)
    thread.start()
    yield killed
    thread.join(timeout=30)
