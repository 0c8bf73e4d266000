"""The tamper-evident history: each event's hash covers its content and the hash of the event before it.

Steps link their new events to the instance's `event_head` (engine.runtime); `verify` recomputes the
chains from the stored rows and names the first event of each instance that no longer matches.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone
from itertools import groupby
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.records import Event, Instance

HASHED = ("company_id", "instance_id", "seq", "type", "actor_id", "element_id", "task_id", "at", "data")
CHUNK = 1000  # events fetched per round trip while verifying


def event_hash(prev_hash: str | None, event: Mapping[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON, the same for the dict a step writes and the row read back."""
    content = {name: event[name] for name in HASHED}
    content["at"] = event["at"].astimezone(timezone.utc).isoformat(timespec="microseconds")
    content["prev_hash"] = prev_hash
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain(head: str | None, events: Iterable[dict[str, Any]]) -> str | None:
    """Link new events (in seq order) after `head`, filling in their prev_hash and hash; returns the new head."""
    for event in events:
        event["prev_hash"] = head
        event["hash"] = head = event_hash(head, event)
    return head


@dataclass(frozen=True)
class ChainReport:
    """One instance's verdict: intact, or the first seq that does not match and what happened there.

    `problem` is "altered" (a row's content or the head changed), "deleted" (a seq is missing),
    "inserted" (a row that does not follow its predecessor, or beyond the instance's last event)
    or "truncated" (events missing at the end); `events` counts the rows found intact before it.
    """

    instance_id: int
    business_key: str
    events: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify(session: Session, company_id: int | None = None, instance_id: int | None = None,
           instance_ids: Collection[int] | None = None) -> list[ChainReport]:
    """Recompute the chain of every selected instance (of a company, one, or a list), streaming events in seq
    order a chunk at a time."""
    instances = sa.select(Instance.id, Instance.business_key, Instance.event_count, Instance.event_head)
    events = sa.select(*(Event.__table__.c[name] for name in (*HASHED, "prev_hash", "hash"))) \
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
    reports = []
    for instance in session.execute(instances.order_by(Instance.id)):
        if group is not None and group[0] == instance.id:  # both streams are ordered by instance id
            reports.append(_check(instance, group[1]))
            group = next(groups, None)
        else:
            reports.append(_check(instance, ()))
    return reports


def _check(instance: sa.Row, rows: Iterable[sa.Row]) -> ChainReport:
    """Walk one instance's events until the first that breaks the chain, then compare the end with its head."""
    head, seq = None, 0
    for row in rows:
        problem = _problem(row, seq + 1, head, instance.event_count)
        if problem:
            return ChainReport(instance.id, instance.business_key, seq, *problem)
        head, seq = row.hash, row.seq
    if seq < instance.event_count:
        return ChainReport(instance.id, instance.business_key, seq, seq + 1, "truncated")
    if head != instance.event_head:
        return ChainReport(instance.id, instance.business_key, seq, seq, "altered")
    return ChainReport(instance.id, instance.business_key, seq)


def _problem(row: sa.Row, expected: int, head: str | None, event_count: int) -> tuple[int, str] | None:
    """Why `row` cannot be the event numbered `expected` following `head`, with the seq to blame."""
    if row.seq < expected:
        return row.seq, "inserted"  # a second row with a number already seen
    if row.seq > expected:
        return expected, "deleted"
    if row.seq > event_count:
        return row.seq, "inserted"  # past the last event the instance row counts
    if row.hash != event_hash(row.prev_hash, row._mapping):
        return row.seq, "altered"
    if row.prev_hash != head:
        return row.seq, "inserted"  # self-consistent, but linked to another predecessor
    return None
