"""A step answers with the case as it left it, built from the workflow it already holds: the same view a fresh
read of the case gives, including the tasks that stayed open on a parallel branch."""
from __future__ import annotations

import sqlalchemy as sa

from conftest import DIAGRAMS, GROUPS
from engine import queries
from engine.records import InboxTask, Instance
from engine.repository.publishing import publish

PARALLEL = DIAGRAMS / "migration" / "parallel_v1.bpmn"


def fresh_view(database, engine, instance_id: int):
    with database.session() as s:
        return queries.instance_view(s, engine, s.get(Instance, instance_id))


def test_start_and_complete_answer_with_the_view_a_fresh_read_gives(database, engine, acme):
    with database.session() as s:
        version = publish(s, acme.id, PARALLEL.read_bytes(), None, groups=GROUPS)
        started = engine.start(s, version, acme.actor("service"), {"amount": 3}, business_key="P-1")
    assert sorted(t.element_id for t in started.tasks) == ["answer", "inspect"]
    assert started == fresh_view(database, engine, started.id)

    with database.session() as s:
        answer = s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == started.id,
                                                        InboxTask.element_id == "answer"))
        done = engine.complete(s, answer, acme.actor("service"), {})
    assert [t.element_id for t in done.tasks] == ["inspect"]  # the branch still open, read as its row
    assert done == fresh_view(database, engine, started.id)


def test_claim_and_release_answer_with_the_task_as_held_and_as_given_back(database, engine, acme):
    with database.session() as s:
        version = publish(s, acme.id, PARALLEL.read_bytes(), None, groups=GROUPS)
        case = engine.start(s, version, acme.actor("service"), {}, business_key="P-2")
    inspect = next(t for t in case.tasks if t.element_id == "inspect")
    quality = acme.actor("quality")
    with database.session() as s:
        held = engine.claim(s, inspect.id, quality)
    assert (held.id, held.assignee_id, held.candidate_groups) == (inspect.id, quality.user_id, ("Quality",))
    with database.session() as s:
        given_back = engine.release(s, inspect.id, quality)
    assert (given_back.assignee_id, given_back.claimed_at) == (None, None)
