"""A complaint is one instance of a procedure plus what the customer told us."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, UTCDateTime, utcnow
from engine.records import Instance

CLOSED_AS = {"normal": "completed", "invalid": "invalid", "abnormal": "abnormal"}  # closure -> register status


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "number"),
        # The register's order and its keyset pages: one company's complaints, newest first, id breaking ties.
        sa.Index("ix_complaints_company_registered", "company_id", "registered_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id"), unique=True)
    number: Mapped[str] = mapped_column(sa.String(16))
    customer_name: Mapped[str] = mapped_column(sa.String(200))
    contact_person: Mapped[str] = mapped_column(sa.String(100))
    contact: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(20))
    category: Mapped[str] = mapped_column(sa.String(20), index=True)
    product: Mapped[str] = mapped_column(sa.String(200), default="")
    specification: Mapped[str] = mapped_column(sa.String(200), default="")
    contract_number: Mapped[str] = mapped_column(sa.String(100), default="")
    work_number: Mapped[str] = mapped_column(sa.String(100), default="")
    content: Mapped[str] = mapped_column(sa.Text)
    customer_request: Mapped[str] = mapped_column(sa.Text, default="")
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Who received it first and owns it until it is closed (首问负责): whoever registered it.
    first_receiver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # How its case closed (normal, invalid, abnormal: the end event's `closure`); None while it is not closed.
    closure: Mapped[str | None] = mapped_column(sa.String(16), index=True)

    instance: Mapped[Instance] = relationship(lazy="joined")

    @property
    def status(self) -> str:
        """What the register shows: running or error as the case is, a closed case by how it closed."""
        if self.instance.status == "completed":
            return CLOSED_AS.get(self.closure or "normal", "completed")
        return self.instance.status


class ComplaintCounter(Base):
    """The last serial used per company and month; incremented atomically by numbering."""

    __tablename__ = "complaint_counters"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


# The register's search, kept by the database itself and so outside the models (autogenerate leaves objects named
# SEARCH_PREFIX... alone): on PostgreSQL a pg_trgm GIN index over the searched columns joined by spaces, which
# `ILIKE '%q%'` on that same expression uses; on SQLite an FTS5 table with the trigram tokenizer over the same
# columns (external content: it holds only the index), kept in step by triggers.
SEARCH_PREFIX = "complaints_search"
SEARCHED = ("number", "customer_name", "contact_person", "contact", "product", "specification", "contract_number",
            "work_number", "content")
SEARCH_EXPRESSION = " || ' ' || ".join(f"complaints.{column}" for column in SEARCHED)


def _sqlite_values(row: str) -> str:
    return ", ".join(f"{row}.{column}" for column in SEARCHED)


_COLUMNS = ", ".join(SEARCHED)
SQLITE_SEARCH = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_PREFIX} USING fts5({_COLUMNS}, content='complaints', "
    "content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_PREFIX}_insert AFTER INSERT ON complaints BEGIN "
    f"INSERT INTO {SEARCH_PREFIX}(rowid, {_COLUMNS}) VALUES (new.id, {_sqlite_values('new')}); END",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_PREFIX}_delete AFTER DELETE ON complaints BEGIN "
    f"INSERT INTO {SEARCH_PREFIX}({SEARCH_PREFIX}, rowid, {_COLUMNS}) VALUES ('delete', old.id, "
    f"{_sqlite_values('old')}); END",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_PREFIX}_update AFTER UPDATE ON complaints BEGIN "
    f"INSERT INTO {SEARCH_PREFIX}({SEARCH_PREFIX}, rowid, {_COLUMNS}) VALUES ('delete', old.id, "
    f"{_sqlite_values('old')}); "
    f"INSERT INTO {SEARCH_PREFIX}(rowid, {_COLUMNS}) VALUES (new.id, {_sqlite_values('new')}); END",
    f"INSERT INTO {SEARCH_PREFIX}({SEARCH_PREFIX}) VALUES ('rebuild')",  # the rows already there (migrations)
)
SEARCH_DROP: dict[str, tuple[str, ...]] = {
    "postgresql": (f"DROP INDEX IF EXISTS {SEARCH_PREFIX}_trgm",),
    "sqlite": (*(f"DROP TRIGGER IF EXISTS {SEARCH_PREFIX}_{kind}" for kind in ("insert", "delete", "update")),
               f"DROP TABLE IF EXISTS {SEARCH_PREFIX}"),
}


def install_search(connection: sa.Connection) -> None:
    """Build the search on the complaints table (create_all and migration 0010 both call this). On PostgreSQL the
    operator class is named in the schema the pg_trgm extension lives in, which need not be on the search path."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_SEARCH:
            connection.exec_driver_sql(statement)
    elif dialect == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = connection.exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'").scalar_one()
        connection.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {SEARCH_PREFIX}_trgm ON complaints "
                                   f"USING gin (({SEARCH_EXPRESSION}) {schema}.gin_trgm_ops)")


def drop_search(connection: sa.Connection) -> None:
    for statement in SEARCH_DROP.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether Alembic's autogenerate should compare a database object with the models: not the search's."""
    return not (name or "").startswith(SEARCH_PREFIX)


def _on_create(target: sa.Table, connection: sa.Connection, **kw: object) -> None:
    install_search(connection)


def _on_drop(target: sa.Table, connection: sa.Connection, **kw: object) -> None:
    drop_search(connection)


sa.event.listen(Complaint.__table__, "after_create", _on_create)  # migration 0010 installs it itself
sa.event.listen(Complaint.__table__, "before_drop", _on_drop)
