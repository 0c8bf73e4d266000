"""The tamper-evident history: each case's chain of seals, checked from its first event to the anchor.

Steps seal their new events onto the instance's `event_head` with the audit key (engine.runtime.steps,
engine.history.sealing), and the worker checkpoints the heads into the anchor file (engine.history.anchor).
`Auditor.verify` recomputes the chains from the stored rows and names, for each case, the first event that no
longer matches, or the events missing since its anchored checkpoint.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.history.anchor import Anchor, Anchored, AnchorProblem
from engine.history.sealing import SEALED, Sealer
from engine.records import Event, Instance

CHUNK = 1000  # events fetched per round trip while verifying
AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"
Authentic = Callable[[Any], bool]  # whether a stored event row carries its own seal


@dataclass(frozen=True)
class ChainReport:
    """One case's verdict: intact, or the first seq that does not match and what happened there.

    `problem` is "altered" (a row's content, its seal or the head changed: a seal made without the key never
    matches), "deleted" (a seq is missing), "inserted" (a row that does not follow its predecessor, or beyond
    the instance's last event), "truncated" (events missing at the end, by the case row's count or by the
    anchor), "replaced" (the event the anchor holds as the case's newest is another now: the history was cut back
    and continued) or "missing" (the case is gone but was anchored). `events` counts the rows found intact
    before it; `anchored` is the checkpoint that proves a truncation, replacement or disappearance.
    """

    instance_id: int
    business_key: str
    events: int
    broken_at: int | None = None
    problem: str | None = None
    anchored: Anchored | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


class Auditor:
    """The audit keys and the anchor: seals each step's events, checkpoints the heads, verifies histories."""

    def __init__(self, keys: Sequence[bytes], anchor_path: Path | str) -> None:
        self.sealer = Sealer(keys)
        self.anchor = Anchor(Path(anchor_path), self.sealer)

    def verify(self, session: Session, company_id: int | None = None, instance_id: int | None = None,
               instance_ids: Collection[int] | None = None) -> list[ChainReport]:
        """Recompute the chain of every selected case (of a company, one, or a list) and compare its end with its
        anchored checkpoint; anchored cases no longer in the database are reported as missing."""
        anchored = self.anchor.anchored(company_id, [instance_id] if instance_id is not None else instance_ids)
        reports = [check_chain(instance, rows, self.sealer.authentic, anchored.pop(instance.id, None))
                   for instance, rows in _histories(session, company_id, instance_id, instance_ids)]
        missing = [ChainReport(a.instance_id, a.business_key, 0, 1, "missing", a)
                   for _id, a in sorted(anchored.items())]
        return list(heapq.merge(reports, missing, key=attrgetter("instance_id")))

    def anchor_problems(self, session: Session) -> list[AnchorProblem]:
        """Damage to the anchor file itself (lines altered, or missing)."""
        return self.anchor.problems(session)

    def checkpoint(self, sessions: sessionmaker[Session], now: datetime, every: float = 0.0) -> int:
        """Anchor the chain heads that moved (engine.history.anchor); returns how many cases were written."""
        return self.anchor.checkpoint(sessions, now, every)


def _histories(session: Session, company_id: int | None, instance_id: int | None,
               instance_ids: Collection[int] | None) -> Iterator[tuple[AnyRow, Iterable[AnyRow]]]:
    """Each selected case's row with its events in seq order, streamed a chunk at a time."""
    instances = sa.select(Instance.id, Instance.business_key, Instance.event_count, Instance.event_head)
    events = sa.select(*(Event.__table__.c[name] for name in (*SEALED, "prev_hash", "hash"))) \
        .join(Instance, Instance.id == Event.instance_id)
    if company_id is not None:
        instances, events = (query.where(Instance.company_id == company_id) for query in (instances, events))
    if instance_id is not None:
        instances, events = (query.where(Instance.id == instance_id) for query in (instances, events))
    if instance_ids is not None:
        instances, events = (query.where(Instance.id.in_(instance_ids)) for query in (instances, events))
    rows = session.execute(events.order_by(Event.instance_id, Event.seq, Event.id)
                           .execution_options(yield_per=CHUNK))
    groups = groupby(rows, key=attrgetter("instance_id"))
    group = next(groups, None)
    for instance in session.execute(instances.order_by(Instance.id)):
        if group is not None and group[0] == instance.id:  # both streams are ordered by instance id
            yield instance, group[1]
            group = next(groups, None)
        else:
            yield instance, ()


def check_chain(instance: Any, rows: Iterable[Any], authentic: Authentic,
                anchored: Anchored | None = None) -> ChainReport:
    """Walk one case's events until the first that breaks the chain, then compare the end with the case row's
    count and head and with its anchored checkpoint. `instance` has the case's id, business_key, event_count
    and event_head; `authentic` says whether a row's seal is its own (migrations pass the formula they undo)."""
    head, seq = None, 0
    for row in rows:
        problem = _problem(row, seq + 1, head, instance.event_count, authentic)
        if problem is None and anchored is not None and row.seq == anchored.events and row.hash != anchored.head:
            return ChainReport(instance.id, instance.business_key, seq, row.seq, "replaced", anchored)
        if problem:
            return ChainReport(instance.id, instance.business_key, seq, *problem)
        head, seq = row.hash, row.seq
    if anchored is not None and seq < anchored.events:
        return ChainReport(instance.id, instance.business_key, seq, seq + 1, "truncated", anchored)
    if seq < instance.event_count:
        return ChainReport(instance.id, instance.business_key, seq, seq + 1, "truncated")
    if head != instance.event_head:
        return ChainReport(instance.id, instance.business_key, seq, seq, "altered")
    return ChainReport(instance.id, instance.business_key, seq)


def _problem(row: Any, expected: int, head: str | None, event_count: int, authentic: Authentic
             ) -> tuple[int, str] | None:
    """Why `row` cannot be the event numbered `expected` following `head`, with the seq to blame."""
    if row.seq < expected:
        return row.seq, "inserted"  # a second row with a number already seen
    if row.seq > expected:
        return expected, "deleted"
    if row.seq > event_count:
        return row.seq, "inserted"  # past the last event the instance row counts
    if not authentic(row):
        return row.seq, "altered"
    if row.prev_hash != head:
        return row.seq, "inserted"  # self-consistent, but linked to another predecessor
    return None
