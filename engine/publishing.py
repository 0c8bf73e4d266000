"""Publish diagrams as immutable, numbered versions per company and process key."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.records import ProcessVersion
from engine.validation import check_diagram


def publish(session: Session, company_id: int, xml: bytes, user_id: int | None, note: str = "",
            groups: Iterable[str] | None = None) -> ProcessVersion:
    """Validate and publish; the same content published again returns the existing version."""
    compiled = check_diagram(xml, groups)
    existing = session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == compiled.key,
        ProcessVersion.content_hash == compiled.content_hash))
    if existing is not None:
        return existing
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == compiled.key)) or 0
    version = ProcessVersion(
        company_id=company_id, process_key=compiled.key, version=latest + 1, name=compiled.name,
        content_hash=compiled.content_hash, bpmn_xml=xml.decode("utf-8"), note=note, published_by_id=user_id,
    )
    session.add(version)
    session.flush()
    return version


def latest_versions(session: Session, company_id: int) -> list[ProcessVersion]:
    """The newest version of each of the company's procedures."""
    newest = (sa.select(ProcessVersion.process_key, sa.func.max(ProcessVersion.version).label("v"))
              .where(ProcessVersion.company_id == company_id).group_by(ProcessVersion.process_key).subquery())
    return list(session.scalars(
        sa.select(ProcessVersion).join(newest, sa.and_(ProcessVersion.process_key == newest.c.process_key,
                                                       ProcessVersion.version == newest.c.v))
        .where(ProcessVersion.company_id == company_id).order_by(ProcessVersion.process_key)))


def latest_version(session: Session, company_id: int, process_key: str) -> ProcessVersion:
    version = session.scalar(sa.select(ProcessVersion).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == process_key)
        .order_by(ProcessVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound("no_such_procedure", key=process_key)
    return version
