"""Timings kept as samples in milliseconds and summarised by median and 95th percentile."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Samples:
    """One measured thing: its label, its samples (ms) and a note for the table."""

    label: str
    values: list[float] = field(default_factory=list)
    note: str = ""
    cpu: list[float] = field(default_factory=list)  # process CPU time of each sample (ms)

    def add(self, sample: tuple[float, float]) -> None:
        """Append a (wall ms, cpu ms) pair as `timed` returns it."""
        self.values.append(sample[0])
        self.cpu.append(sample[1])

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.values, 95)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q % of samples at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def timed(action: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    """Run `action` once; its result and (wall, CPU) milliseconds. CPU time shows what other load on the
    machine (or waiting for a database server) adds to wall time."""
    cpu, wall = time.process_time_ns(), time.perf_counter_ns()
    result = action()
    return result, ((time.perf_counter_ns() - wall) / 1e6, (time.process_time_ns() - cpu) / 1e6)
