"""tenant path as a C-collated range

Revision ID: a51e9b115a62
Revises: c3e63f518811
Create Date: 2026-11-22 03:12:46.455939

"""
from alembic import op
import sqlalchemy as sa

import hardship.core.db
from hardship.core import rls


# revision identifiers, used by Alembic.
revision = 'a51e9b115a62'
down_revision = 'c3e63f518811'
branch_labels = None
depends_on = None


def upgrade():
    """Subtree = index range on a byte-ordered path; RLS policies rewritten to use it."""
    bind = op.get_bind()
    tables = []
    if bind.dialect.name == "postgresql":
        tables = [r[0] for r in bind.execute(sa.text(
            "select tablename from pg_policies where policyname = 'tenant_subtree' and tablename <> 'tenants'"))]
        for table in tables + ["tenants"]:
            op.execute(f"DROP POLICY IF EXISTS tenant_subtree ON {table}")
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_index('ix_tenants_path')
    if bind.dialect.name == "postgresql":
        op.execute('ALTER TABLE tenants ALTER COLUMN path TYPE varchar(1024) COLLATE "C"')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.create_index('ix_tenants_path_c', ['path'], unique=False)
    rls.enable_tenants(op)
    for table in tables:
        rls.enable(op, table)


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_index('ix_tenants_path_c')
        batch_op.create_index('ix_tenants_path', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'})
