"""Evaluator processes: diagram code that engine.runtime.cost cannot prove bounded runs here, where the operating system
enforces CPU time and memory and the server can kill it. One C-level operation (`10**10**10`, `'a' * 10**10`)
cannot be interrupted inside the server; here it only costs an evaluator.

Each OS process that runs steps (a gunicorn or Celery worker, the dev server with its embedded worker thread)
lazily starts its own small pool, from a forkserver that has this module preloaded (engine.runtime.forkserver): an
evaluator starts light (it is not a copy of the app) and a replacement starts in milliseconds. An evaluator caps
its address space at its own baseline plus the memory limit (RLIMIT_AS: a huge allocation fails there as a
MemoryError) and, as a backstop, its CPU time per evaluation (RLIMIT_CPU). The server waits at most the time
limit for an answer, then SIGKILLs the evaluator and starts another, so every other request goes on being served
meanwhile. An idle evaluator exits when the server goes away (EOF on its pipe). Answers are unpickled as plain
data only: the evaluator ran untrusted code.
"""
from __future__ import annotations

import builtins
import io
import multiprocessing
import os
import pickle
import queue
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing import forkserver, process
from multiprocessing.connection import Connection
from typing import Any

from engine.runtime.restricted import Request, SandboxError, ScriptTimeout, perform, script_line, without_objects

DEFAULT_TIME_LIMIT = 2.0
DEFAULT_MEMORY_MB = 256
DEFAULT_PROCESSES = 2

_CONTEXT = multiprocessing.get_context("forkserver")
_PROCESSES = threading.Lock()  # multiprocessing's bookkeeping of child processes is not thread-safe
_READY = b"ready"
_START_SECONDS = 60.0  # the first start also starts the forkserver, importing this module, on a busy machine
_ERRORS = {"SandboxError": SandboxError, "ScriptTimeout": ScriptTimeout}
_DATA_CLASSES = frozenset({("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")}
                          | {("builtins", name) for name in ("complex", "set", "frozenset")})


@dataclass(frozen=True)
class Limits:
    """What diagram code may use: wall time per evaluation, memory per evaluator, evaluators per OS process."""

    seconds: float = DEFAULT_TIME_LIMIT
    memory_mb: int = DEFAULT_MEMORY_MB
    processes: int = DEFAULT_PROCESSES

    def __post_init__(self) -> None:
        """A server misconfigured so would wait for ever for an evaluator: refuse to start instead."""
        if self.seconds <= 0 or self.memory_mb <= 0 or self.processes < 1:
            raise ValueError(f"script limits must be positive, with at least one evaluator process: {self}")


# -- in the evaluator -------------------------------------------------------------------------------------------

def _address_space() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _set_soft_limit(kind: int, soft: int) -> None:
    resource.setrlimit(kind, (soft, resource.getrlimit(kind)[1]))  # the hard limit stays, so the next may rise


def _limit(baseline: int, limits: Limits) -> None:
    """Cap memory at the baseline + the limit, and CPU time at what this evaluation may use (a backstop for the
    server's own wait: SIGXCPU ends the process)."""
    _set_soft_limit(resource.RLIMIT_AS, baseline + limits.memory_mb * 2**20)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _set_soft_limit(resource.RLIMIT_CPU, int(usage.ru_utime + usage.ru_stime + limits.seconds) + 2)


def _answer(request: Request, limits: Limits) -> bytes:
    try:
        return pickle.dumps(("ok", perform(request)))
    except BaseException as raised:  # noqa: BLE001 - whatever diagram code raises goes back to the server
        error = without_objects(raised)
        args = error.args
        if isinstance(error, MemoryError) and not args:
            args = (f"the script needs more than the {limits.memory_mb} MB it may use",)
        return pickle.dumps(("error", type(error).__name__, args, script_line(error)))


def serve(connection: Connection) -> None:
    """An evaluator's life: answer requests until the server closes its end of the pipe, or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is for the server, which stops us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an evaluator killed for its CPU time dumps no core
    baseline = _address_space()
    connection.send_bytes(_READY)
    while True:
        try:
            limits, request = pickle.loads(connection.recv_bytes())
        except EOFError:
            return
        _limit(baseline, limits)
        connection.send_bytes(_answer(request, limits))


# -- in the server ---------------------------------------------------------------------------------------------

class _DataUnpickler(pickle.Unpickler):
    """Reads an evaluator's answer: plain data only, never a callable."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _DATA_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not data")
        return super().find_class(module, name)


def _rebuild(name: str, args: tuple[Any, ...], line: int) -> Exception:
    """An evaluator's error as the same builtin exception type (SandboxError for any other, and for what is not
    an Exception: a SystemExit must not end the server), with its script line."""
    kind = _ERRORS.get(name) or getattr(builtins, name, None)
    try:
        error = kind(*args) if isinstance(kind, type) and issubclass(kind, Exception) else None
    except Exception:  # noqa: BLE001 - a type whose constructor wants other arguments
        error = None
    if error is None:
        error = SandboxError(f"{name}: {args[0]}" if args else name)
    error.script_line = line  # type: ignore[attr-defined]
    return error


def _result(answer: bytes) -> Any:
    try:
        status, *rest = _DataUnpickler(io.BytesIO(answer)).load()
    except Exception as error:  # noqa: BLE001 - refused classes, or a truncated answer
        raise SandboxError(f"the script's result is not plain data: {error}") from None
    if status == "ok":
        return rest[0]
    raise _rebuild(*rest)


class _Unsent(SandboxError):
    """The evaluator was found dead when given a request (killed while idle): the script never ran."""


class _Evaluator:
    """One evaluator process and the server's end of its pipe."""

    def __init__(self) -> None:
        """Start it and wait until it is ready, so that its start-up never counts against a script's time."""
        ours, theirs = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=serve, args=(theirs,), name="kesu-evaluator", daemon=True)
        with _PROCESSES:
            self.process.start()
        theirs.close()
        self.connection = ours
        try:
            ready = ours.poll(_START_SECONDS) and ours.recv_bytes() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise OSError("a script evaluator did not start")

    def ask(self, message: bytes, seconds: float) -> bytes:
        """Its answer to `message`; ScriptTimeout if none came within `seconds`, SandboxError if it died."""
        try:
            self.connection.send_bytes(message)
        except OSError:  # a dead process's pipe refuses writes: it died while idle
            raise _Unsent("the script evaluator had stopped before it was given the script") from None
        try:
            if self.connection.poll(seconds):
                return self.connection.recv_bytes()
        except (EOFError, OSError):
            raise self._death() from None
        raise ScriptTimeout(f"stopped after {seconds:g} s (time limit)")

    def _death(self) -> SandboxError:
        with _PROCESSES:
            self.process.join(1)
        code = self.process.exitcode
        if code == -signal.SIGXCPU:
            return ScriptTimeout("stopped when its CPU time ran out (time limit)")
        how = f"killed by {signal.Signals(-code).name}" if code and code < 0 else f"exit status {code}"
        return SandboxError(f"the script evaluator stopped ({how})")

    def alive(self) -> bool:
        with _PROCESSES:
            return self.process.is_alive()

    def stop(self) -> None:
        with _PROCESSES:
            self.process.kill()
            self.process.join()
        self.connection.close()


class EvaluatorPool:
    """This OS process's evaluators; a thread takes an idle one (waiting while all are busy, each for at most the
    time limit) and puts it, or its replacement, back. A slot whose evaluator could not be started holds None
    and tries again when next taken."""

    def __init__(self, size: int) -> None:
        self._idle: queue.SimpleQueue[_Evaluator | None] = queue.SimpleQueue()
        self.evaluators: list[_Evaluator] = []  # the live ones, for tests and diagnostics
        for _ in range(size):
            self._replace(None)

    def run(self, request: Request, limits: Limits) -> Any:
        """The request's result from an evaluator; the error it raised, raised here."""
        try:
            message = pickle.dumps((limits, request))
        except Exception as error:  # noqa: BLE001 - whatever the case's data holds that pickle cannot take
            raise SandboxError(f"the case's data cannot be handed to a script: {error}") from None
        try:
            answer = self._ask(message, limits.seconds)
        except _Unsent:  # once more, on the replacement: the script never ran
            answer = self._ask(message, limits.seconds)
        return _result(answer)

    def _ask(self, message: bytes, seconds: float) -> bytes:
        evaluator = self._take()
        try:
            answer = evaluator.ask(message, seconds)
        except BaseException:  # overran, died, or this thread was interrupted: replace it
            self._replace(evaluator)
            raise
        self._idle.put(evaluator)
        return answer

    def _take(self) -> _Evaluator:
        evaluator = self._idle.get()
        if evaluator is not None and evaluator.alive():
            return evaluator
        try:  # it died while idle (killed, or by the OOM killer), or never started
            return self._renew(evaluator)
        except Exception as error:  # noqa: BLE001 - no process can be made now (limits, a broken forkserver)
            self._idle.put(None)
            raise SandboxError(f"no script evaluator process could be started: {error}") from None

    def _replace(self, evaluator: _Evaluator | None) -> None:
        try:
            self._idle.put(self._renew(evaluator))
        except Exception:  # noqa: BLE001 - the slot tries again when next taken, and says why then
            self._idle.put(None)

    def _renew(self, evaluator: _Evaluator | None) -> _Evaluator:
        """Stop `evaluator` if there is one, and start another."""
        if evaluator is not None:
            evaluator.stop()
            self.evaluators.remove(evaluator)
        evaluator = _Evaluator()
        self.evaluators.append(evaluator)
        return evaluator


_pools: dict[int, EvaluatorPool] = {}
_pools_lock = threading.Lock()


def pool(size: int) -> EvaluatorPool:
    """This OS process's pool of `size` evaluators, started on first use."""
    with _pools_lock:
        if size not in _pools:
            _CONTEXT.set_forkserver_preload(["engine.runtime.forkserver"])
            _pools[size] = EvaluatorPool(size)
        return _pools[size]


def _forget_parent_pools() -> None:
    """In a process forked from one that had evaluators (a gunicorn or Celery worker forked after its master
    evaluated): those and their forkserver are the parent's children, not ours; start afresh on first use.
    multiprocessing has no public way to drop an inherited forkserver, hence the private fields."""
    global _pools_lock, _PROCESSES
    _pools.clear()
    _pools_lock, _PROCESSES = threading.Lock(), threading.Lock()
    process._children.clear()  # type: ignore[attr-defined]
    server: Any = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        os.close(server._forkserver_alive_fd)
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None
    server._lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_pools)
