"""ledger: drop hardship_refuse(), which no posting calls any more

Revision ID: e4c9d2a7f013
Revises: b3f1a7c2d8e5
Create Date: 2026-12-02 18:00:00

Since b3f1a7c2d8e5 a short debit raises inside ``hardship_change_lots()``; nothing calls
``hardship_refuse()`` (7c1f0e2b9d44). The downgrade puts it back as it was.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4c9d2a7f013'
down_revision = 'b3f1a7c2d8e5'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hardship_refuse(text)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION hardship_refuse(reason text) RETURNS integer
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
        END
        $$
    """)
