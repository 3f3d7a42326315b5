"""ledger: hardship_refuse(), so that a posting statement can fail on a short debit

Revision ID: 7c1f0e2b9d44
Revises: 425a13891aea
Create Date: 2026-11-22 06:30:00

A posting on PostgreSQL is one statement (``hardship.funds.operations``); when one of its conditional
lot updates finds the balance short, the statement calls this function, which raises, so the whole
statement and the transaction around it fail, and a COMMIT sent with it in the same round trip is never
carried out. SQLite needs nothing: it runs the posting one statement at a time.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c1f0e2b9d44'
down_revision = '425a13891aea'
branch_labels = None
depends_on = None


def upgrade():
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


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hardship_refuse(text)")
