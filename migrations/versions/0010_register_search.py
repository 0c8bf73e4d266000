"""register search and keyset pages: an index in the register's order; pg_trgm / FTS5 trigram search

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 01:00:00.000000

The index (company_id, registered_at, id) serves the register's pages, newest first, by keyset. The search is kept
by the database and lives outside the models (complaints.models.install_search): on PostgreSQL the pg_trgm extension
and a GIN index over the searched columns; on SQLite an FTS5 trigram table filled from the complaints already there
and kept in step by triggers.
"""
from alembic import op

from complaints.models import drop_search, install_search


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_complaints_company_registered', 'complaints', ['company_id', 'registered_at', 'id'],
                    unique=False)
    install_search(op.get_bind())


def downgrade():
    drop_search(op.get_bind())
    op.drop_index('ix_complaints_company_registered', table_name='complaints')
