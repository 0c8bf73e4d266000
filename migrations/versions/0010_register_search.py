"""register search and keyset pages: an index in the register's order; pg_trgm / FTS5 trigram search

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-08 01:00:00.000000

The index (company_id, registered_at, id) serves the register's pages, newest first, by keyset. The search is kept
by the database and lives outside the models (complaints.models.SEARCH_DDL): on PostgreSQL the pg_trgm extension
and a GIN index over the searched columns; on SQLite an FTS5 trigram table filled from the complaints already there
and kept in step by triggers.
"""
from alembic import op

from complaints.models import SEARCH_DDL, SEARCH_DROP


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_complaints_company_registered', 'complaints', ['company_id', 'registered_at', 'id'],
                    unique=False)
    for statement in SEARCH_DDL.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in SEARCH_DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_index('ix_complaints_company_registered', table_name='complaints')
