"""(e) Timer-firing latency: 1,000 cases whose boundary timers fall due at the same moment, fired by the
embedded worker (worker.embedded, the loop `make run` starts) on SQLite.

Each case waits in a user task with an interrupting boundary timer whose date is given at the start, so all
come due together once the last case has started. The worker is already running and asleep when they come
due. Latency is the firing step's time (its timer_fired event) minus the due time; the note gives when the last
firing was committed, seen from outside (polled every 0.1 s). No CPU column: the worker is another thread.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.stats import Samples
from bench.world import World
from engine.records import Event, ProcessVersion
from engine.repository.publishing import publish
from worker import jobs
from worker.embedded import EmbeddedWorker

WARM_UP = 20  # cases due in the far future: they time a start, and lie in the index like real waiting cases
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="bench_timers_definitions" targetNamespace="bench">
  <bpmn:process id="bench_timers" name="Bench timers" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_handle</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="handle" name="Handle" camunda:candidateGroups="Customer Service">
      <bpmn:incoming>to_handle</bpmn:incoming><bpmn:outgoing>to_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="overdue" name="Overdue" attachedToRef="handle" cancelActivity="true">
      <bpmn:outgoing>to_escalate</bpmn:outgoing>
      <bpmn:timerEventDefinition id="overdue_timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="escalate" name="Escalate" camunda:candidateGroups="Management">
      <bpmn:incoming>to_escalate</bpmn:incoming><bpmn:outgoing>to_escalated</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>to_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="escalated"><bpmn:incoming>to_escalated</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_handle" sourceRef="start" targetRef="handle" />
    <bpmn:sequenceFlow id="to_done" sourceRef="handle" targetRef="done" />
    <bpmn:sequenceFlow id="to_escalate" sourceRef="overdue" targetRef="escalate" />
    <bpmn:sequenceFlow id="to_escalated" sourceRef="escalate" targetRef="escalated" />
  </bpmn:process>
</bpmn:definitions>"""


def start_cases(world: World, count: int) -> datetime:
    """Start the warm-up cases, then `count` cases all due a moment after the last will have started."""
    actor = world.actors["service"]
    with world.database.session() as s:
        version_id = publish(s, actor.company_id, DIAGRAM.encode("utf-8"), None, "bench").id

    def start(n: int, due: datetime) -> None:
        with world.database.session() as s:
            world.engine.start(s, s.get(ProcessVersion, version_id), actor, {"due": due.isoformat()},
                               business_key=f"TIMER-{n}")

    began = time.perf_counter()
    for n in range(WARM_UP):
        start(n, datetime(2099, 1, 1, tzinfo=UTC))
    per_case = (time.perf_counter() - began) / WARM_UP
    due = datetime.now(UTC) + timedelta(seconds=1 + 1.5 * per_case * count)
    for n in range(WARM_UP, WARM_UP + count):
        start(n, due)
    return due


def fired(world: World) -> list[datetime]:
    with world.database.session() as s:
        return list(s.scalars(sa.select(Event.at).where(Event.type == "timer_fired")))


def fired_count(world: World) -> int:
    """Cheap enough to ask often without slowing the worker down much (they share the GIL)."""
    with world.database.session() as s:
        return s.scalar(sa.select(sa.func.count()).where(Event.type == "timer_fired"))


def run(world: World, count: int) -> Samples:
    """Latency of `count` timers due at once, each in ms after its due time."""
    due = start_cases(world, count)
    late = (datetime.now(UTC) - due).total_seconds()
    worker = EmbeddedWorker([jobs.timers(world.database, world.engine)], world.engine.clock).start()
    try:
        while fired_count(world) < count and datetime.now(UTC) < due + timedelta(seconds=120):
            time.sleep(0.1)
        last = datetime.now(UTC)
    finally:
        worker.stop()
    times = fired(world)
    note = f"{len(times)} fired; the last committed {(last - due).total_seconds():.1f} s after due"
    if late > 0:
        note += f" (starting them overran the due time by {late:.1f} s)"
    return Samples(f"timer fired - due, {count} timers due at once, embedded worker, SQLite",
                   [(at - due).total_seconds() * 1000 for at in times], note)
