"""SQLAlchemy 2.x plumbing shared by every package: the declarative base and the database handle."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names are stable so migrations can refer to them."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    __table__: ClassVar[sa.Table]  # every model maps one table (SQLAlchemy types it as any FromClause)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and gives them back aware, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Filterable(Protocol):
    """A statement a WHERE clause can be added to: select, update, delete."""

    def where(self, *whereclause: Any) -> Self: ...


S = TypeVar("S", bound=Filterable)


def in_company(statement: S, company_id: int, *models: Any) -> S:
    """`statement` limited to one company's rows of each of `models`: how every query module scopes by company."""
    return statement.where(*(model.company_id == company_id for model in models))


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only clock stored times come from."""
    return datetime.now(UTC)


# SQLite's primary result codes that mean "not now" rather than "wrong statement": busy, locked, out of memory,
# read-only, I/O error, disk full, cannot open the file.
SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 13, 14}


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot serve us right now (down, dropped the connection, locked, out of
    connections) rather than that a statement is wrong: the first is worth trying again, the second is a bug.
    On PostgreSQL every OperationalError is of the first kind (connection, shutdown, cancel, lock and serialization
    failures); SQLite raises OperationalError for mistakes too ("no such table"), so its result code decides."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is None or code & 0xFF in SQLITE_UNAVAILABLE


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on, WAL for concurrent readers, and a wait instead of 'database is locked'.

    Writes begin IMMEDIATE: a deferred transaction that must upgrade to a writer after another writer
    committed fails at once in WAL mode (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn.
    """
    dbapi_connection.isolation_level = "IMMEDIATE"
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One engine and session factory per application; Flask-Migrate reads `engine` and `metadata`."""

    metadata = Base.metadata

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        options: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = sa.create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _tune_sqlite)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
