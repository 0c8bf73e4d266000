"""Reading complaints: the company's list, one complaint, the audit's filtered set, stopped cases, SLA rows.

Every query is scoped to one company with `db.in_company`.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, lazyload, load_only

from accounts.models import Group, User, user_groups
from complaints.models import CLOSED_AS, SEARCH_EXPRESSION, SEARCH_PREFIX, SEARCHED, Complaint
from complaints.sla import SlaClock, SlaPolicy
from db import in_company
from engine.errors import NotFound
from engine.records import Event, InboxTask, Instance, ProcessVersion

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the auditor asked for; a value that is missing or not one of the choices is None (no filter)."""

    procedure: str | None = None
    version: int | None = None
    status: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    grade: str | None = None  # "field:value", as grade_key gives it
    category: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page of the register ends: the last row's registration time and id (the order is both, descending)."""

    registered_at: datetime
    id: int

    def encode(self) -> str:
        text = f"{self.registered_at.astimezone(UTC).isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor `encode` gave, or None for anything else (a page link someone edited starts from the top)."""
        if not text or len(text) > 200:
            return None
        try:
            at, _, number = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition("|")
            moment, id_ = datetime.fromisoformat(at), int(number)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if moment.tzinfo is None or not 0 < id_ < 2**31 or not 1900 < moment.year < 9000:
            return None
        return cls(moment.astimezone(UTC), id_)


@dataclass(frozen=True)
class Page:
    complaints: list[Complaint]
    next: Cursor | None  # None on the last page


def _like_pattern(text: str) -> str:
    """`text` anywhere, its LIKE wildcards taken literally (escaped with a backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matches(dialect: str, text: str) -> sa.ColumnElement[bool]:
    """Complaints whose searched columns hold `text` (any case). PostgreSQL: ILIKE on the expression its pg_trgm
    index covers; SQLite: the FTS5 trigram table, or LIKE over the columns for fewer than 3 characters (a trigram
    index cannot hold them)."""
    if dialect == "postgresql":
        return sa.literal_column(f"({SEARCH_EXPRESSION})").ilike(_like_pattern(text), escape="\\")
    if dialect == "sqlite" and len(text) >= 3:
        phrase = '"' + text.replace('"', '""') + '"'
        hits: sa.Select[Any] = sa.select(sa.literal_column("rowid")).select_from(sa.table(SEARCH_PREFIX)).where(
            sa.literal_column(SEARCH_PREFIX).op("MATCH")(phrase))
        return Complaint.id.in_(hits)
    pattern = _like_pattern(text)
    return sa.or_(*(getattr(Complaint, column).ilike(pattern, escape="\\") for column in SEARCHED))


def register_query(session: Session, company_id: int, q: str | None = None, status: str | None = None,
                   mine_of: int | None = None) -> sa.Select[Complaint]:
    """The company's complaints matching the search `q` (a substring of number, customer, contact person, contact,
    product, specification, contract or work number, or content), of register status `status` (with_status) and,
    when `mine_of` is given, that user's open ones (mine); the register's page and its export read exactly these."""
    query = (in_company(sa.select(Complaint), company_id, Complaint)
             .join(Complaint.instance)  # its status only, not the state or the diagram (an export reads many rows)
             .options(contains_eager(Complaint.instance)
                      .options(load_only(Instance.status), lazyload(Instance.version))))
    query = with_status(query, status)
    if mine_of is not None:
        query = mine(query, mine_of)
    text = (q or "").strip()
    if text:
        query = query.where(_matches(session.get_bind().dialect.name, text))
    return query


def _newest_first(query: sa.Select[Complaint]) -> sa.Select[Complaint]:
    return query.order_by(Complaint.registered_at.desc(), Complaint.id.desc())


def complaint_page(session: Session, company_id: int, q: str | None = None, status: str | None = None,
                   after: Cursor | None = None, size: int = PAGE_SIZE, mine_of: int | None = None) -> Page:
    """One page of the register, newest first, after the cursor `after` (keyset: no OFFSET, so a far page costs
    what the first does, and rows registered meanwhile neither repeat nor skip rows)."""
    query = _newest_first(register_query(session, company_id, q, status, mine_of))
    if after is not None:
        at = sa.bindparam("after_at", after.registered_at, type_=Complaint.registered_at.type)
        query = query.where(sa.tuple_(Complaint.registered_at, Complaint.id) < sa.tuple_(at, after.id))
    rows = list(session.scalars(query.limit(size + 1)))
    last = rows[size - 1] if len(rows) > size else None
    return Page(rows[:size], Cursor(last.registered_at, last.id) if last else None)


def complaint_list(session: Session, company_id: int, status: str | None = None, page: int = 1) -> list[Complaint]:
    """Newest first, optionally only those with one register status (a numbered page, for callers that want one)."""
    query = _newest_first(register_query(session, company_id, status=status))
    return list(session.scalars(query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)))


def count_matching(session: Session, company_id: int, q: str | None = None, status: str | None = None,
                   limit: int | None = None, mine_of: int | None = None) -> int:
    """How many complaints the register's filters match, counted up to `limit` + 1 when given (enough to know
    that there are too many)."""
    query = register_query(session, company_id, q, status, mine_of).with_only_columns(Complaint.id)
    if limit is not None:
        query = query.limit(limit + 1)
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def register_rows(session: Session, company_id: int, q: str | None = None, status: str | None = None,
                  mine_of: int | None = None, chunk: int = 1000) -> Iterator[Complaint]:
    """Every complaint the register's filters match, newest first, read `chunk` rows at a time (an export of
    100,000 rows holds one chunk in memory)."""
    query = _newest_first(register_query(session, company_id, q, status, mine_of))
    yield from session.scalars(query.execution_options(yield_per=chunk))


@dataclass(frozen=True)
class Registrar:
    name: str
    groups: tuple[str, ...]  # by name


def registrars(session: Session, company_id: int) -> dict[int, Registrar]:
    """The company's users by id with their names and groups: who registered a complaint, and the department
    (group) it came from, for an export of many rows read in one query."""
    rows = session.execute(in_company(sa.select(User.id, User.name, Group.name), company_id, User)
                           .outerjoin(user_groups, user_groups.c.user_id == User.id)
                           .outerjoin(Group, Group.id == user_groups.c.group_id)
                           .order_by(User.id, Group.name))
    found: dict[int, Registrar] = {}
    for user_id, name, group in rows:
        known = found.get(user_id, Registrar(name, ()))
        found[user_id] = Registrar(name, known.groups + ((group,) if group else ()))
    return found


def with_status(query: sa.Select[Any], status: str | None) -> sa.Select[Any]:
    """Only the complaints the register shows with `status` (a key of COMPLAINT_STATUSES; None or another value
    filters nothing): running or stopped by an error as their case is, closed ones by how they closed. `query`
    joins Instance."""
    closure = {value: key for key, value in CLOSED_AS.items()}.get(status or "")
    if closure is not None:
        return query.where(Instance.status == "completed", Complaint.closure == closure)
    if status in ("running", "error"):
        return query.where(Instance.status == status)
    return query


def mine(query: sa.Select[Any], user_id: int) -> sa.Select[Any]:
    """Only the open complaints (not closed) the user received first (首问负责), holds a task of, or worked on
    (completed one of its tasks). `query` joins Instance."""
    holds = sa.select(InboxTask.instance_id).where(InboxTask.assignee_id == user_id)
    worked = sa.select(Event.instance_id).where(Event.actor_id == user_id, Event.type == "task_completed")
    return query.where(Instance.status != "completed", sa.or_(
        Complaint.first_receiver_id == user_id, Complaint.instance_id.in_(holds), Complaint.instance_id.in_(worked)))


def complaint_for_instance(session: Session, company_id: int, instance_id: int) -> Complaint:
    complaint = session.scalar(in_company(sa.select(Complaint), company_id, Complaint)
                               .where(Complaint.instance_id == instance_id))
    if complaint is None:
        raise NotFound("no_such_case")
    return complaint


def complaint_instances(session: Session, instance_ids: Iterable[int]) -> set[int]:
    """Which of the cases are complaints (a scheduled job's case, a monthly report say, is not)."""
    ids = set(instance_ids)
    if not ids:
        return set()
    return set(session.scalars(sa.select(Complaint.instance_id).where(Complaint.instance_id.in_(ids))))


def _utc(day: date, zone: str) -> datetime:
    """Midnight at the start of `day` in the time zone `zone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def matching(session: Session, company_id: int, zone: str, filters: Filters) -> list[Complaint]:
    """The complaints on the chosen procedure that pass every filter but the grade, newest first; test runs
    never. Registration dates are days in the company's time zone `zone`."""
    query = (in_company(sa.select(Complaint), company_id, Complaint, Instance)
             .join(Complaint.instance).join(Instance.version)
             .options(contains_eager(Complaint.instance).contains_eager(Instance.version))
             .where(Instance.sandbox.is_(False), ProcessVersion.process_key == filters.procedure)
             .order_by(Complaint.registered_at.desc(), Complaint.id.desc()))
    if filters.version:
        query = query.where(ProcessVersion.version == filters.version)
    if filters.status:
        query = query.where(Instance.status == filters.status)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.registered_from:
        query = query.where(Complaint.registered_at >= _utc(filters.registered_from, zone))
    if filters.registered_to:  # the whole of the last day
        query = query.where(Complaint.registered_at < _utc(filters.registered_to + timedelta(days=1), zone))
    return list(session.scalars(query))


def stopped_cases(session: Session, company_id: int) -> list[tuple[Instance, Complaint | None]]:
    """The company's cases a diagram error stopped, with their complaint where they are one, latest first."""
    return [(instance, complaint) for instance, complaint in session.execute(
        in_company(sa.select(Instance, Complaint), company_id, Instance)
        .outerjoin(Complaint, Complaint.instance_id == Instance.id)
        .where(Instance.status == "error").order_by(Instance.updated_at.desc()))]


def sla_policy(session: Session, company_id: int, policy_id: int) -> SlaPolicy | None:
    """One version of one of the company's SLA policies, or None."""
    return session.scalar(in_company(sa.select(SlaPolicy), company_id, SlaPolicy).where(SlaPolicy.id == policy_id))


def sla_clock(session: Session, company_id: int, clock_id: int) -> SlaClock | None:
    """One SLA clock of one of the company's cases, or None."""
    return session.scalar(in_company(sa.select(SlaClock), company_id, SlaClock).where(SlaClock.id == clock_id))
