"""event hash chain; append-only events on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import db
from engine.history.sealing import chain, legacy_hash
from engine.records import APPEND_ONLY_DDL


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The tables as this revision knows them, typed so hashes see what verify reads back (aware UTC times, JSON data).
events = sa.table('events', sa.column('id', sa.Integer()), sa.column('company_id'), sa.column('instance_id'),
                  sa.column('seq'), sa.column('type'), sa.column('actor_id'), sa.column('element_id'),
                  sa.column('task_id'), sa.column('at', db.UTCDateTime()), sa.column('data', sa.JSON()),
                  sa.column('prev_hash', sa.String()), sa.column('hash', sa.String()))
instances = sa.table('instances', sa.column('id', sa.Integer()), sa.column('event_head', sa.String()))


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_head', sa.String(length=64), nullable=True))

    _chain_existing_events()
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in APPEND_ONLY_DDL:
            op.execute(statement)


def _chain_existing_events():
    """Hash the history written before the chain existed, one instance at a time, so verify passes at once."""
    connection = op.get_bind()
    for instance_id in connection.scalars(sa.select(instances.c.id).order_by(instances.c.id)).all():
        rows = [dict(row._mapping) for row in connection.execute(
            sa.select(events).where(events.c.instance_id == instance_id).order_by(events.c.seq))]
        if not rows:
            continue
        head = chain(legacy_hash, None, rows)
        connection.execute(events.update().where(events.c.id == sa.bindparam('row_id'))
                           .values(prev_hash=sa.bindparam('row_prev_hash'), hash=sa.bindparam('row_hash')),
                           [{'row_id': r['id'], 'row_prev_hash': r['prev_hash'], 'row_hash': r['hash']}
                            for r in rows])
        connection.execute(instances.update().where(instances.c.id == instance_id).values(event_head=head))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER events_no_truncate ON events')
        op.execute('DROP TRIGGER events_append_only ON events')
        op.execute('DROP FUNCTION events_append_only()')

    # SQLite drops the column in place: recreating `instances` would mean dropping a table others reference
    with op.batch_alter_table('instances', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('event_head')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
