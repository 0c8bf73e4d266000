"""Publish diagrams as immutable, numbered versions per company and process key (and test versions of drafts)."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db import utcnow
from engine.errors import NotFound
from engine.records import ProcessVersion
from engine.specs import CompiledProcess
from engine.validation import check_diagram


def _by_content(session: Session, company_id: int, compiled: CompiledProcess) -> ProcessVersion | None:
    return session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == compiled.key,
        ProcessVersion.content_hash == compiled.content_hash))


def publish(session: Session, company_id: int, xml: bytes, user_id: int | None, note: str = "",
            groups: Iterable[str] | None = None) -> ProcessVersion:
    """Validate and publish; the same content published again returns the existing version.

    Content that so far only ran in test runs gets its number now, on the row its test instances use.
    """
    compiled = check_diagram(xml, groups)
    version = _by_content(session, company_id, compiled)
    if version is not None and version.version is not None:
        return version
    if version is None:
        version = ProcessVersion(company_id=company_id, process_key=compiled.key, name=compiled.name,
                                 content_hash=compiled.content_hash, bpmn_xml=xml.decode("utf-8"))
        session.add(version)
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == compiled.key)) or 0
    version.version, version.note, version.published_by_id, version.published_at = latest + 1, note, user_id, utcnow()
    session.flush()
    return version


def trial_version(session: Session, company_id: int, xml: bytes, user_id: int | None,
                 groups: Iterable[str] | None = None) -> ProcessVersion:
    """An unnumbered version of a draft for test runs (or the published one with the same content)."""
    compiled = check_diagram(xml, groups)
    version = _by_content(session, company_id, compiled)
    if version is None:
        version = ProcessVersion(company_id=company_id, process_key=compiled.key, version=None, name=compiled.name,
                                 content_hash=compiled.content_hash, bpmn_xml=xml.decode("utf-8"),
                                 published_by_id=user_id)
        session.add(version)
        session.flush()
    return version


def latest_versions(session: Session, company_id: int) -> list[ProcessVersion]:
    """The newest version of each of the company's procedures."""
    newest = (sa.select(ProcessVersion.process_key, sa.func.max(ProcessVersion.version).label("v"))
              .where(ProcessVersion.company_id == company_id, ProcessVersion.version.is_not(None)).group_by(ProcessVersion.process_key).subquery())
    return list(session.scalars(
        sa.select(ProcessVersion).join(newest, sa.and_(ProcessVersion.process_key == newest.c.process_key,
                                                       ProcessVersion.version == newest.c.v))
        .where(ProcessVersion.company_id == company_id).order_by(ProcessVersion.process_key)))


def latest_version(session: Session, company_id: int, process_key: str) -> ProcessVersion:
    version = session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == process_key,
        ProcessVersion.version.is_not(None)).order_by(ProcessVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound("no_such_procedure", key=process_key)
    return version
