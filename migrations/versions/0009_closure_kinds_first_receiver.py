"""How each complaint closed (normal, invalid, abnormal) and its first receiver (首问负责); an index for "mine"

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 01:00:00

Existing complaints: the first receiver is whoever started the case (its `instance_started` event's actor), where
there is one. A closed complaint's closure is read from the end event it closed at, as the shipped procedures name
them (end_invalid: invalid; end_abnormal and end_unreachable: abnormal); any other end is a normal closure. Diagrams
published before this revision carry no `closure` property, so the end event's id is all there is to go by.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

complaints = sa.table('complaints', sa.column('id', sa.Integer()), sa.column('instance_id', sa.Integer()),
                      sa.column('first_receiver_id', sa.Integer()), sa.column('closure', sa.String()))
instances = sa.table('instances', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
                     sa.column('end_element', sa.String()))
events = sa.table('events', sa.column('instance_id', sa.Integer()), sa.column('type', sa.String()),
                  sa.column('actor_id', sa.Integer()))
CLOSED_AS = {'end_invalid': 'invalid', 'end_abnormal': 'abnormal', 'end_unreachable': 'abnormal'}


def upgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_receiver_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closure', sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_complaints_first_receiver_id_users'), 'users',
                                    ['first_receiver_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_complaints_first_receiver_id'), ['first_receiver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_closure'), ['closure'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_actor_work', ['actor_id', 'type', 'instance_id'], unique=False)

    fill(op.get_bind())


def fill(connection: sa.Connection) -> None:
    """Existing complaints: the first receiver is who started the case; a closed one's closure by its end event."""
    starter = (sa.select(events.c.actor_id)
               .where(events.c.instance_id == complaints.c.instance_id, events.c.type == 'instance_started')
               .limit(1).scalar_subquery())
    connection.execute(complaints.update().where(complaints.c.first_receiver_id.is_(None))
                       .values(first_receiver_id=starter))
    end = (sa.select(instances.c.end_element).where(instances.c.id == complaints.c.instance_id)
           .scalar_subquery())
    closed = sa.exists().where(instances.c.id == complaints.c.instance_id, instances.c.status == 'completed')
    connection.execute(complaints.update().where(closed, complaints.c.closure.is_(None)).values(
        closure=sa.case(*((end == element, kind) for element, kind in CLOSED_AS.items()), else_='normal')))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_actor_work')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_closure'))
        batch_op.drop_index(batch_op.f('ix_complaints_first_receiver_id'))
        batch_op.drop_constraint(batch_op.f('fk_complaints_first_receiver_id_users'), type_='foreignkey')
        batch_op.drop_column('closure')
        batch_op.drop_column('first_receiver_id')
