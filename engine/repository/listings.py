"""Listings of a company's engine rows for its pages: procedure versions, drafts, decision tables and cases.

Every function takes the company and scopes by it with `db.in_company`; none loads stored workflow state it does
not show.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db import in_company
from engine.records import DecisionVersion, Draft, InboxTask, Instance, ProcessVersion

_PUBLISHED = ProcessVersion.version.is_not(None)  # trial versions of test runs have no number


def published_versions(session: Session, company_id: int) -> list[ProcessVersion]:
    """Every published version of every procedure, by procedure, newest first."""
    return list(session.scalars(in_company(sa.select(ProcessVersion), company_id, ProcessVersion).where(_PUBLISHED)
                                .order_by(ProcessVersion.process_key, ProcessVersion.version.desc())))


def procedure_versions(session: Session, company_id: int, key: str) -> dict[int | None, ProcessVersion]:
    """One procedure's published versions by number, newest first."""
    return {v.version: v for v in session.scalars(
        in_company(sa.select(ProcessVersion), company_id, ProcessVersion)
        .where(ProcessVersion.process_key == key, _PUBLISHED).order_by(ProcessVersion.version.desc()))}


def published_numbers(session: Session, company_id: int, key: str) -> list[int]:
    """One procedure's published version numbers, newest first (without loading the diagrams)."""
    return list(session.scalars(in_company(sa.select(ProcessVersion.version), company_id, ProcessVersion)
                                .where(ProcessVersion.process_key == key, _PUBLISHED)
                                .order_by(ProcessVersion.version.desc())))


def versions_by_id(session: Session, company_id: int, ids: Iterable[int | None]) -> list[ProcessVersion]:
    """The company's versions among `ids` (None ignored), oldest number first."""
    wanted = {i for i in ids if i is not None}
    return list(session.scalars(in_company(sa.select(ProcessVersion), company_id, ProcessVersion)
                                .where(ProcessVersion.id.in_(wanted)).order_by(ProcessVersion.version)))


def running_counts(session: Session, company_id: int) -> dict[int, int]:
    """Running cases per version id, in one query."""
    return dict(session.execute(
        in_company(sa.select(Instance.version_id, sa.func.count()), company_id, Instance)
        .where(Instance.status == "running").group_by(Instance.version_id)).all())


def running_on_older_versions(session: Session, target: ProcessVersion) -> list[Instance]:
    """The company's real running cases of the target's procedure on versions older than the target."""
    return list(session.scalars(
        in_company(sa.select(Instance), target.company_id, Instance)
        .join(ProcessVersion, Instance.version_id == ProcessVersion.id)
        .where(Instance.status == "running", Instance.sandbox.is_(False),
               ProcessVersion.process_key == target.process_key, ProcessVersion.version < target.version)
        .order_by(Instance.id)))


def business_keys(session: Session, company_id: int, instance_ids: Iterable[int]) -> dict[int, str]:
    """The business keys (complaint numbers) of the company's cases among `instance_ids`."""
    ids = set(instance_ids)
    if not ids:
        return {}
    return dict(session.execute(
        in_company(sa.select(Instance.id, Instance.business_key), company_id, Instance).where(Instance.id.in_(ids)))
        .all())


def sandbox_instance(session: Session, company_id: int, instance_id: int) -> Instance | None:
    """A test run's case of the company, or None (real cases are not test runs)."""
    return session.scalar(in_company(sa.select(Instance), company_id, Instance)
                          .where(Instance.id == instance_id, Instance.sandbox.is_(True)))


def has_task(session: Session, company_id: int, task_id: str) -> bool:
    """Whether the task is still in the company's inboxes (it leaves them when done)."""
    return session.scalar(in_company(sa.select(InboxTask.id), company_id, InboxTask)
                          .where(InboxTask.id == task_id)) is not None


def bpmn_drafts(session: Session, company_id: int) -> dict[str, Draft]:
    """The company's shared modeler drafts, by procedure key."""
    return {d.key: d for d in session.scalars(in_company(sa.select(Draft), company_id, Draft)
                                              .where(Draft.kind == "bpmn"))}


def decision_versions(session: Session, company_id: int) -> list[DecisionVersion]:
    """Every version of every decision table, by table, newest first."""
    return list(session.scalars(in_company(sa.select(DecisionVersion), company_id, DecisionVersion)
                                .order_by(DecisionVersion.decision_key, DecisionVersion.version.desc())))


def decision_version(session: Session, company_id: int, key: str, number: int) -> DecisionVersion | None:
    """One numbered version of a decision table, or None."""
    return session.scalar(in_company(sa.select(DecisionVersion), company_id, DecisionVersion)
                          .where(DecisionVersion.decision_key == key, DecisionVersion.version == number))
