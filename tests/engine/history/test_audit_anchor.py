"""The anchor file: signed, chained checkpoints of the cases' chain heads, outside the database. Damage to the file
itself (a line edited, removed, or cut from its end) is reported, and several processes writing at once leave a
valid file.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from conftest import AUDIT_KEY, ROOT
from db import utcnow
from engine.history.anchor import AnchorProblem
from engine.history.audit import Auditor
from engine.records import Instance
from engine.runtime.steps import Engine
from test_audit_chain import case_with_history, checkpoint, cut_back, event_count, verdict
from worker import jobs


def lines(engine) -> list[dict]:
    return [json.loads(line) for line in engine.auditor.anchor.path.read_bytes().splitlines()]


def rewrite(engine, change) -> None:
    """Rewrite the anchor file's lines (a list of bytes) with `change`, as someone with access to the file might."""
    path = engine.auditor.anchor.path
    path.write_bytes(b"".join(line + b"\n" for line in change(path.read_bytes().splitlines())))


def problems(database, engine) -> list[AnchorProblem]:
    with database.session() as s:
        return engine.auditor.anchor_problems(s)


def note(database, engine, instance_id: int, text: str = "checked") -> None:
    with database.session() as s:
        engine.note(s, s.get(Instance, instance_id), "note", None, utcnow(), text=text)


def three_checkpoints(database, engine, acme, complaint_data) -> int:
    """A case anchored three times, one line each; its id."""
    instance_id = case_with_history(database, engine, acme, complaint_data)
    checkpoint(database, engine)
    for text in ("second", "third"):
        note(database, engine, instance_id, text)
        checkpoint(database, engine)
    return instance_id


def test_each_line_is_signed_and_chained_to_the_one_before(database, engine, acme, complaint_data):
    instance_id = three_checkpoints(database, engine, acme, complaint_data)
    written = lines(engine)
    assert [line["line"] for line in written] == [1, 2, 3]
    assert [line["prev"] for line in written] == [None, written[0]["mac"], written[1]["mac"]]
    assert written[-1]["cases"] == [[instance_id, acme.id, written[-1]["cases"][0][2],
                                     event_count(database, instance_id), written[-1]["cases"][0][4]]]
    assert problems(database, engine) == []


def test_an_edited_line_is_reported_and_what_it_claims_is_not_believed(database, engine, acme, complaint_data):
    instance_id = three_checkpoints(database, engine, acme, complaint_data)

    def inflate(raw: list[bytes]) -> list[bytes]:
        line = json.loads(raw[2])
        line["cases"][0][3] += 5  # claims more events than the case ever had
        return [*raw[:2], json.dumps(line).encode()]
    rewrite(engine, inflate)
    assert problems(database, engine) == [AnchorProblem("altered", 3, 3)]
    assert verdict(database, engine.auditor, instance_id) == (None, None)  # the two signed lines hold


def test_a_removed_line_is_reported_missing(database, engine, acme, complaint_data):
    three_checkpoints(database, engine, acme, complaint_data)
    rewrite(engine, lambda raw: [raw[0], raw[2]])
    assert problems(database, engine) == [AnchorProblem("missing", 2, 2)]


def test_an_old_line_copied_to_the_end_is_reported_and_rolls_no_case_back(database, engine, acme, complaint_data):
    instance_id = three_checkpoints(database, engine, acme, complaint_data)
    rewrite(engine, lambda raw: [*raw, raw[0]])  # genuinely signed, but older: the case had fewer events then
    cut_back(database, instance_id, keep=event_count(database, instance_id) - 1)
    assert problems(database, engine) == [AnchorProblem("altered", 1, 1)]
    assert verdict(database, engine.auditor, instance_id)[1] == "truncated"


def test_lines_cut_from_the_end_are_reported_from_the_tip_the_database_keeps(database, engine, acme,
                                                                             complaint_data):
    three_checkpoints(database, engine, acme, complaint_data)
    written_at = datetime.fromisoformat(lines(engine)[-1]["at"])
    rewrite(engine, lambda raw: raw[:1])
    assert problems(database, engine) == [AnchorProblem("missing", 2, 3, written_at)]
    engine.auditor.anchor.path.unlink()
    assert problems(database, engine) == [AnchorProblem("missing", 1, 3, written_at)]


def test_a_file_cut_mid_line_is_reported_and_stays_reported_after_the_next_checkpoint(database, engine, acme,
                                                                                    complaint_data):
    instance_id = three_checkpoints(database, engine, acme, complaint_data)
    path = engine.auditor.anchor.path
    path.write_bytes(path.read_bytes()[:-40])
    assert problems(database, engine) == [AnchorProblem("altered", 3, 3)]
    note(database, engine, instance_id, "fourth")
    assert checkpoint(database, engine) == 1
    assert problems(database, engine) == [AnchorProblem("altered", 3, 3)]  # the damage is kept, not repaired
    assert json.loads(path.read_bytes().splitlines()[-1])["line"] == 4
    assert verdict(database, engine.auditor, instance_id) == (None, None)


def test_a_truncated_case_is_still_caught_through_a_damaged_file(database, engine, acme, complaint_data):
    instance_id = three_checkpoints(database, engine, acme, complaint_data)
    rewrite(engine, lambda raw: [raw[0], b"garbage", raw[2]])
    cut_back(database, instance_id, keep=3)
    assert problems(database, engine) == [AnchorProblem("altered", 2, 2)]
    assert verdict(database, engine.auditor, instance_id) == (4, "truncated")


def other_process(engine) -> Engine:
    """The same configuration as another process has it: its own reading of the anchor file."""
    return Engine(Auditor([bytes.fromhex(AUDIT_KEY)], engine.auditor.anchor.path))


def test_the_worker_anchors_at_most_once_per_interval_across_processes(database, engine, acme, complaint_data):
    instance_id = case_with_history(database, engine, acme, complaint_data)
    start = utcnow()
    here, there = (jobs.anchor(database, other_process(engine), 60) for _ in range(2))
    here(start, 1.0)
    note(database, engine, instance_id)
    there(start + timedelta(seconds=30), 1.0)  # another process: the last checkpoint is only 30 s old
    here(start + timedelta(seconds=50), 1.0)
    assert len(lines(engine)) == 1
    there(start + timedelta(seconds=61), 1.0)
    assert [len(line["cases"]) for line in lines(engine)] == [1, 1]
    assert problems(database, engine) == []


WRITER = """
import sys, time
from datetime import datetime, timezone
from app import create_app
from engine.history import anchor

anchor.CASES_PER_LINE = 1  # a line per case: many writes to interleave
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "x", "TESTING": True, "AUDIT_KEY": sys.argv[2],
                  "AUDIT_ANCHOR": sys.argv[3]})
auditor, sessions = app.extensions["kesu.engine"].auditor, app.extensions["kesu.db"].sessionmaker
print("ready", flush=True)
anchored, until = 0, time.monotonic() + float(sys.argv[4])
while time.monotonic() < until:
    anchored += auditor.checkpoint(sessions, datetime.now(timezone.utc))
print(anchored)
"""


def test_two_processes_checkpointing_at_once_leave_a_valid_file(database, engine, acme, complaint_data):
    cases = [case_with_history(database, engine, acme, complaint_data) for _ in range(6)]
    path = engine.auditor.anchor.path
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, database.url, AUDIT_KEY, str(path), "3"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [writer.stdout.readline() for writer in writers] == ["ready\n"] * 2
    until = time.monotonic() + 3
    while time.monotonic() < until:
        for instance_id in cases:
            note(database, engine, instance_id)
    outputs = [writer.communicate(timeout=60) for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), outputs
    assert all(int(out) > len(cases) for out, _err in outputs), outputs  # both wrote, again and again
    checkpoint(database, engine)
    assert problems(database, engine) == []
    numbers = [line["line"] for line in lines(engine)]
    assert numbers == list(range(1, len(numbers) + 1))
    with database.session() as s:
        heads = dict(s.execute(sa.select(Instance.id, Instance.event_head)).all())
    assert {i: a.head for i, a in engine.auditor.anchor.anchored().items()} == heads


def test_an_anchor_elsewhere_starts_empty_and_the_database_tip_says_it_is_not_the_one_written(
        database, engine, acme, complaint_data, tmp_path):
    three_checkpoints(database, engine, acme, complaint_data)
    moved = Auditor([bytes.fromhex(AUDIT_KEY)], Path(tmp_path) / "elsewhere.jsonl")
    with database.session() as s:
        assert [p.kind for p in moved.anchor_problems(s)] == ["missing"]
    assert moved.anchor.anchored() == {}


def test_lines_keep_the_time_they_were_written(database, engine, acme, complaint_data):
    case_with_history(database, engine, acme, complaint_data)
    moment = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    engine.auditor.checkpoint(database.sessionmaker, moment)
    assert [a.at for a in engine.auditor.anchor.anchored().values()] == [moment]
