"""decision tables, drafts, test runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:13:56.134694

"""
from alembic import op
import sqlalchemy as sa

import db  # noqa: F401 - column types such as db.UTCDateTime


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('decision_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('decision_key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('dmn_xml', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_decision_versions_company_id_companies')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_decision_versions_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_versions')),
    sa.UniqueConstraint('company_id', 'decision_key', 'content_hash', name=op.f('uq_decision_versions_company_id_decision_key_content_hash')),
    sa.UniqueConstraint('company_id', 'decision_key', 'version', name=op.f('uq_decision_versions_company_id_decision_key_version'))
    )
    with op.batch_alter_table('decision_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_versions_company_id'), ['company_id'], unique=False)

    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_at', db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_drafts_company_id_companies')),
    sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_drafts_saved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
    sa.UniqueConstraint('company_id', 'kind', 'key', name=op.f('uq_drafts_company_id_kind_key'))
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_company_id'), ['company_id'], unique=False)

    op.create_table('process_version_decisions',
    sa.Column('process_version_id', sa.Integer(), nullable=False),
    sa.Column('decision_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decision_version_id'], ['decision_versions.id'], name=op.f('fk_process_version_decisions_decision_version_id_decision_versions')),
    sa.ForeignKeyConstraint(['process_version_id'], ['process_versions.id'], name=op.f('fk_process_version_decisions_process_version_id_process_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('process_version_id', 'decision_version_id', name=op.f('pk_process_version_decisions'))
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sandbox', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_instances_sandbox'), ['sandbox'], unique=False)

    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.alter_column('version',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade():
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.alter_column('version',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instances_sandbox'))
        batch_op.drop_column('sandbox')

    op.drop_table('process_version_decisions')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_company_id'))

    op.drop_table('drafts')
    with op.batch_alter_table('decision_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_versions_company_id'))

    op.drop_table('decision_versions')
