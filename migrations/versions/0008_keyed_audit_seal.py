"""keyed audit seals: re-seal every event with HMAC-SHA-256 under the audit key; the anchor's tip

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00.000000

The key comes from the app's configuration (KESU_AUDIT_KEY or instance/audit_key), so it must be in place before
upgrading. Events are read in (instance, seq) order a chunk at a time. Each case's unkeyed chain is checked first:
an intact case is re-sealed whole with a new head; a case whose history is already broken is re-sealed only up to
the event before the break, and that event and the rest keep their old seals and the old head, so verification
still names the same event. Nothing is refused and nothing broken becomes intact: the upgrade logs the broken
cases. Downgrading re-seals the same way with the unkeyed SHA-256. On PostgreSQL the append-only trigger is off
while events are rewritten, inside the migration's transaction.
"""
import logging
from typing import Any, Callable, Iterator, NamedTuple

from alembic import op
import sqlalchemy as sa
from flask import current_app

import db
from engine.history.audit import ChainReport, check_chain
from engine.history.sealing import Mac, chain, legacy_hash


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
CHUNK = 1000  # events read per round trip
NAMED = 20  # broken cases named in the log

# The tables as this revision knows them, typed as verification reads them (aware UTC times, JSON data).
events = sa.table('events', sa.column('id', sa.Integer()), sa.column('company_id'), sa.column('instance_id'),
                  sa.column('seq'), sa.column('type'), sa.column('actor_id'), sa.column('element_id'),
                  sa.column('task_id'), sa.column('at', db.UTCDateTime()), sa.column('data', sa.JSON()),
                  sa.column('prev_hash', sa.String()), sa.column('hash', sa.String()))
instances = sa.table('instances', sa.column('id', sa.Integer()), sa.column('business_key', sa.String()),
                     sa.column('event_count', sa.Integer()), sa.column('event_head', sa.String()))


class Case(NamedTuple):
    id: int
    business_key: str
    event_count: int
    event_head: str | None


def upgrade():
    op.create_table('anchor_tip',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('at', db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anchor_tip'))
    )
    _reseal(_unkeyed, _sealer().mac)


def downgrade():
    _reseal(_sealer().authentic, legacy_hash)
    op.drop_table('anchor_tip')


def _sealer():
    """The app's sealer, built from its configured keys."""
    return current_app.extensions['kesu.engine'].auditor.sealer


def _unkeyed(row: Any) -> bool:
    return row.hash == legacy_hash(row.prev_hash, row._mapping)


def _reseal(authentic: Callable[[Any], bool], mac: Mac) -> None:
    """Re-seal every case's events with `mac`, up to its first event that `authentic` rejects."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute('ALTER TABLE events DISABLE TRIGGER events_append_only')
    broken = [report for case, rows in _cases() if not (report := _reseal_case(case, rows, authentic, mac)).intact]
    if postgresql:
        op.execute('ALTER TABLE events ENABLE TRIGGER events_append_only')
    if broken:
        named = '; '.join(f'#{r.instance_id} ({r.business_key}) at event {r.broken_at} ({r.problem})'
                          for r in broken[:NAMED])
        log.warning('%s cases were already broken and keep their break: %s%s', len(broken), named,
                    f'; and {len(broken) - NAMED} more' if len(broken) > NAMED else '')


def _reseal_case(case: Case, rows: list[sa.Row], authentic: Callable[[Any], bool], mac: Mac) -> ChainReport:
    """Re-seal one case's events before its first break (all of them, and its head, when intact)."""
    report = check_chain(case, rows, authentic)
    sealed = [dict(row._mapping) for row in rows if report.intact or row.seq < report.broken_at]
    head = chain(mac, None, sealed)
    if sealed:
        op.get_bind().execute(
            events.update().where(events.c.id == sa.bindparam('row_id'))
            .values(prev_hash=sa.bindparam('new_prev_hash'), hash=sa.bindparam('new_hash')),
            [{'row_id': r['id'], 'new_prev_hash': r['prev_hash'], 'new_hash': r['hash']} for r in sealed])
    if report.intact:
        op.get_bind().execute(instances.update().where(instances.c.id == case.id).values(event_head=head))
    return report


def _cases() -> Iterator[tuple[Case, list[sa.Row]]]:
    """Each case that has events, with its events in seq order, read CHUNK at a time after the last one read."""
    query = (sa.select(events, instances.c.business_key, instances.c.event_count, instances.c.event_head)
             .join(instances, instances.c.id == events.c.instance_id)
             .order_by(events.c.instance_id, events.c.seq, events.c.id).limit(CHUNK))
    key = sa.tuple_(events.c.instance_id, events.c.seq, events.c.id)
    case, rows, page = None, [], op.get_bind().execute(query).all()
    while page:
        for row in page:
            if case is not None and row.instance_id != case.id:
                yield case, rows
                case, rows = None, []
            if case is None:
                case = Case(row.instance_id, row.business_key, row.event_count, row.event_head)
            rows.append(row)
        last = page[-1]
        page = op.get_bind().execute(query.where(key > (last.instance_id, last.seq, last.id))).all()
    if case is not None:
        yield case, rows
