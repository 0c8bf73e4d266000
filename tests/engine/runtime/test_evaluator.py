"""The evaluator processes diagram code runs in when it is not provably bounded: killed and replaced when they
overrun or die, shared safely by threads, one pool per OS process, gone when their server goes, and given the
case's clock and calendar so that today(), now() and deadline() mean what they mean in the server."""
from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, date, datetime, timezone

import pytest

from conftest import ROOT
from engine.calendars.working_time import BusinessCalendar, calendar_of
from engine.errors import ProcessError
from engine.runtime import evaluator
from engine.runtime.evaluator import Limits
from engine.runtime.restricted import SandboxError, ScriptTimeout
from engine.runtime.sandbox import SandboxEnvironment
from engine.runtime.steps import Engine
from sandboxing import evaluator_pids, must_return_within, scripted
from test_cost import shipped_expressions
from test_sandbox import start_scripted

IN_AN_EVALUATOR = "squares = [n * n for n in range(amount)]"  # a comprehension: never run in the server


def run_in_an_evaluator(engine) -> dict:
    context = {"amount": 3}
    with must_return_within(30):
        engine.script_engine.environment.execute(IN_AN_EVALUATOR, context)
    return context


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie waiting for its parent to reap it has)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_until(condition, seconds: float = 30) -> bool:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


def test_an_idle_evaluator_that_was_killed_is_replaced_and_scripts_still_run(engine):
    before = evaluator_pids(engine)
    os.kill(before[0], signal.SIGKILL)
    assert wait_until(lambda: gone(before[0])), f"evaluator {before[0]} still there after SIGKILL"
    for _ in before:  # every evaluator is taken once, the killed one too
        assert run_in_an_evaluator(engine)["squares"] == [0, 1, 4]
    after = evaluator_pids(engine)
    assert len(after) == len(before) and before[0] not in after, (before, after)


def test_an_evaluator_that_overruns_the_time_limit_is_killed_and_replaced(engine):
    before = evaluator_pids(engine)
    with pytest.raises(ScriptTimeout), must_return_within(30):
        engine.script_engine.environment.execute("while True:\n    pass", {})
    after = evaluator_pids(engine)
    assert len(after) == len(before) and len(set(before) - set(after)) == 1
    assert all(gone(pid) for pid in set(before) - set(after))
    assert run_in_an_evaluator(engine)["squares"] == [0, 1, 4]


def evaluated_in_the_server(environment, expression: str) -> bool:
    """Whether `expression` ran without an evaluator (every one is stopped): a NameError is fine here, the shipped
    expressions' variables are not given."""
    try:
        environment.evaluate(expression, {"callback_attempts": 3, "complaint_class": "A"})
    except ScriptTimeout:
        return False
    except Exception:  # noqa: BLE001 - see above
        pass
    return True


def test_the_shipped_conditions_and_decision_entries_run_even_while_every_evaluator_is_stuck(engine):
    environment = engine.script_engine.environment
    pids = evaluator_pids(engine)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        with must_return_within(60):
            assert [e for e in shipped_expressions() if not evaluated_in_the_server(environment, e)] == []
            assert environment.evaluate('complaint_class in ("A", "B")', {"complaint_class": "A"}) is True
            assert not evaluated_in_the_server(environment, "round(callback_attempts) > 1")
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_more_bombs_at_once_than_evaluators_all_stop_and_the_pool_recovers(database, engine, acme):
    size = engine.script_engine.environment.limits.processes
    cases = [start_scripted(database, engine, acme, scripted(f"total = {n}", "10 ** 10 ** amount > 1"), False,
                            f"BOMB-{n}") for n in range(size + 1)]  # a version each: no two may have one diagram
    errors: list[BaseException] = []

    def submit(task_id: str) -> None:
        try:
            with database.session() as s:
                engine.complete(s, task_id, acme.actor("quality"), {"amount": 10})
        except BaseException as error:  # noqa: BLE001 - collected for the assertions below
            errors.append(error)
    threads = [threading.Thread(target=submit, args=(task_id,)) for _, task_id in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a bomb was still running after 60 s"
    assert [type(e) for e in errors] == [ProcessError] * len(cases)
    assert all(e.element_id == "gw_big" and "time limit" in str(e) for e in errors)
    assert len(evaluator_pids(engine)) == size and not any(map(gone, evaluator_pids(engine)))
    assert run_in_an_evaluator(engine)["squares"] == [0, 1, 4]


def test_memory_limit_applies_to_each_evaluation(engine):
    script = "size = len('a' * (megabytes * 2**20))"
    processes = engine.script_engine.environment.limits.processes
    small = SandboxEnvironment(Limits(seconds=5, memory_mb=64, processes=processes))
    with pytest.raises(MemoryError, match="more than the 64 MB"), must_return_within(30):
        small.execute(script, {"megabytes": 100})
    context = {"megabytes": 100}
    with must_return_within(30):
        SandboxEnvironment(Limits(seconds=5, memory_mb=256, processes=processes)).execute(script, context)
    assert context == {"megabytes": 100, "size": 100 * 2**20}


def test_today_now_and_deadline_in_an_evaluator_read_the_cases_calendar_and_step_time(engine):
    monday_to_thursday = BusinessCalendar("Europe/Berlin", weekdays=frozenset(range(4)))
    step = datetime(2026, 3, 12, 23, 30, tzinfo=UTC)  # Friday 00:30 in Berlin, not a working day there
    context: dict = {}
    with calendar_of(lambda: monday_to_thursday, step), must_return_within(30):
        engine.script_engine.environment.execute('due = deadline("1 working day")\nday = today()\nat = now()',
                                                 context)
    assert context == {"due": datetime(2026, 3, 15, 23, 30, tzinfo=UTC),  # Monday 00:30 in Berlin
                       "day": date(2026, 3, 13), "at": step}


def test_an_answer_that_is_not_plain_data_is_refused(engine):
    """An evaluator runs untrusted code: what it answers is read as data only, so it cannot make the server call
    anything (here: a pickled os.system)."""
    with pytest.raises(SandboxError, match="is not data"):
        evaluator._result(pickle.dumps(("ok", os.system)))


SERVER = textwrap.dedent("""
    import os, sys, time
    from engine.runtime import evaluator
    from engine.runtime.evaluator import Limits
    from engine.runtime.restricted import Request

    SCRIPT = Request("exec", "squares = [n * n for n in range(3)]", {}, {})
    pool = evaluator.pool(2)
    assert pool.run(SCRIPT, Limits())["squares"] == [0, 1, 4]
    print(" ".join(str(e.process.pid) for e in pool.evaluators), flush=True)
    if sys.argv[1] == "fork":  # a worker forked after its parent used evaluators: it has its own
        child = os.fork()
        if child == 0:
            own = evaluator.pool(2)
            ok = own.run(SCRIPT, Limits())["squares"] == [0, 1, 4] and own is not pool
            print(" ".join(str(e.process.pid) for e in own.evaluators), flush=True)
            os._exit(0 if ok else 1)
        print(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), flush=True)
        print(pool.run(SCRIPT, Limits())["squares"] == [0, 1, 4], flush=True)
    else:
        time.sleep(120)
""")


def serve(mode: str) -> subprocess.Popen:
    """SERVER in a new Python reading it from its stdin: a main script no evaluator could re-run (multiprocessing
    would have each re-run it; engine.runtime.forkserver spares them)."""
    server = subprocess.Popen([sys.executable, "-", mode], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    server.stdin.write(SERVER)
    server.stdin.close()
    return server


def test_idle_evaluators_exit_when_their_server_process_dies():
    server = serve("wait")
    try:
        with must_return_within(60):
            pids = [int(pid) for pid in server.stdout.readline().split()]
        assert len(pids) == 2 and not any(map(gone, pids))
        server.kill()
        server.wait(timeout=30)
        assert wait_until(lambda: all(map(gone, pids))), "evaluators outlived their server"
    finally:
        server.kill()


def test_a_process_forked_after_using_evaluators_starts_its_own_and_both_go_on():
    server = serve("fork")
    try:
        server.wait(timeout=120)  # its few lines of output fit in the pipe
        output = server.stdout.read()
    finally:
        server.kill()
    parents, children, status, parent_again = output.splitlines()
    assert (status, parent_again) == ("0", "True")
    assert not set(parents.split()) & set(children.split())


@pytest.mark.parametrize("limits", [{"script_processes": 0}, {"script_memory_limit": 0}, {"script_time_limit": 0}])
def test_limits_that_would_stall_every_script_are_refused_when_the_engine_is_built(limits, engine):
    with pytest.raises(ValueError, match="script limits"):
        Engine(engine.auditor, **limits)
