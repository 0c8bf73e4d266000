"""case views: who opened which page of a case; append-only on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:24:44.385751

"""
from alembic import op
import sqlalchemy as sa

import db  # noqa: F401 - column types such as db.UTCDateTime
from engine.records import append_only_ddl


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=32), nullable=False),
    sa.Column('at', db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_case_views_company_id_companies')),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name=op.f('fk_case_views_instance_id_instances')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_views_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_views'))
    )
    with op.batch_alter_table('case_views', schema=None) as batch_op:
        batch_op.create_index('ix_case_views_instance_at', ['instance_id', 'at'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in append_only_ddl('case_views'):
            op.execute(statement)


def downgrade():
    op.drop_table('case_views')  # its index and triggers go with it
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION case_views_append_only()')
