"""Complaint numbers: YYYYMM-NNNN in the company's time zone, a serial per company and month, never
duplicated, also when many employees register at the same moment.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timezone

import pytest
import sqlalchemy as sa

from accounts.provisioning import create_company
from complaints.models import Complaint
from complaints.numbering import next_number
from complaints.registration import register
from engine.records import Event, Instance, ProcessVersion
from engine.runtime.steps import Engine

# 00:30 on 1 February in Shanghai, still 31 January in New York and in UTC
FEB_1_SHANGHAI = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)


def engine_at(engine: Engine, now: datetime) -> Engine:
    """The app's engine, with its clock stopped at `now`."""
    return Engine(engine.auditor, specs=engine.specs, script_time_limit=1.0, form_resolver=engine.form_resolver,
                  directory=engine.directory, clock=lambda: now, calendars=engine.calendars)


def numbers(database, company_id: int, now: datetime, tz: str, count: int = 1) -> list[str]:
    """Allocate `count` numbers, each in its own transaction."""
    allocated = []
    for _ in range(count):
        with database.session() as s:
            allocated.append(next_number(s, company_id, now, tz))
    return allocated


def register_complaint(database, engine, company, complaint_data) -> Complaint:
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        return register(s, engine, version, company.actor("service"), complaint_data, company.timezone)


def test_numbers_are_sequential_per_month_in_the_company_time_zone(database):
    with database.session() as s:
        company_id = create_company(s, "Numbering Co").id
    assert numbers(database, company_id, FEB_1_SHANGHAI, "Asia/Shanghai", 3) == [
        "202602-0001", "202602-0002", "202602-0003"]
    assert numbers(database, company_id, datetime(2026, 1, 31, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai") \
        == ["202601-0001"]
    assert numbers(database, company_id, datetime(2026, 3, 1, tzinfo=UTC), "Asia/Shanghai", 2) == [
        "202603-0001", "202603-0002"]
    assert numbers(database, company_id, FEB_1_SHANGHAI, "Asia/Shanghai") == ["202602-0004"]


def test_the_same_instant_falls_in_the_month_of_each_company_zone(database):
    with database.session() as s:
        shanghai = create_company(s, "Shanghai Co", "Asia/Shanghai").id
        new_york = create_company(s, "New York Co", "America/New_York").id
    assert numbers(database, shanghai, FEB_1_SHANGHAI, "Asia/Shanghai") == ["202602-0001"]
    assert numbers(database, new_york, FEB_1_SHANGHAI, "America/New_York") == ["202601-0001"]


def test_serial_has_four_digits_and_keeps_counting_past_them(database):
    with database.session() as s:
        company_id = create_company(s, "Busy Co").id
    assert numbers(database, company_id, FEB_1_SHANGHAI, "UTC") == ["202601-0001"]
    with database.session() as s:
        s.execute(sa.text("UPDATE complaint_counters SET last = 9998 WHERE company_id = :c"), {"c": company_id})
    assert numbers(database, company_id, FEB_1_SHANGHAI, "UTC", 2) == ["202601-9999", "202601-10000"]


def test_registration_numbers_each_company_from_one(database, engine, acme, rival, complaint_data):
    stopped = engine_at(engine, FEB_1_SHANGHAI)
    first = [register_complaint(database, stopped, acme, complaint_data) for _ in range(2)]
    other = register_complaint(database, stopped, rival, complaint_data)
    assert [c.number for c in first] == ["202602-0001", "202602-0002"]
    assert other.number == "202602-0001"
    with database.session() as s:
        for complaint in (*first, other):
            instance = s.get(Instance, complaint.instance_id)
            assert (instance.business_key, instance.company_id) == (complaint.number, complaint.company_id)
            started = s.scalar(sa.select(Event).where(Event.instance_id == instance.id, Event.seq == 1))
            assert started.data["data"]["complaint_number"] == complaint.number


def register_from_threads(database, engine, company, complaint_data, threads: int, each: int) -> list[str]:
    """`threads` employees registering `each` complaints at the same moment; returns the numbers."""
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def employee() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(each):
                number = register_complaint(database, engine, company, complaint_data).number
                with lock:
                    results.append(number)
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread, not lost in this one
            errors.append(error)

    workers = [threading.Thread(target=employee) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert not any(w.is_alive() for w in workers)
    return results


def assert_distinct_and_contiguous(found: list[str], period: str, count: int) -> None:
    assert sorted(found) == [f"{period}-{serial:04d}" for serial in range(1, count + 1)]


@pytest.mark.postgres
def test_concurrent_registrations_get_distinct_numbers_on_postgresql(database, engine, acme, complaint_data):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set KESU_TEST_DATABASE_URL")
    stopped = engine_at(engine, FEB_1_SHANGHAI)
    found = register_from_threads(database, stopped, acme, complaint_data, threads=8, each=5)
    assert_distinct_and_contiguous(found, "202602", 40)
    with database.session() as s:
        stored = list(s.scalars(sa.select(Complaint.number).where(Complaint.company_id == acme.id)))
    assert sorted(stored) == sorted(found)


def test_concurrent_registrations_get_distinct_numbers_on_sqlite(database, engine, acme, complaint_data):
    if not database.is_sqlite:
        pytest.skip("the SQLite variant; PostgreSQL has its own test")
    stopped = engine_at(engine, FEB_1_SHANGHAI)
    found = register_from_threads(database, stopped, acme, complaint_data, threads=4, each=5)
    assert_distinct_and_contiguous(found, "202602", 20)


def test_concurrent_allocation_has_no_duplicates_and_no_gaps(database):
    with database.session() as s:
        company_id = create_company(s, "Race Co").id
    threads, each = 8, 15
    barrier = threading.Barrier(threads)
    found: list[str] = []
    errors: list[BaseException] = []

    def allocate() -> None:
        try:
            barrier.wait(timeout=30)
            found.extend(numbers(database, company_id, FEB_1_SHANGHAI, "Asia/Shanghai", each))
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread, not lost in this one
            errors.append(error)

    workers = [threading.Thread(target=allocate) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert_distinct_and_contiguous(found, "202602", threads * each)
