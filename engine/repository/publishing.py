"""Publish diagrams as immutable, numbered versions per company and process key (and test versions of drafts).

A version is pinned to the newest published version of every decision table its business rule tasks call;
its content hash covers the diagram and those tables, so it identifies the cached spec.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db import utcnow
from engine import queries
from engine.errors import NotFound
from engine.jobs import periodic
from engine.records import DecisionVersion, ProcessVersion
from engine.repository.specs import CompiledProcess, content_hash
from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError, Problem


def version_hash(diagram_hash: str, decisions: Sequence[DecisionVersion]) -> str:
    """The diagram's own hash when it calls no decision table, else one over it and the tables' hashes."""
    if not decisions:
        return diagram_hash
    return hashlib.sha256(" ".join([diagram_hash, *sorted(d.content_hash for d in decisions)]).encode()).hexdigest()


def _called_decisions(session: Session, company_id: int, compiled: CompiledProcess) -> list[DecisionVersion]:
    """The newest version of each decision table the diagram calls; refused when one was never published."""
    newest = {d.decision_key: d for d in queries.latest_decisions(session, company_id)}
    problems: list[Problem] = [(task, f"no decision table called {ref} has been published")
                for task, ref in compiled.decision_refs.items() if ref not in newest]
    if problems:
        raise DiagramError(problems)
    return [newest[ref] for ref in sorted(set(compiled.decision_refs.values()))]


def _by_content(session: Session, company_id: int, key: str, digest: str) -> ProcessVersion | None:
    return session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == key,
        ProcessVersion.content_hash == digest))


def _version_row(session: Session, company_id: int, key: str, name: str, xml: str,
                 decisions: list[DecisionVersion], user_id: int | None) -> ProcessVersion:
    """The row for this diagram with these decision tables: the existing one, or a new unnumbered one."""
    digest = version_hash(content_hash(xml.encode("utf-8")), decisions)
    version = _by_content(session, company_id, key, digest)
    if version is None:
        version = ProcessVersion(company_id=company_id, process_key=key, version=None, name=name,
                                 content_hash=digest, bpmn_xml=xml, published_by_id=user_id, decisions=decisions)
        session.add(version)
        session.flush()
    return version


def _number(session: Session, version: ProcessVersion, user_id: int | None, note: str) -> ProcessVersion:
    """Give a version the next number of its procedure (a version that has one keeps it)."""
    if version.version is not None:
        return version
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(
        ProcessVersion.company_id == version.company_id, ProcessVersion.process_key == version.process_key)) or 0
    version.version, version.note, version.published_by_id, version.published_at = latest + 1, note, user_id, utcnow()
    session.flush()
    periodic.schedule(session, version)  # a timer start event: Kesu starts the newest version's cases by itself
    return version


def check(session: Session, company_id: int, xml: bytes,
          groups: Iterable[str] | None = None) -> tuple[CompiledProcess, list[DecisionVersion]]:
    """Everything publishing checks, without writing: the diagram, and the decision tables it calls."""
    compiled = check_diagram(xml, groups)
    return compiled, _called_decisions(session, company_id, compiled)


def publish(session: Session, company_id: int, xml: bytes, user_id: int | None, note: str = "",
            groups: Iterable[str] | None = None) -> ProcessVersion:
    """Validate and publish; the same content published again returns the existing version.

    Content that so far only ran in test runs gets its number now, on the row its test instances use.
    """
    compiled, decisions = check(session, company_id, xml, groups)
    version = _version_row(session, company_id, compiled.key, compiled.name, xml.decode("utf-8"), decisions, user_id)
    return _number(session, version, user_id, note)


def trial_version(session: Session, company_id: int, xml: bytes, user_id: int | None,
                 groups: Iterable[str] | None = None) -> ProcessVersion:
    """An unnumbered version of a draft for test runs (or the published one with the same content)."""
    compiled, decisions = check(session, company_id, xml, groups)
    return _version_row(session, company_id, compiled.key, compiled.name, xml.decode("utf-8"), decisions, user_id)


def pin_decision(session: Session, decision: DecisionVersion, user_id: int | None) -> list[ProcessVersion]:
    """A new version of every procedure whose newest version calls `decision`'s table, pinned to `decision`.

    Cases started from now on use it; running ones stay on the version they started with.
    """
    pinned = []
    for newest in latest_versions(session, decision.company_id):
        called = newest.decisions
        if not any(d.decision_key == decision.decision_key for d in called):
            continue
        decisions = [d for d in called if d.decision_key != decision.decision_key] + [decision]
        row = _version_row(session, decision.company_id, newest.process_key, newest.name, newest.bpmn_xml,
                           decisions, user_id)
        note = f"Decision table {decision.decision_key} updated to version {decision.version}"
        pinned.append(_number(session, row, user_id, note))
    return pinned


def latest_versions(session: Session, company_id: int) -> list[ProcessVersion]:
    """The newest version of each of the company's procedures."""
    newest = (sa.select(ProcessVersion.process_key, sa.func.max(ProcessVersion.version).label("v"))
              .where(ProcessVersion.company_id == company_id, ProcessVersion.version.is_not(None))
              .group_by(ProcessVersion.process_key).subquery())
    return list(session.scalars(
        sa.select(ProcessVersion).join(newest, sa.and_(ProcessVersion.process_key == newest.c.process_key,
                                                       ProcessVersion.version == newest.c.v))
        .where(ProcessVersion.company_id == company_id).order_by(ProcessVersion.process_key)))


def startable_versions(session: Session, company_id: int) -> list[ProcessVersion]:
    """The newest version of each procedure a person starts by hand: not those their own schedule starts."""
    scheduled = set(session.scalars(sa.select(periodic.PeriodicStart.process_key)
                                    .where(periodic.PeriodicStart.company_id == company_id)))
    return [version for version in latest_versions(session, company_id) if version.process_key not in scheduled]


def published_version(session: Session, company_id: int, process_key: str, number: int) -> ProcessVersion:
    """One numbered version of a procedure."""
    version = session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == process_key,
        ProcessVersion.version == number))
    if version is None:
        raise NotFound("no_such_procedure", key=process_key)
    return version


def latest_version(session: Session, company_id: int, process_key: str) -> ProcessVersion:
    version = session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == process_key,
        ProcessVersion.version.is_not(None)).order_by(ProcessVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound("no_such_procedure", key=process_key)
    return version
