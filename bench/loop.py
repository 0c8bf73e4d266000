"""(c) The reopen loop: does a step cost more at round 500 than at round 1?

One case goes analyse_cause (customer caused) → reply_customer_caused → callback (reached, not
satisfied) → back to analyse_cause, round after round, each task a full engine completion with
persistence. The samples of the first and the last `window` rounds are compared.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.persisted import complete
from bench.procedure import LOOP, LOOP_TASKS
from bench.stats import Samples
from bench.world import World


@dataclass
class LoopResult:
    first: Samples
    last: Samples
    size_first: int  # bytes of stored state after round 1
    size_last: int  # ... after the last round
    rounds: int


def advance_to_loop(world: World) -> int:
    """A new case taken (untimed) up to its first analyse_cause; returns its instance id."""
    instance_id = world.register()
    while (task := world.ready(instance_id)).element_id != LOOP_TASKS[0]:
        complete(world, task, LOOP[task.element_id])
    return instance_id


def one_round(world: World, instance_id: int) -> list[tuple[float, float]]:
    """The three completions of one round, (wall, CPU) milliseconds each."""
    times = []
    for expected in LOOP_TASKS:
        task = world.ready(instance_id)
        if task is None or task.element_id != expected:
            raise RuntimeError(f"the loop went astray: expected {expected}, found {task}")
        times.append(complete(world, task, LOOP[task.element_id]))
    return times


def run(world: World, rounds: int, window: int) -> LoopResult:
    """Drive one case through `rounds - window` rounds, then time its last `window` rounds interleaved
    with the first `window` rounds of a fresh case, so load and database growth affect both alike."""
    looping = advance_to_loop(world)
    one_round(world, looping)
    size_first = world.state_size(looping)
    for _ in range(rounds - window - 1):
        one_round(world, looping)
    fresh = advance_to_loop(world)
    first = Samples(f"reopen loop, rounds 1–{window} of a fresh case (per step)")
    last = Samples(f"reopen loop, rounds {rounds - window + 1}–{rounds} (per step)")
    for _ in range(window):
        for sample in one_round(world, fresh):
            first.add(sample)
        for sample in one_round(world, looping):
            last.add(sample)
    size_last = world.state_size(looping)
    first.note = f"state after round 1: {size_first / 1024:.1f} KiB"
    last.note = f"state after round {rounds}: {size_last / 1024:.1f} KiB"
    return LoopResult(first, last, size_first, size_last, rounds)
