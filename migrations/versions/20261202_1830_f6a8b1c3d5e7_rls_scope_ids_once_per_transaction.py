"""row-level security: the scope's tenant ids once per transaction, not once per statement

Revision ID: f6a8b1c3d5e7
Revises: e4c9d2a7f013
Create Date: 2026-12-02 18:30:00

Every tenant-owned table's policy read the ids of the scope's whole subtree in each statement (an
``ARRAY(SELECT id FROM tenants ...)`` per table in it). For a city of a realistic province (a thousand
unions and more) that was about half a millisecond each time, several times per ledger posting, and it
grows with the tree. The policies now take the ids from ``hardship_scope_ids()``, which reads them once
per transaction and scope (``hardship.core.rls.SCOPE_IDS_FUNCTION``); a change to ``tenants`` clears
them. A written row is checked by its union's path (one index probe per row). The tenants' own
policy reads the scope once per statement instead of once per row. The downgrade puts the old
policies back.
"""
from alembic import op
import sqlalchemy as sa

from hardship.core import rls


# revision identifiers, used by Alembic.
revision = 'f6a8b1c3d5e7'
down_revision = 'e4c9d2a7f013'
branch_labels = None
depends_on = None


def _tables(bind) -> list[str]:
    return [r[0] for r in bind.execute(sa.text(
        "select tablename from pg_policies where policyname = 'tenant_subtree' and tablename <> 'tenants' "
        "order by tablename"))]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    rls.enable_tenants(op)
    for table in _tables(bind):
        rls.enable(op, table)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = "path >= hardship_scope() AND path < hardship_scope() || '~'"
    op.execute("DROP POLICY IF EXISTS tenant_subtree ON tenants")
    op.execute(f"CREATE POLICY tenant_subtree ON tenants USING ({old}) WITH CHECK ({old})")
    for table in _tables(bind):
        clause = f"tenant_id = ANY (ARRAY(SELECT id FROM tenants WHERE {old}))"
        op.execute(f"DROP POLICY IF EXISTS tenant_subtree ON {table}")
        op.execute(f"CREATE POLICY tenant_subtree ON {table} USING ({clause}) WITH CHECK ({clause})")
    op.execute("DROP TRIGGER IF EXISTS tenants_scope_ids_reset ON tenants")
    op.execute("DROP FUNCTION IF EXISTS hardship_scope_ids_reset()")
    op.execute("DROP FUNCTION IF EXISTS hardship_scope_ids()")
