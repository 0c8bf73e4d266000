"""(f) Diagram code per call, where it runs: in the server (what engine.runtime.cost proves bounded: every condition and
decision-table entry of the standard procedure) or in an evaluator process (a pipe round trip: pickle the case's
data, eval there, pickle the result back). A sample times a batch of 100 calls, so its milliseconds are
microseconds per call; the cpu column is this process's share, so an evaluator's own work is not in it."""
from __future__ import annotations

from collections.abc import Callable

from bench.procedure import COMPLAINT, STRAIGHT
from bench.stats import Samples, timed
from engine.calendars.working_time import calendar_of, china
from engine.runtime.sandbox import SandboxEnvironment

BATCH = 100
DATA = {**COMPLAINT, **STRAIGHT["grade_complaint"], "callback_attempts": 1, "complaint_class": "B",
        "participants": ["quality", "customer_service"]}
CALLS: dict[str, tuple[str, str]] = {  # label: (mode, code)
    'condition in the server: complaint_class in ("A", "B")': ("eval", 'complaint_class in ("A", "B")'),
    "condition in an evaluator: round(handling_cost) > 10000": ("eval", "round(handling_cost) > 10000"),
    "script in the server: callback_attempts = callback_attempts + 1":
        ("exec", "callback_attempts = callback_attempts + 1"),
    'script in an evaluator: agreement_due = deadline("P1D")': ("exec", 'agreement_due = deadline("P1D")'),
}


def call(environment: SandboxEnvironment, mode: str, code: str) -> Callable[[], object]:
    if mode == "eval":
        return lambda: environment.evaluate(code, dict(DATA))
    return lambda: environment.execute(code, dict(DATA))


def batch(action: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, cpu ms) of BATCH calls."""
    return timed(lambda: [action() for _ in range(BATCH)])[1]


def run(samples: int) -> list[Samples]:
    """One row per kind of call, measured in turn so that a change in machine load hits them all alike."""
    environment = SandboxEnvironment()
    actions = {label: call(environment, mode, code) for label, (mode, code) in CALLS.items()}
    rows = {label: Samples(label, note=f"per {BATCH} calls") for label in actions}
    with calendar_of(china):  # deadline() reads the company's calendar, sent to the evaluator with the code
        for action in actions.values():
            action()  # warm-up: compiled once, evaluators started
        for _ in range(samples):
            for label, action in actions.items():
                rows[label].add(batch(action))
    return list(rows.values())
