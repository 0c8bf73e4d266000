"""Replaying a case: each recorded step with the elements that finished, the flows taken, what was open after it
and the data it changed; loops count each round, timers and migrations are steps of their own, and past an
altered event the steps are shown from the record alone.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from engine.dto import Actor
from engine.history.replay import replay
from engine.records import Instance
from test_instance_migration import complete as complete_element, move, publish_version, start
from test_rerun import alter, history, reopened_twice
from test_shipped_procedures import PATHS, clock, drive, engine  # fixtures: the engine on a fake clock


def replay_case(database, engine, instance_id: int):
    with database.session() as s:
        return replay(s, engine, s.get(Instance, instance_id))


def test_reopened_complaint_replays_each_round_with_its_flows_and_the_open_task_after_each_step(
        database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    result = replay_case(database, engine, instance_id)
    steps = result.steps

    assert result.divergence is None and all(step.reproduced for step in steps)
    assert [step.number for step in steps] == list(range(1, len(steps) + 1))
    assert sum(len(step.events) for step in steps) == len(history(database, instance_id))
    assert [e.type for e in steps[0].events] == ["instance_started"]
    assert steps[0].active == ("check_validity",) and steps[-1].active == ()
    ran = Counter(element for step in steps for element in step.ran)
    assert (ran["analyse_cause"], ran["callback"], ran["grade"], ran["end_closed"]) == (3, 3, 1, 1)
    flows = Counter(flow for step in steps for flow in step.flows)
    assert (flows["flow_satisfied_no"], flows["flow_satisfied_yes"], flows["flow_valid_yes"]) == (2, 1, 1)


def test_each_step_carries_only_the_data_it_changed(database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    steps = replay_case(database, engine, instance_id).steps
    assert steps[0].changes["customer_name"] == {"from": None, "to": complaint_data["customer_name"]}
    validity = next(step for step in steps if step.events[0].element_id == "check_validity")
    assert validity.changes == {"valid": {"from": None, "to": True}}
    last_callback = steps[-1]
    assert last_callback.changes["satisfied"] == {"from": False, "to": True}


def test_claim_and_release_are_steps_that_change_nothing_on_the_diagram(database, engine, acme, complaint_data):
    steps = replay_case(database, engine, reopened_twice(database, engine, acme, complaint_data)).steps
    claim, release = (next(s for s in steps if s.events[0].type == kind) for kind in ("task_claimed", "task_released"))
    for step in (claim, release):
        assert (step.ran, step.flows, step.changes, step.active) == ((), (), {}, ("grade_complaint",))


def test_timer_firing_is_a_step_of_its_own_and_a_migration_switches_the_diagram(database, engine, clock, acme):
    v1 = publish_version(database, acme, "v1")
    case = start(database, engine, acme, v1)
    v2 = publish_version(database, acme, "v2_compatible")
    move(database, engine, acme, case, v2)
    for element, key in (("register", "service"), ("check", "quality"), ("review", "quality")):
        complete_element(database, engine, acme, case, element, key)
    clock.now += timedelta(hours=3, minutes=1)
    with database.session() as s:
        engine.fire_timers(s, s.get(Instance, case), Actor(company_id=acme.id))

    steps = replay_case(database, engine, case).steps
    migrated = next(step for step in steps if step.events[0].type == "instance_migrated")
    assert (steps[0].version_id, migrated.version_id, steps[-1].version_id) == (v1, v2, v2)
    fired = steps[-1]
    assert fired.events[0].type == "timer_fired" and fired.events[0].element_id in fired.ran


def test_steps_after_an_altered_event_are_shown_from_the_record_and_marked_not_reproduced(
        database, engine, acme, complaint_data):
    instance_id = reopened_twice(database, engine, acme, complaint_data)
    first_callback = next(e for e in history(database, instance_id)
                          if e.type == "task_completed" and e.element_id == "callback")
    alter(database, first_callback, data={**first_callback.data, "submitted": {
        **first_callback.data["submitted"], "satisfied": True}})

    result = replay_case(database, engine, instance_id)
    assert result.divergence.seq == first_callback.seq
    altered = next(step for step in result.steps if first_callback.seq in [e.seq for e in step.events])
    later = result.steps[altered.number:]
    assert not altered.reproduced and later and not any(step.reproduced for step in later)
    assert all(step.reproduced for step in result.steps[:altered.number - 1])
    assert "gw_satisfied" in altered.ran and later[0].ran == ("analyse_cause", "gw_customer_caused")  # recorded
    assert altered.active == () == later[0].active  # not recorded: nothing is shown as open
