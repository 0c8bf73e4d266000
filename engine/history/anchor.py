"""The anchor: signed checkpoints of every case's chain head, appended to a file outside the database.

Seals cannot be forged without the key, but a history can still be cut short: someone who can write the database
may delete a case's newest events and move its head and count back to an earlier, genuine seal, or delete the
case. So the worker periodically appends the cases whose head moved since the last checkpoint, as (case, event
count, head), to a JSON-lines file: each line MAC-signed and chained to the line before. Verification compares
every case with its newest anchored checkpoint (engine.history.audit). A case whose database history no longer extends
its anchored checkpoint is not anchored again (the evidence stays), and the database keeps the number and MAC of
the last line written (AnchorTip), so lines cut from the end of the file are noticed as well.

Several processes may checkpoint at once: writers take an exclusive `flock` on the file, readers a shared one.
What has been read is kept per process and only new lines are read next time (the file only grows).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.history.sealing import Sealer
from engine.records import AnchorTip, Event, Instance

log = logging.getLogger(__name__)
LINE_DOMAIN = b"kesu-anchor-v1\n"
CASES_PER_LINE = 1000  # also the size of the batches whose anchored seals are looked up in one query
CHUNK = 1000  # case rows fetched per round trip
T = TypeVar("T")
CaseRow: TypeAlias = "sa.Row[int, int, str, int, str | None]"  # id, company_id, business_key, event_count, event_head


@dataclass(frozen=True, slots=True)
class Anchored:
    """A case as a checkpoint saw it: how many events it had and the seal of the newest."""

    instance_id: int
    company_id: int
    business_key: str
    events: int
    head: str | None
    at: datetime


@dataclass(frozen=True)
class AnchorProblem:
    """Damage to the anchor file: lines `first`–`last` were "altered" (not what was signed, or not in the order
    written) or are "missing"; `at` is when the newest missing line was written, where the database knows."""

    kind: str
    first: int
    last: int
    at: datetime | None = None


@dataclass
class _Reading:
    """What one process has read of the file: the newest checkpoint of each case, the damage found, and where
    to go on (`tail` is the last line read, to recognise the same file next time)."""

    inode: int = -1
    offset: int = 0
    tail: bytes = b""
    cases: dict[int, Anchored] = field(default_factory=dict)
    problems: list[AnchorProblem] = field(default_factory=list)
    number: int = 0  # the newest line number seen
    mac: str | None = None  # the MAC that line claims: the next line's `prev`
    linked: bool = True  # False after an unreadable line: its successor's number and link cannot be checked
    at: datetime | None = None  # when the newest authentic line was written
    upto: int | None = None  # the newest event id when its checkpoint ran
    resume: int | None = None  # the same for the checkpoint before: the next one looks at the events after it
    cut: bool = False  # the file ends in the middle of a line


def _payload(fields: dict[str, Any]) -> bytes:
    return LINE_DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _parse(raw: bytes) -> dict[str, Any] | None:
    """A line's fields, or None when it is not a line this module wrote (its number cannot be trusted)."""
    try:
        fields = json.loads(raw)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and isinstance(fields.get("line"), int) else None


class Anchor:
    """The anchor file at `path`, its lines signed by `sealer`."""

    def __init__(self, path: Path, sealer: Sealer) -> None:
        self.path = path
        self.sealer = sealer
        self._reading = _Reading()
        self._lock = threading.Lock()  # one reader or writer of `_reading` at a time in this process
        self._not_before: datetime | None = None

    # -- reading -------------------------------------------------------------------------------------------------

    def anchored(self, company_id: int | None = None, instance_ids: Iterable[int] | None = None
                 ) -> dict[int, Anchored]:
        """The newest anchored checkpoint of the cases asked for (all, a company's, or by id), by instance id."""
        with self._lock:
            cases = self._read(fcntl.LOCK_SH).cases
            found = cases.items() if instance_ids is None else ((i, cases[i]) for i in instance_ids if i in cases)
            return {i: a for i, a in found if company_id is None or a.company_id == company_id}

    def problems(self, session: Session) -> list[AnchorProblem]:
        """What is wrong with the file: altered or missing lines, including lines cut from its end that the
        database says were written."""
        with self._lock:
            reading = self._read(fcntl.LOCK_SH)
            problems, number, mac = list(reading.problems), reading.number, reading.mac
            if reading.cut:  # the last line is there, cut off
                number, mac = number + 1, None
                problems.append(AnchorProblem("altered", number, number))
        tip = session.get(AnchorTip, 1)
        if tip is not None and tip.line > number:
            problems.append(AnchorProblem("missing", number + 1, tip.line, tip.at))
        elif tip is not None and tip.line == number and mac is not None and tip.mac != mac:
            problems.append(AnchorProblem("altered", number, number))
        return problems

    def _read(self, lock: int) -> _Reading:
        """Bring `_reading` up to date with the file (caller holds `_lock`)."""
        try:
            file = self.path.open("rb")
        except FileNotFoundError:
            self._reading = _Reading()
            return self._reading
        with file:
            fcntl.flock(file, lock)
            return self._refresh(file)

    def _refresh(self, file: IO[bytes]) -> _Reading:
        """Read the lines added since last time; from the start if the file is another or was cut or rewritten."""
        if not self._continues(file):
            self._reading = _Reading(inode=os.fstat(file.fileno()).st_ino)
        reading = self._reading
        file.seek(reading.offset)
        reading.cut = False
        for raw in file:
            reading.cut = not raw.endswith(b"\n")  # cut off mid-line: a writer closes it before it appends
            if reading.cut:
                break
            self._take(reading, raw)
            reading.offset += len(raw)
            reading.tail = raw
        return reading

    def _continues(self, file: IO[bytes]) -> bool:
        """Whether the file is the one read so far, grown or not, with the last line read still in place."""
        reading = self._reading
        stat = os.fstat(file.fileno())
        if stat.st_ino != reading.inode or stat.st_size < reading.offset:
            return False
        file.seek(reading.offset - len(reading.tail))
        return file.read(len(reading.tail)) == reading.tail

    def _take(self, reading: _Reading, raw: bytes) -> None:
        """Check one line (signature, number, link to the line before) and note the cases it anchors."""
        fields = _parse(raw)
        if fields is None:
            reading.problems.append(AnchorProblem("altered", reading.number + 1, reading.number + 1))
            reading.linked = False
            return
        number, mac = fields["line"], fields.pop("mac", None)
        if reading.linked and number > reading.number + 1:
            reading.problems.append(AnchorProblem("missing", reading.number + 1, number - 1))
        authentic, in_order = self.sealer.signed(_payload(fields), mac), number > reading.number
        unlinked = reading.linked and number == reading.number + 1 and fields.get("prev") != reading.mac
        if not authentic or not in_order or unlinked:
            reading.problems.append(AnchorProblem("altered", number, number))
        if authentic and in_order:  # an older line copied to the end must not roll cases back
            self._note(reading, fields)
        if in_order:
            reading.number, reading.mac = number, mac
        reading.linked = True

    @staticmethod
    def _note(reading: _Reading, fields: dict[str, Any]) -> None:
        at = datetime.fromisoformat(fields["at"])
        for instance_id, company_id, business_key, events, head in fields["cases"]:
            reading.cases[instance_id] = Anchored(instance_id, company_id, business_key, events, head, at)
        reading.at, reading.upto, reading.resume = at, fields["upto"], fields["resume"]

    # -- writing -------------------------------------------------------------------------------------------------

    def checkpoint(self, sessions: sessionmaker[Session], now: datetime, every: float = 0.0) -> int:
        """Anchor the cases whose head moved since the last checkpoint; returns how many. Nothing is done when
        a checkpoint (by any process) is less than `every` seconds old; `every` 0 anchors at once."""
        if every and self._not_before is not None and now < self._not_before:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            reading = self._refresh(file)
            with sessions.begin() as session:
                tip = session.get(AnchorTip, 1)
                last = max((at for at in (reading.at, tip.at if tip else None) if at is not None), default=None)
                if every and last is not None and now < last + timedelta(seconds=every):
                    self._not_before = last + timedelta(seconds=every)
                    return 0
                self._not_before = now + timedelta(seconds=every)
                return self._append(file, session, reading, tip, now)

    def _append(self, file: IO[bytes], session: Session, reading: _Reading, tip: AnchorTip | None,
                now: datetime) -> int:
        """Write the changed cases in signed lines after the newest line (of the file, or the database's tip if
        lines were cut from the file), then move the tip."""
        number, prev = (tip.line, tip.mac) if tip is not None and tip.line > reading.number else \
            (reading.number, reading.mac)
        upto = session.scalar(sa.select(sa.func.max(Event.id)))
        written = 0
        file.seek(0, os.SEEK_END)
        if reading.cut:
            file.write(b"\n")  # close the line cut off mid-way: it stays in the file, as damage
        for entries in _batches(self._changed(session, reading)):
            number += 1
            fields = {"line": number, "at": now.isoformat(), "upto": upto, "resume": reading.upto,
                      "cases": entries, "prev": prev}
            prev = self.sealer.sign(_payload(fields))
            file.write(json.dumps({**fields, "mac": prev}, separators=(",", ":"), ensure_ascii=False).encode()
                       + b"\n")
            written += len(entries)
        if written:
            assert prev is not None, "every line written was signed"
            file.flush()
            os.fsync(file.fileno())
            _move_tip(session, tip, number, prev, now)
        return written

    def _changed(self, session: Session, reading: _Reading) -> Iterator[list[Any]]:
        """The cases to anchor: those with events newer than the checkpoint before the last one (a transaction
        in flight during the last one has committed since), unless anchored as they are, or cut back since."""
        query = sa.select(Instance.id, Instance.company_id, Instance.business_key, Instance.event_count,
                          Instance.event_head).order_by(Instance.id)
        if reading.resume is not None:
            query = query.where(Instance.id.in_(sa.select(Event.instance_id).where(Event.id > reading.resume)))
        rows = session.execute(query.execution_options(yield_per=CHUNK))
        for batch in _batches(rows):
            moved = [row for row in batch if _moved(reading.cases.get(row.id), row)]
            broken = _cut_back(session, reading.cases, moved)
            for row in moved:
                if row.id in broken:
                    log.warning("case %s (%s) no longer extends its anchored checkpoint; not anchored again",
                                row.id, row.business_key)
                else:
                    yield [row.id, row.company_id, row.business_key, row.event_count, row.event_head]


def _moved(anchored: Anchored | None, row: CaseRow) -> bool:
    return anchored is None or (anchored.events, anchored.head) != (row.event_count, row.event_head)


def _cut_back(session: Session, anchored: dict[int, Anchored], rows: list[CaseRow]) -> set[int]:
    """The cases among `rows` whose history no longer holds their anchored newest event: fewer events, or
    another seal at that number (one query per batch, for the cases that grew)."""
    grew = {row.id: anchored[row.id] for row in rows
            if row.id in anchored and row.event_count > anchored[row.id].events}
    broken = {row.id for row in rows if row.id in anchored and row.id not in grew}
    if grew:
        seals = dict(session.execute(sa.select(Event.instance_id, Event.hash).where(
            sa.tuple_(Event.instance_id, Event.seq).in_([(i, a.events) for i, a in grew.items()]))).all())
        broken |= {i for i, a in grew.items() if seals.get(i) != a.head}
    return broken


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    """`items` in lists of CASES_PER_LINE."""
    iterator = iter(items)
    return iter(lambda: list(islice(iterator, CASES_PER_LINE)), [])


def _move_tip(session: Session, tip: AnchorTip | None, line: int, mac: str, at: datetime) -> None:
    """Record the newest line in the database (never moving it back)."""
    if tip is None:
        session.add(AnchorTip(id=1, line=line, mac=mac, at=at))
    elif line > tip.line:
        tip.line, tip.mac, tip.at = line, mac, at
