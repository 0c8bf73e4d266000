"""business calendars per company (a company without one works on mainland China's calendar)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:21:20.765627

"""
from alembic import op
import sqlalchemy as sa

import db  # noqa: F401 - column types such as db.UTCDateTime


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('updated_at', db.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_calendars_company_id_companies')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_calendars_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars')),
    sa.UniqueConstraint('company_id', 'name', name=op.f('uq_calendars_company_id_name'))
    )


def downgrade():
    op.drop_table('calendars')
