"""report filing sheets: a filed version keeps its form (columns and rows) frozen beside its summary

Revision ID: 9f3a6c2e1b7d
Revises: e4b8c1d7a2f6
Create Date: 2026-12-06 06:01:00

Frozen text: imports nothing from the application.

``report_filings.sheet`` holds the report form as filed (SPEC 6.4: a filed version is a frozen snapshot),
among them the columns read from other modules (the campaign's recipients, the desk's kinds, the ledger's
monthly statement and goods flows, the prior year). NULL on the versions filed before: those show their
frozen summary only. The table's grants and row-level security are unchanged (a new column of a table).
"""

import sqlalchemy as sa
from alembic import op

revision = '9f3a6c2e1b7d'
down_revision = "e4b8c1d7a2f6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sheet', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('report_filings', schema=None) as batch_op:
        batch_op.drop_column('sheet')
