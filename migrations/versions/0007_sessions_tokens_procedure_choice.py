"""Server-side sessions, API tokens that are named, used and revoked, and each user's last registration procedure

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import db  # noqa: F401 - column types such as db.UTCDateTime


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', db.UTCDateTime(), nullable=True),
    sa.Column('ended_by', sa.String(length=20), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('digest', name=op.f('uq_user_sessions_digest'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    # Plain ADD COLUMN (no batch): SQLite would rebuild `users`, which other tables' foreign keys refer to.
    op.add_column('api_tokens', sa.Column('name', sa.String(length=100), server_default='', nullable=False))
    op.add_column('api_tokens', sa.Column('last_used_at', db.UTCDateTime(), nullable=True))
    op.add_column('api_tokens', sa.Column('revoked_at', db.UTCDateTime(), nullable=True))
    op.add_column('users', sa.Column('last_procedure', sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column('users', 'last_procedure')  # SQLite 3.35+ drops a column in place
    op.drop_column('api_tokens', 'revoked_at')
    op.drop_column('api_tokens', 'last_used_at')
    op.drop_column('api_tokens', 'name')

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
