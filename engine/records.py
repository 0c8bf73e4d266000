"""ORM rows the engine owns: versions, decision tables, drafts, instances, inbox rows, the event log and the
anchor's tip."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, UTCDateTime, utcnow

process_version_decisions = sa.Table(
    "process_version_decisions", Base.metadata,
    sa.Column("process_version_id", sa.ForeignKey("process_versions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("decision_version_id", sa.ForeignKey("decision_versions.id"), primary_key=True),
)


class DecisionVersion(Base):
    """An immutable published DMN document (a decision table such as the grading table)."""

    __tablename__ = "decision_versions"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "decision_key", "version"),
        sa.UniqueConstraint("company_id", "decision_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    decision_key: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    dmn_xml: Mapped[str] = mapped_column(sa.Text, deferred=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessVersion(Base):
    """An immutable diagram with the decision versions it calls; its content hash identifies the cached spec.

    `version` is None for a test version: a draft started in a test run, never published (publishing the
    same content later numbers that row instead of adding another).
    """

    __tablename__ = "process_versions"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "process_key", "version"),
        sa.UniqueConstraint("company_id", "process_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int | None]
    name: Mapped[str] = mapped_column(sa.String(200))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    bpmn_xml: Mapped[str] = mapped_column(sa.Text, deferred=True)  # read only when the spec is not cached
    note: Mapped[str] = mapped_column(sa.Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    decisions: Mapped[list[DecisionVersion]] = relationship(secondary=process_version_decisions, lazy="select",
                                                            order_by=DecisionVersion.decision_key)


class Draft(Base):
    """The work in progress on one procedure or decision table, shared by the company's owners.

    `revision` grows with every save; a save based on an older revision is refused, naming who saved since.
    """

    __tablename__ = "drafts"
    __table_args__ = (sa.UniqueConstraint("company_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # "bpmn" or "dmn"
    key: Mapped[str] = mapped_column(sa.String(200))
    xml: Mapped[str] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(default=1)
    saved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Instance(Base):
    """One running procedure; `state` holds the serialized workflow without its spec."""

    __tablename__ = "instances"
    __table_args__ = (sa.UniqueConstraint("company_id", "business_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("process_versions.id"), index=True)
    business_key: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="running", index=True)
    sandbox: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)  # a test run
    end_element: Mapped[str | None] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.Text)
    serializer_version: Mapped[str] = mapped_column(sa.String(32))
    lock_version: Mapped[int] = mapped_column(default=1)
    event_count: Mapped[int] = mapped_column(default=0)
    event_head: Mapped[str | None] = mapped_column(sa.String(64))  # seal of the newest event: the chain's end
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    error: Mapped[str | None] = mapped_column(sa.Text)
    error_element: Mapped[str | None] = mapped_column(sa.String(200))
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[ProcessVersion] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once, when SQLAlchemy maps the class


class InboxTask(Base):
    """A projection of one READY user task, rewritten by every step; the inbox reads only this."""

    __tablename__ = "inbox_tasks"
    __table_args__ = (sa.Index("ix_inbox_tasks_company_order", "company_id", "priority", "created_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(sa.String(200))
    lane: Mapped[str | None] = mapped_column(sa.String(200))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(default=50)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidates: Mapped[list[TaskCandidate]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                           passive_deletes=True)

    def principals(self, kind: str) -> list[str]:
        """The candidate names of one kind ('group' or 'user'), sorted."""
        prefix = f"{kind}:"
        return sorted(c.principal[len(prefix):] for c in self.candidates if c.principal.startswith(prefix))


class TaskCandidate(Base):
    """Who a task is offered to, one row per principal ('group:Quality', 'user:a@b.cn'), for indexed inbox queries."""

    __tablename__ = "task_candidates"

    task_id: Mapped[str] = mapped_column(sa.ForeignKey("inbox_tasks.id", ondelete="CASCADE"), primary_key=True)
    principal: Mapped[str] = mapped_column(sa.String(300), primary_key=True, index=True)


class Event(Base):
    """The append-only history: one row per thing that happened, numbered per instance.

    Each row's `hash` is its seal, an HMAC under the audit key over its content and `prev_hash`, the seal of the
    instance's previous event (engine.history.sealing), so a row changed, removed or slipped in afterwards breaks the
    chain.
    """

    __tablename__ = "events"
    # the second finds the cases a person worked on (the register's "mine")
    __table_args__ = (sa.UniqueConstraint("instance_id", "seq"),
                      sa.Index("ix_events_actor_work", "actor_id", "type", "instance_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instances.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))  # None for an instance's first event
    hash: Mapped[str] = mapped_column(sa.String(64))


class AnchorTip(Base):
    """The number and MAC of the last line written to the anchor file (engine.history.anchor), one row: lines cut from
    the end of the file, which leave it consistent in itself, do not match it."""

    __tablename__ = "anchor_tip"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    line: Mapped[int]
    mac: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


def append_only_ddl(table: str) -> tuple[str, ...]:
    """The statements with which PostgreSQL itself refuses to change, remove or truncate a table's rows."""
    return (
        f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{table} are append-only'; END $$",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
    )


def make_append_only(table: sa.Table) -> None:
    """Install `append_only_ddl` whenever create_all makes `table` on PostgreSQL (migrations install it themselves)."""
    for statement in append_only_ddl(table.name):
        ddl = sa.DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves DDL() unannotated
        sa.event.listen(table, "after_create", ddl.execute_if(dialect="postgresql"))


make_append_only(Event.__table__)
APPEND_ONLY_DDL = append_only_ddl("events")  # what migration 0003 installs
