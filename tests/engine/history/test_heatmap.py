"""The heatmap across cases: each element's runs (a loop counts every round), the median time a run took from the
step that opened it to the step that finished it, what is still open, and how often each flow was taken."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from complaints.registration import register
from engine.history.heatmap import Run, cached_trace, heatmap, trace
from engine.history.replay import Replay, ReplayStep
from engine.records import Event, Instance, ProcessVersion
from test_loops import INTAKE, REOPEN_ROUND, SATISFIED, complete
from test_replay import replay_case
from test_rerun import alter, history
from test_shipped_procedures import clock, engine  # fixtures: the engine on a fake clock

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
HOUR = 3600.0


def step(number: int, hours: float, ran=(), flows=(), active=(), changes=None, reproduced=True) -> ReplayStep:
    """A replay step whose input happened `hours` after T0."""
    event = Event(type="task_completed", at=T0 + timedelta(hours=hours))
    return ReplayStep(number, (event,), 1, tuple(ran), tuple(flows), tuple(active), changes or {}, reproduced)


def case(instance_id: int, *steps: ReplayStep) -> Replay:
    return Replay(instance_id, steps, None)


def reviewed_in(instance_id: int, hours: float) -> Replay:
    """Started, then `review` finished `hours` later and the case closed."""
    return case(instance_id, step(1, 0, ran=["start"], flows=["f_start"], active=["review"]),
                step(2, hours, ran=["review", "end"], flows=["f_end"]))


def test_loop_counts_each_round_as_a_run_timed_from_its_own_reopening():
    looped = case(1,
                  step(1, 0, ran=["start"], flows=["f_start"], active=["fix"]),
                  step(2, 1, ran=["fix", "gw_ok"], flows=["f_fix", "f_again"], active=["fix"]),  # not ok: fix again
                  step(3, 4, ran=["fix", "gw_ok", "end"], flows=["f_fix", "f_done"]))
    result = heatmap([trace(looped)])
    fix = result.elements["fix"]
    assert (fix.runs, fix.open) == (2, 0)
    assert fix.median_seconds == (1 * HOUR + 3 * HOUR) / 2  # one hour, then three
    assert result.elements["gw_ok"].runs == 2 and result.elements["gw_ok"].median_seconds == 0
    assert (result.flows["f_fix"], result.flows["f_again"], result.flows["f_done"]) == (2, 1, 1)


def test_median_is_taken_over_the_runs_of_every_case():
    result = heatmap(trace(reviewed_in(n, hours)) for n, hours in enumerate((1, 2, 10), start=1))
    review = result.elements["review"]
    assert (result.cases, review.runs, review.median_seconds) == (3, 3, 2 * HOUR)
    assert result.flows["f_start"] == 3 and result.most_runs == 3


def test_still_open_task_is_counted_as_open_not_as_a_run():
    waiting = case(2, step(1, 0, ran=["start"], flows=["f_start"], active=["review"]),
                   step(2, 5, active=["review"]))  # a claim: nothing finished
    result = heatmap([trace(reviewed_in(1, 3)), trace(waiting)])
    review = result.elements["review"]
    assert (review.runs, review.open, review.median_seconds) == (1, 1, 3 * HOUR)


def test_element_opened_and_finished_in_one_step_took_no_time():
    [start] = [run for run in trace(reviewed_in(1, 2)).runs if run.element_id == "start"]
    assert start == Run("start", 0.0)


def test_runs_past_a_divergence_count_but_only_those_seen_opening_are_timed():
    diverged = case(1, step(1, 0, ran=["start"], active=["review"]),
                    step(2, 2, ran=["review", "approve"], reproduced=False),
                    step(3, 3, ran=["publish"], reproduced=False))
    runs = trace(diverged)
    assert runs.runs[1:] == (Run("review", 2 * HOUR), Run("approve", None), Run("publish", None))
    assert runs.open == ()  # not recorded past the divergence
    assert heatmap([runs]).elements["approve"].median_seconds is None


def test_case_data_is_every_change_applied_in_order():
    changed = case(1, step(1, 0, changes={"level": {"from": None, "to": 3}, "valid": {"from": None, "to": True}}),
                   step(2, 1, changes={"level": {"from": 3, "to": 1}}))
    result = trace(changed)
    assert result.data == {"level": 1, "valid": True} and result.steps == 2


def test_empty_set_has_no_elements():
    result = heatmap([])
    assert (result.cases, result.elements, result.flows, result.most_runs) == (0, {}, {}, 0)


def test_reopened_complaint_on_the_clock_gives_each_task_its_real_duration(database, engine, clock, acme,
                                                                          complaint_data):
    with database.session() as s:
        instance_id = register(s, engine, s.get(ProcessVersion, acme.version.id), acme.actor("service"),
                               complaint_data, acme.timezone).instance_id
        for element, key, data in [*INTAKE, *REOPEN_ROUND, *REOPEN_ROUND[:2], SATISFIED]:
            clock.now += timedelta(hours=2)
            complete(s, engine, acme, instance_id, element, key, data)

    result = heatmap([trace(replay_case(database, engine, instance_id))])
    assert result.elements["callback"].runs == 2 and result.elements["analyse_cause"].runs == 2
    assert result.elements["check_validity"].median_seconds == 2 * HOUR
    assert result.elements["grade"].median_seconds == 0  # the grading table runs in the step that opens it
    assert result.flows["flow_satisfied_no"] == 1 and result.flows["flow_satisfied_yes"] == 1
    assert result.elements["end_closed"].runs == 1 and not any(heat.open for heat in result.elements.values())


def test_trace_is_kept_while_the_chain_head_stays_and_its_chain_verifies(database, engine, acme, complaint_data):
    def traced(instance_id: int):
        with database.session() as s:
            [chain] = engine.auditor.verify(s, acme.id, instance_id)
            return cached_trace(s, engine, s.get(Instance, instance_id), chain), chain

    with database.session() as s:
        instance_id = register(s, engine, s.get(ProcessVersion, acme.version.id), acme.actor("service"),
                               complaint_data, acme.timezone).instance_id
    first, chain = traced(instance_id)
    assert chain.intact and traced(instance_id)[0] is first
    with database.session() as s:
        complete(s, engine, acme, instance_id, *INTAKE[0])
    moved_on, _ = traced(instance_id)
    assert moved_on.steps == first.steps + 1 and traced(instance_id)[0] is moved_on

    alter(database, history(database, instance_id)[-1], element_id="grade_complaint")
    altered, chain = traced(instance_id)
    assert not chain.intact and altered is not moved_on and traced(instance_id)[0] is not altered  # never kept
