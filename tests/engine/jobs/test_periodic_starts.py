"""Periodic procedures: publishing a diagram whose start event is a timer schedules it, and
engine.jobs.periodic.start_due starts one case per due run (exactly once, with several workers), works out the next
run, and moves on to a newly published version. The shipped monthly supervision report runs on the fake clock of
test_shipped_procedures.
"""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from conftest import GROUPS, ROOT
from engine.calendars.working_time import china
from engine.jobs import recurrence
from engine.jobs.periodic import PeriodicStart, next_start, start_due
from engine.records import Event, InboxTask, Instance
from engine.repository.publishing import publish
from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError
from test_shipped_procedures import START, clock, engine  # fixtures: the engine on a fake clock

MONTHLY = (ROOT / "processes" / "supervision_monthly.bpmn").read_text(encoding="utf-8")
SHANGHAI = timezone(timedelta(hours=8))
DECEMBER_RUN = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


def diagram(cycle: str, kind: str = "timeCycle", task: str = "Write the monthly supervision report") -> bytes:
    """The shipped monthly report with another start timer (or another task name: a new version)."""
    text = MONTHLY.replace("<bpmn:timeCycle xsi:type=\"bpmn:tFormalExpression\">R/2026-01-01T09:00:00+08:00/P1M"
                           "</bpmn:timeCycle>", f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{cycle}</bpmn:{kind}>')
    return text.replace('name="Write the monthly supervision report"', f'name="{task}"').encode("utf-8")


def publish_as_owner(database, acme, xml: bytes):
    with database.session() as s:
        return publish(s, acme.id, xml, acme.users["owner"].id, "periodic", GROUPS)


def schedule_of(database, acme, key: str = "supervision_monthly") -> PeriodicStart | None:
    with database.session() as s:
        return s.scalar(sa.select(PeriodicStart).where(PeriodicStart.company_id == acme.id,
                                                       PeriodicStart.process_key == key))


def cases(database, company) -> list[tuple[str, int, str]]:
    """(business key, version number, open tasks) of the company's cases."""
    with database.session() as s:
        found = s.scalars(sa.select(Instance).where(Instance.company_id == company.id).order_by(Instance.id))
        return [(case.business_key, case.version.version,
                 ",".join(s.scalars(sa.select(InboxTask.element_id).where(InboxTask.instance_id == case.id))))
                for case in found]


def at(clock, moment: datetime) -> datetime:
    clock.now = moment.astimezone(UTC)
    return clock.now


# -- publishing ----------------------------------------------------------------------------------------------------

def test_publishing_a_timer_started_procedure_schedules_it_and_the_worker_works_out_its_first_run(
        database, engine, acme, clock):
    version = publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    row = schedule_of(database, acme)
    assert (row.version_id, row.element_id, row.timer_kind, row.next_at) == (version.id, "start_monthly", "timeCycle",
                                                                             None)
    assert schedule_of(database, acme, "complaint_standard") is None  # a none start event schedules nothing

    report = start_due(database, engine)  # 10:00 on 9 March in Shanghai: the first run is on 1 April
    assert (report.planned, report.cases) == ((row.id,), ())
    assert schedule_of(database, acme).next_at == datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
    with database.session() as s:
        assert next_start(s) == datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


# -- starting runs -------------------------------------------------------------------------------------------------

def test_a_due_run_starts_one_case_for_quality_and_the_next_run_is_a_month_later(database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine, at(clock, datetime(2026, 11, 15, tzinfo=SHANGHAI)))
    assert start_due(database, engine, at(clock, DECEMBER_RUN - timedelta(seconds=1))).cases == ()

    report = start_due(database, engine, at(clock, DECEMBER_RUN))
    assert len(report.cases) == 1
    assert cases(database, acme) == [("supervision_monthly-20261201-0900", 1, "write_report")]
    row = schedule_of(database, acme)
    assert (row.runs, row.last_instance_id, row.last_at) == (1, report.cases[0], DECEMBER_RUN)
    assert row.next_at == datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)
    with database.session() as s:
        task = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == report.cases[0]))
        assert ([c.principal for c in task.candidates], task.due_at) == (
            ["group:Quality"], datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI))  # five working days
        started = s.scalar(sa.select(Event).where(Event.instance_id == report.cases[0], Event.seq == 1))
        case = s.get(Instance, report.cases[0])
        assert (case.next_timer_at, case.started_by_id) == (None, None)  # the case does not wait for the start timer
    assert (started.type, started.actor_id, started.data["trigger"]) == (
        "instance_started", None, {"type": "schedule", "element": "start_monthly", "due": "2026-12-01T01:00:00+00:00"})


def test_a_run_is_started_once_however_often_the_worker_passes(database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine)
    now = at(clock, DECEMBER_RUN + timedelta(minutes=1))
    first = start_due(database, engine, now)
    again = start_due(database, engine, now)
    assert (len(first.cases), again.due, again.cases) == (1, 0, ())
    assert len(cases(database, acme)) == 1


def test_workers_racing_for_a_due_run_start_it_exactly_once(database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine)
    now = at(clock, DECEMBER_RUN + timedelta(minutes=1))
    barrier, reports = threading.Barrier(4), []

    def work() -> None:
        barrier.wait()
        reports.append(start_due(database, engine, now))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(len(r.cases) for r in reports) == [0, 0, 0, 1]
    assert not any(r.failed or r.stopped for r in reports)
    assert [key for key, _, _ in cases(database, acme)] == ["supervision_monthly-20261201-0900"]
    assert schedule_of(database, acme).runs == 1


def test_a_worker_that_was_stopped_for_months_starts_only_the_latest_run(database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine)  # next run: 1 April
    start_due(database, engine, at(clock, datetime(2026, 6, 15, tzinfo=SHANGHAI)))
    assert [key for key, _, _ in cases(database, acme)] == ["supervision_monthly-20260601-0900"]
    assert schedule_of(database, acme).next_at == datetime(2026, 7, 1, 9, 0, tzinfo=SHANGHAI)


def test_a_limited_cycle_stops_after_its_runs(database, engine, acme, clock):
    publish_as_owner(database, acme, diagram("R2/PT1H"))
    start_due(database, engine)  # takes effect at 10:00: runs at 11:00 and 12:00
    for hours in (1, 2, 3):
        start_due(database, engine, at(clock, START + timedelta(hours=hours)))
    assert [key for key, _, _ in cases(database, acme)] == ["supervision_monthly-20260309-1100",
                                                            "supervision_monthly-20260309-1200"]
    row = schedule_of(database, acme)
    assert (row.runs, row.next_at) == (2, None)
    assert start_due(database, engine, at(clock, START + timedelta(days=30))).due == 0


def test_every_working_day_skips_weekends_and_public_holidays(database, engine, acme, clock):
    publish_as_owner(database, acme, diagram("every working day 09:00"))
    at(clock, datetime(2026, 4, 30, 12, 0, tzinfo=SHANGHAI))  # Thursday; 1-5 May is the Labour Day holiday
    start_due(database, engine)
    assert schedule_of(database, acme).next_at == datetime(2026, 5, 6, 9, 0, tzinfo=SHANGHAI)


def test_a_run_whose_diagram_fails_is_passed_over_with_its_error_kept(database, engine, acme, clock):
    broken = diagram("R/PT1H").replace(b'camunda:dueDate="5 working days"', b'camunda:dueDate="no_such_value"')
    publish_as_owner(database, acme, broken)
    start_due(database, engine)
    report = start_due(database, engine, at(clock, START + timedelta(hours=1)))
    row = schedule_of(database, acme)
    assert (report.stopped, report.cases, row.runs) == ((row.id,), (), 0)
    assert "write_report" in row.error
    assert row.next_at == START + timedelta(hours=2)  # not retried on every pass: the next run is planned


# -- new versions --------------------------------------------------------------------------------------------------

def test_a_new_version_takes_the_schedule_over_and_keeps_its_runs_when_the_timer_is_unchanged(
        database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine)
    start_due(database, engine, at(clock, DECEMBER_RUN))
    second = publish_as_owner(database, acme, diagram("R/2026-01-01T09:00:00+08:00/P1M", task="Write the report"))
    row = schedule_of(database, acme)
    assert (row.version_id, row.runs, row.next_at) == (second.id, 1, datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI))

    start_due(database, engine, at(clock, datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)))
    assert [(key, number) for key, number, _ in cases(database, acme)] == [
        ("supervision_monthly-20261201-0900", 1), ("supervision_monthly-20270101-0900", 2)]


def test_a_new_version_with_another_timer_is_counted_anew_and_one_without_ends_the_schedule(
        database, engine, acme, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    start_due(database, engine)
    publish_as_owner(database, acme, diagram("R/P1D"))
    assert schedule_of(database, acme).next_at is None  # waits for the worker's next pass
    start_due(database, engine, at(clock, START + timedelta(hours=5)))
    assert schedule_of(database, acme).next_at == START + timedelta(days=1, hours=5)

    publish_as_owner(database, acme, re.sub(r"<bpmn:timerEventDefinition.*?</bpmn:timerEventDefinition>", "", MONTHLY,
                                            flags=re.S).encode("utf-8"))
    assert schedule_of(database, acme) is None


def test_each_company_runs_its_own_schedule(database, engine, acme, rival, clock):
    publish_as_owner(database, acme, MONTHLY.encode("utf-8"))
    publish_as_owner(database, rival, diagram("R/2026-01-01T10:00:00+08:00/P1M"))
    start_due(database, engine, at(clock, datetime(2026, 11, 15, tzinfo=SHANGHAI)))
    assert len(start_due(database, engine, at(clock, DECEMBER_RUN)).cases) == 1
    assert len(start_due(database, engine, at(clock, DECEMBER_RUN + timedelta(hours=1))).cases) == 1
    assert (cases(database, acme), cases(database, rival)) == (
        [("supervision_monthly-20261201-0900", 1, "write_report")],
        [("supervision_monthly-20261201-1000", 1, "write_report")])


# -- lint ----------------------------------------------------------------------------------------------------------

def test_the_shipped_monthly_report_passes_the_checks():
    assert check_diagram(MONTHLY.encode("utf-8"), GROUPS).key == "supervision_monthly"


@pytest.mark.parametrize(("kind", "written", "says"), [
    ("timeCycle", "every month", "not a cycle Kesu can schedule"),
    ("timeCycle", "0 0 9 1 * ?", "not a cycle Kesu can schedule"),  # a Quartz cron expression
    ("timeCycle", "R/P1X", "not an ISO 8601 duration"),
    ("timeCycle", "R0/P1D", "repeats nothing"),
    ("timeCycle", "R/PT30S", "more often than once a minute"),
    ("timeCycle", "R/P1D/2026-12-01T09:00:00+08:00", "give the first run instead"),
    ("timeCycle", "every working day 25:00", "not a time of day"),
    ("timeDate", "next Monday", "not an ISO 8601 date-time"),
    ("timeDuration", "", "empty"),
])
def test_a_start_timer_kesu_cannot_schedule_is_refused(kind, written, says):
    with pytest.raises(DiagramError) as refused:
        check_diagram(diagram(written, kind), GROUPS)
    assert [(element, message.startswith("start timer:") and says in message)
            for element, message in refused.value.problems] == [("start_monthly", True)]


@pytest.mark.parametrize(("kind", "written"), [
    ("timeCycle", "R/P1D"), ("timeCycle", "R3/PT1H"), ("timeCycle", "'R/P1W'"), ("timeCycle", "每个工作日 09:00"),
    ("timeDate", "2026-12-01T09:00:00+08:00"), ("timeDuration", "P1D"),
])
def test_start_timers_kesu_can_schedule_pass(kind, written):
    check_diagram(diagram(written, kind), GROUPS)


def test_a_timer_start_event_must_be_the_only_start_event():
    by_hand = ('<bpmn:startEvent id="start_by_hand"><bpmn:outgoing>flow_hand</bpmn:outgoing></bpmn:startEvent>'
               '<bpmn:sequenceFlow id="flow_hand" sourceRef="start_by_hand" targetRef="write_report" />')
    second_start = MONTHLY.replace('<bpmn:endEvent id="end_filed"', by_hand + '<bpmn:endEvent id="end_filed"')
    with pytest.raises(DiagramError) as refused:
        check_diagram(second_start.encode("utf-8"), GROUPS)
    assert [element for element, _ in refused.value.problems] == ["start_by_hand"]


# -- the arithmetic ------------------------------------------------------------------------------------------------

def test_months_are_counted_from_the_first_run_so_month_ends_do_not_drift():
    runs = recurrence.parse("timeCycle", "R/2026-01-31T09:00:00+08:00/P1M")
    moment, seen = datetime(2026, 1, 1, tzinfo=UTC), []
    for _ in range(4):
        moment = runs.following(moment, moment, china())
        seen.append(moment.astimezone(SHANGHAI).date().isoformat())
    assert seen == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_a_date_time_without_offset_is_on_the_company_calendar():
    once = recurrence.parse("timeDate", "2026-12-01T09:00")
    since = datetime(2026, 11, 1, tzinfo=UTC)
    assert once.following(since, since, china("Europe/Berlin")) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert once.following(datetime(2026, 12, 2, tzinfo=UTC), since, china()) is None


@pytest.mark.parametrize("written", ["-P1D", "P1.5M", "P0.1Y1D"])
def test_a_negative_period_or_a_fraction_of_a_month_is_no_schedule(written):
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        recurrence.parse("timeDuration", written)


def test_years_count_twelve_months_and_the_rest_is_added_after_the_months():
    runs = recurrence.parse("timeCycle", "R/2024-02-29T09:00:00+08:00/P1Y1M1DT1H")
    first = datetime(2024, 2, 29, 1, 0, tzinfo=UTC)
    assert runs.following(first, first, china()) == datetime(2025, 3, 30, 2, 0, tzinfo=UTC)
