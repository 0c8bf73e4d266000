"""Across cases: how often each diagram element ran, how long its runs took, and how often each flow was taken.

Built from replays, which know what finished in every step and what was open after it. A run lasts from the
step after which its element was open to the step in which it finished (the time of a step is that of its input,
its first event); an element that finished in the step that opened it (a gateway, a script, a decision) took no
time. Each round of a loop is a run of its own. An element still open when the case was last looked at is
counted as open, not as a run. Past the point where a replay stopped reproducing the record, what was open is
unknown: such steps still count their runs and flows, but a run that was not seen opening has no duration.
"""
from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from cachetools import LRUCache, cached
from sqlalchemy.orm import Session

from engine.history import audit
from engine.history.replay import Replay, cached_replay
from engine.records import Instance
from engine.runtime.steps import Engine


@dataclass(frozen=True)
class Run:
    """One finished run of an element; `seconds` is None when its opening was not seen."""

    element_id: str
    seconds: float | None


@dataclass(frozen=True)
class CaseTrace:
    """What one case did on its diagram, reduced to what the heatmap and the case list need."""

    instance_id: int
    steps: int
    runs: tuple[Run, ...]
    flows: tuple[str, ...]  # every flow a token took, once per time
    open: tuple[str, ...]  # elements open after the last step
    data: dict[str, Any]  # the case's data now: every step's changes applied in order


@dataclass(frozen=True)
class ElementHeat:
    element_id: str
    runs: int
    open: int  # cases in which the element is open now
    median_seconds: float | None  # over the runs whose duration is known


@dataclass(frozen=True)
class Heatmap:
    cases: int
    elements: dict[str, ElementHeat]
    flows: dict[str, int]

    @property
    def most_runs(self) -> int:
        """The highest run count, which the colour scale ends at."""
        return max((heat.runs for heat in self.elements.values()), default=0)


TRACES: LRUCache[tuple[int, str | None], CaseTrace] = LRUCache(4096)  # a trace is small, a replay holds every event


def cached_trace(session: Session, engine: Engine, instance: Instance,
                 chain: audit.ChainReport) -> CaseTrace:
    """The case's trace, given the verdict on its chain (verify a page's cases in one go). Kept by chain head,
    and only while the chain verifies, as the replay it comes from is; a page over hundreds of cases then
    re-executes only those that moved on since."""
    if not chain.intact:
        return trace(cached_replay(session, engine, instance, chain)[0])
    return _kept_trace(session, engine, instance, chain)


@cached(TRACES, key=lambda session, engine, instance, chain: (instance.id, instance.event_head),
        lock=threading.Lock())
def _kept_trace(session: Session, engine: Engine, instance: Instance, chain: audit.ChainReport) -> CaseTrace:
    return trace(cached_replay(session, engine, instance, chain)[0])


def trace(replay: Replay) -> CaseTrace:
    """One case's runs with their durations, its flows, what is open now and its data."""
    steps = replay.steps
    data: dict[str, Any] = {}
    for step in steps:
        data.update({key: change["to"] for key, change in step.changes.items()})
    last = steps[-1] if steps else None
    return CaseTrace(replay.instance_id, len(steps), tuple(_runs(replay)),
                     tuple(flow for step in steps for flow in step.flows),
                     last.active if last is not None and last.reproduced else (), data)


def _runs(replay: Replay) -> Iterator[Run]:
    """Every finished run, timed from when its element opened; loops reopen an element in the step that closes
    it, so closing is looked at before opening."""
    opened: dict[str, datetime] = {}
    for step in replay.steps:
        at = step.events[0].at
        for element in step.ran:
            since = opened.pop(element, at if step.reproduced else None)
            yield Run(element, (at - since).total_seconds() if since is not None else None)
        if step.reproduced:
            opened = {element: opened.get(element, at) for element in step.active}


def heatmap(traces: Iterable[CaseTrace]) -> Heatmap:
    """Run counts, open counts and median durations per element, and flow counts, over a set of cases."""
    durations: defaultdict[str, list[float]] = defaultdict(list)
    runs: Counter[str] = Counter()
    open_now: Counter[str] = Counter()
    flows: Counter[str] = Counter()
    cases = 0
    for case in traces:
        cases += 1
        for run in case.runs:
            runs[run.element_id] += 1
            if run.seconds is not None:
                durations[run.element_id].append(run.seconds)
        open_now.update(case.open)
        flows.update(case.flows)
    elements = {element: ElementHeat(element, runs[element], open_now[element],
                                     median(durations[element]) if element in durations else None)
                for element in sorted(runs.keys() | open_now.keys())}
    return Heatmap(cases, elements, dict(flows))
