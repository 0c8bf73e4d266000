"""Shared drafts of procedures and decision tables: a save based on an older revision is refused, never merged."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import utcnow
from engine.errors import Conflict
from engine.records import Draft
from engine.repository.xmlload import load_xml


class DraftConflict(Conflict):
    """Someone saved the draft after the revision the editor started from: who, when, and its revision now."""

    def __init__(self, draft: Draft) -> None:
        super().__init__("draft_saved_by", user_id=draft.saved_by_id, saved_at=draft.saved_at.isoformat())
        self.saved_by_id, self.saved_at, self.revision = draft.saved_by_id, draft.saved_at, draft.revision


def get_draft(session: Session, company_id: int, kind: str, key: str, lock: bool = False) -> Draft | None:
    query = sa.select(Draft).where(Draft.company_id == company_id, Draft.kind == kind, Draft.key == key)
    return session.scalar(query.with_for_update() if lock else query)


def save_draft(session: Session, company_id: int, kind: str, key: str, xml: str, base_revision: int,
               user_id: int | None) -> Draft:
    """Store the editor's diagram as the next revision, if nobody saved since `base_revision`.

    The XML must load safely (size, encoding, no DTD); it need not be a valid procedure yet.
    """
    load_xml(xml.encode("utf-8"))
    draft = get_draft(session, company_id, kind, key, lock=True)
    if draft is None:
        if base_revision:
            raise Conflict("draft_gone")
        return _create(session, company_id, kind, key, xml, user_id)
    if draft.revision != base_revision:
        raise DraftConflict(draft)
    draft.xml, draft.revision, draft.saved_by_id, draft.saved_at = xml, draft.revision + 1, user_id, utcnow()
    session.flush()
    return draft


def _create(session: Session, company_id: int, kind: str, key: str, xml: str, user_id: int | None) -> Draft:
    """The first save; two owners saving a new draft at once: the second is told who won."""
    draft = Draft(company_id=company_id, kind=kind, key=key, xml=xml, revision=1, saved_by_id=user_id,
                  saved_at=utcnow())
    try:
        with session.begin_nested():
            session.add(draft)
    except IntegrityError:  # the winner's draft, unless it was discarded since
        winner = get_draft(session, company_id, kind, key)
        raise (DraftConflict(winner) if winner else Conflict("draft_gone")) from None
    return draft


def discard_draft(session: Session, company_id: int, kind: str, key: str) -> None:
    """Publishing ends a draft: the next edit starts from the new version."""
    session.execute(sa.delete(Draft).where(Draft.company_id == company_id, Draft.kind == kind, Draft.key == key))
