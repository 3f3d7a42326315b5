"""report filings: a union's reports filed upward, their versions and their append-only decision history

Revision ID: c7d2a9e4f8b1
Revises: 5b7e2f19c4a8
Create Date: 2026-12-06 04:01:00

Frozen text: imports nothing from the application. ``report_filings`` holds one row per version of a union's
report of one form and period (``month`` 0 for an annual form) with its frozen summary (``snapshot``);
``report_filing_events`` is the history of filing, accepting and returning (the runtime role may only append
to it, ``tenants/rls.py``). Both are tenant-owned: row-level security with the ``tenant_subtree`` policy of
the baseline.
"""

import sqlalchemy as sa
from alembic import op

revision = 'c7d2a9e4f8b1'
down_revision = "5b7e2f19c4a8"
branch_labels = None
depends_on = None

TABLES = ("report_filings", "report_filing_events")


def tenant_owned_row_security(table: str) -> tuple[str, str]:
    """The baseline's ``tenant_subtree`` policy, written out for ``table``."""
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({among}) WITH CHECK ({exact})")


def upgrade():
    op.create_table('report_filings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form', sa.String(length=24), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('filed_by_id', sa.Integer(), nullable=True),
        sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('month >= 0 AND month <= 12', name=op.f('ck_report_filings_month_range')),
        sa.CheckConstraint('version >= 1', name=op.f('ck_report_filings_version_positive')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_report_filings_decided_by_id_users')),
        sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_report_filings_filed_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_filings_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_filings')),
        sa.UniqueConstraint('tenant_id', 'form', 'year', 'month', 'version', name=op.f('uq_report_filings_tenant_id_form_year_month_version')),
    )
    with op.batch_alter_table('report_filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_filings_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('report_filing_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('filing_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['filing_id'], ['report_filings.id'],
                                name=op.f('fk_report_filing_events_filing_id_report_filings')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_filing_events_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_filing_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_filing_events')),
    )
    with op.batch_alter_table('report_filing_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_filing_events_filing_id'), ['filing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_filing_events_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in tenant_owned_row_security(table):
                op.execute(statement)


def downgrade():
    op.drop_table('report_filing_events')
    op.drop_table('report_filings')
