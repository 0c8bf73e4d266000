"""Moving running cases to a newer version of their procedure: what moves, what is refused and why, and what
a move keeps (timers' due times, who holds a task, the data) and records.

The diagrams (diagrams/migration/): v1 registers (boundary timer 'Overdue', 1 h), reviews, pauses (2 h) and
calls back; v2 renames the registration and offers it to Management too, adds a check after it and makes
both timers 3 h; v3 drops the registration; v4 makes it a script. sub_* run an embedded subprocess
(inspect) then close; parallel_* answer and inspect in parallel.
"""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from conftest import DIAGRAMS, GROUPS
from engine.dto import Actor
from engine.errors import ProcessError
from engine.records import Event, InboxTask, Instance, ProcessVersion, TaskCandidate
from engine.repository.publishing import publish, trial_version
from engine.runtime import serializer
from engine.runtime.instance_migration import MigrationRefused, migrate, plan
from engine.runtime.steps import current_data, jsonable

MIGRATIONS = DIAGRAMS / "migration"
DATA = {"customer": "上海明达涂料有限公司", "amount": 3}


def publish_version(database, company, name: str) -> int:
    with database.session() as s:
        return publish(s, company.id, (MIGRATIONS / f"{name}.bpmn").read_bytes(), None, groups=GROUPS).id


def start(database, engine, company, version_id: int, business_key: str = "M-1") -> int:
    with database.session() as s:
        return engine.start(s, s.get(ProcessVersion, version_id), company.actor("service"), dict(DATA),
                            business_key=business_key).id


def complete(database, engine, company, instance_id: int, element: str, key: str) -> None:
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id,
                                                  InboxTask.element_id == element))
        engine.complete(s, row.id, company.actor(key), {})


def move(database, engine, company, instance_id: int, target_id: int):
    """What the web layer does for each case: migrate it in a transaction of its own."""
    with database.session() as s:
        return migrate(s, engine, s.get(Instance, instance_id), s.get(ProcessVersion, target_id),
                       company.actor("owner"))


def dry_run(database, engine, instance_ids: list[int], target_id: int):
    with database.session() as s:
        return plan(s, engine, [s.get(Instance, i) for i in instance_ids], s.get(ProcessVersion, target_id))


def inbox(database, instance_id: int) -> list[tuple[str, tuple[str, ...]]]:
    """(element, offered groups) of the case's open tasks."""
    with database.session() as s:
        rows = s.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
        return sorted((r.element_id, tuple(r.principals("group"))) for r in rows)


def instance(database, instance_id: int) -> Instance:
    with database.session() as s:
        return s.get(Instance, instance_id)


def workflow(database, engine, instance_id: int):
    with database.session() as s:
        row = s.get(Instance, instance_id)
        return serializer.loads(row.state, engine.compiled(row.version), engine.script_engine)


def pending_timers(database, engine, instance_id: int) -> dict[str, datetime]:
    return {e.name: datetime.fromisoformat(e.value) for e in workflow(database, engine, instance_id).waiting_events()}


def snapshot(database) -> dict[str, list[tuple]]:
    """Every row a migration could touch."""
    with database.session() as s:
        return {model.__tablename__: [tuple(row) for row in s.execute(sa.select(model.__table__))]
                for model in (Instance, InboxTask, TaskCandidate, Event)}


# -- compatible changes move --------------------------------------------------------------------------------------

def test_renamed_task_moves_and_the_task_added_after_it_opens_when_reached(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    v2 = publish_version(database, acme, "v2_compatible")

    [check] = dry_run(database, engine, [case], v2)
    assert (check.can_move, check.reasons) == (True, [])
    assert check.current_elements == check.target_elements == ["register", "register_overdue"]

    assert move(database, engine, acme, case, v2) == check
    assert instance(database, case).version_id == v2
    assert inbox(database, case) == [("register", ("Customer Service", "Management"))]  # as v2 offers it

    complete(database, engine, acme, case, "register", "service")
    assert inbox(database, case) == [("check", ("Quality",))]  # v1 would have gone on to the review


def test_task_added_after_a_running_subprocess_opens_when_the_subprocess_ends(database, engine, acme):
    v1 = publish_version(database, acme, "sub_v1")
    case = start(database, engine, acme, v1)
    v2 = publish_version(database, acme, "sub_v2_compatible")

    check = move(database, engine, acme, case, v2)
    assert check.target_elements == ["inspect", "investigate"]
    assert inbox(database, case) == [("inspect", ("Quality",))]

    complete(database, engine, acme, case, "inspect", "quality")
    assert [element for element, _groups in inbox(database, case)] == ["report"]  # v1 would have closed


def test_case_already_past_a_deleted_task_moves(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    complete(database, engine, acme, case, "register", "service")
    v3 = publish_version(database, acme, "v3_register_removed")

    assert move(database, engine, acme, case, v3).can_move
    complete(database, engine, acme, case, "review", "quality")
    assert instance(database, case).status == "running"
    assert set(pending_timers(database, engine, case)) == {"Wait before calling back"}


# -- incompatible changes are refused, with the reason -----------------------------------------------------------

def test_deleted_open_task_is_refused_naming_it_and_nothing_changes(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    v3 = publish_version(database, acme, "v3_register_removed")
    before = snapshot(database)

    [check] = dry_run(database, engine, [case], v3)
    assert not check.can_move
    assert check.reasons == ['The open task "Register complaint" (register) no longer exists in version 2',
                             'The waiting event "Overdue" (register_overdue) no longer exists in version 2']
    assert (check.current_elements, check.target_elements) == (["register", "register_overdue"], [])

    with pytest.raises(MigrationRefused) as refused:
        move(database, engine, acme, case, v3)
    assert refused.value.check == check
    assert snapshot(database) == before


def test_open_task_that_became_another_kind_of_element_is_refused(database, engine, acme):
    """A user task turned script would sit READY with no inbox row and nothing to run it: the case would stall."""
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    v4 = publish_version(database, acme, "v4_register_scripted")

    [check] = dry_run(database, engine, [case], v4)
    assert check.reasons == ['The open task "Register complaint" (register) is a different kind of element in '
                             'version 2']


def test_deleted_task_inside_a_running_subprocess_is_refused(database, engine, acme):
    v1 = publish_version(database, acme, "sub_v1")
    case = start(database, engine, acme, v1)
    v3 = publish_version(database, acme, "sub_v3_inspect_removed")

    [check] = dry_run(database, engine, [case], v3)
    assert check.reasons == ['The open task "Inspect" (inspect) no longer exists in version 2']


def test_finished_parallel_branch_whose_task_was_deleted_is_refused(database, engine, acme):
    """The case still keeps the finished branch until the branches join; its task must exist to load it again."""
    v1 = publish_version(database, acme, "parallel_v1")
    case = start(database, engine, acme, v1)
    complete(database, engine, acme, case, "answer", "service")
    v2 = publish_version(database, acme, "parallel_v2_answer_removed")

    [check] = dry_run(database, engine, [case], v2)
    assert check.reasons == ['The finished task "Answer the customer" (answer) is still part of the case and '
                             'no longer exists in version 2']


def test_completed_case_is_refused(database, engine, acme):
    case = start(database, engine, acme, publish_version(database, acme, "parallel_v1"))
    complete(database, engine, acme, case, "answer", "service")
    complete(database, engine, acme, case, "inspect", "quality")
    v2 = publish_version(database, acme, "parallel_v2_answer_removed")

    [check] = dry_run(database, engine, [case], v2)
    assert (check.can_move, check.reasons, check.current_elements) == (False, ["The case is already closed"], [])
    with pytest.raises(MigrationRefused):
        move(database, engine, acme, case, v2)


def test_version_of_another_company_is_refused(database, engine, acme, rival):
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    theirs = publish_version(database, rival, "v2_compatible")

    [check] = dry_run(database, engine, [case], theirs)
    assert check.reasons == ["The target version belongs to another company"]
    with pytest.raises(MigrationRefused):
        move(database, engine, acme, case, theirs)
    assert instance(database, case).version_id != theirs


def test_version_of_another_procedure_is_refused(database, engine, acme):
    case = start(database, engine, acme, publish_version(database, acme, "v1"))

    [check] = dry_run(database, engine, [case], acme.version.id)
    assert check.reasons == ["The case runs the procedure migration, not complaint_standard"]


def test_test_version_is_refused(database, engine, acme):
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    with database.session() as s:
        trial = trial_version(s, acme.id, (MIGRATIONS / "v2_compatible.bpmn").read_bytes(), None, GROUPS).id

    [check] = dry_run(database, engine, [case], trial)
    assert check.reasons == ["The target is a test version, not a published one"]


def test_older_version_is_refused(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, publish_version(database, acme, "v2_compatible"))

    [check] = dry_run(database, engine, [case], v1)
    assert check.reasons == ["Version 1 is not newer than version 2, which the case runs on"]


# -- what a move keeps and records ------------------------------------------------------------------------------

@pytest.mark.parametrize(("done", "timer"), [((), "Overdue"), (("register", "review"), "Wait before calling back")],
                         ids=["boundary", "intermediate"])
def test_pending_timer_keeps_its_due_time(database, engine, acme, done, timer):
    """v2 waits 3 h where v1 waited 1 or 2: a reset timer would be due hours later than it was."""
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    for element, key in zip(done, ("service", "quality"), strict=False):  # as many workers as tasks done
        complete(database, engine, acme, case, element, key)
    due = pending_timers(database, engine, case)[timer]
    v2 = publish_version(database, acme, "v2_compatible")

    move(database, engine, acme, case, v2)
    assert pending_timers(database, engine, case) == {timer: due}
    assert instance(database, case).next_timer_at == due


def test_claimed_task_keeps_its_holder_and_its_arrival(database, engine, acme):
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    with database.session() as s:
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == case))
        engine.claim(s, row.id, acme.actor("service2"))
    with database.session() as s:
        held = s.get(InboxTask, row.id)
        held = (held.element_id, held.assignee_id, held.claimed_at, held.created_at)
    v2 = publish_version(database, acme, "v2_compatible")

    move(database, engine, acme, case, v2)
    with database.session() as s:
        [moved] = s.scalars(sa.select(InboxTask).where(InboxTask.instance_id == case))
        assert (moved.element_id, moved.assignee_id, moved.claimed_at, moved.created_at) == held
        assert moved.principals("group") == ["Customer Service", "Management"]
    assert held[1] == acme.users["service2"].id


def test_move_is_recorded_bumps_the_lock_and_leaves_the_data_alone(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    before = instance(database, case)
    data = jsonable(current_data(workflow(database, engine, case)))
    v2 = publish_version(database, acme, "v2_compatible")

    move(database, engine, acme, case, v2)
    after = instance(database, case)
    assert after.lock_version == before.lock_version + 1
    assert jsonable(current_data(workflow(database, engine, case))) == data == DATA
    with database.session() as s:
        event = s.scalar(sa.select(Event).where(Event.instance_id == case).order_by(Event.seq.desc()).limit(1))
    assert (event.type, event.seq, event.actor_id) == ("instance_migrated", after.event_count,
                                                       acme.users["owner"].id)
    assert event.data == {"from_version": 1, "to_version": 2, "from_version_id": v1, "to_version_id": v2,
                          "open_elements": ["register", "register_overdue"]}


def test_dry_run_writes_nothing(database, engine, acme):
    v1 = publish_version(database, acme, "v1")
    movable = start(database, engine, acme, v1, "M-1")
    stuck = start(database, engine, acme, v1, "M-2")
    complete(database, engine, acme, movable, "register", "service")
    publish_version(database, acme, "v2_compatible")
    v3 = publish_version(database, acme, "v3_register_removed")
    before = snapshot(database)

    checks = dry_run(database, engine, [movable, stuck], v3)
    assert [(c.business_key, c.can_move) for c in checks] == [("M-1", True), ("M-2", False)]
    assert snapshot(database) == before


def test_refusal_is_a_conflict_with_its_reasons(database, engine, acme):
    case = start(database, engine, acme, publish_version(database, acme, "v1"))
    with database.session() as s:
        engine.record_error(s, ProcessError("Review (review): boom", "review", case), Actor(company_id=acme.id))
    v2 = publish_version(database, acme, "v2_compatible")

    with pytest.raises(MigrationRefused) as refused:
        move(database, engine, acme, case, v2)
    assert (refused.value.code, str(refused.value)) == ("cannot_migrate", "The case is stopped by an error")

