"""ledger: hardship_change_lots(), a posting's lot changes inside its rows statement

Revision ID: b3f1a7c2d8e5
Revises: 7c1f0e2b9d44
Create Date: 2026-12-02 14:00:00

A posting on PostgreSQL is one statement (``hardship.funds.operations._rows_statement_pg``): its
transaction, entries and audit event, and, through this function, the change of each lot it touches.
Each change is a plain single-row conditional ``UPDATE`` of its own inside the function (so a posting
that waited for a busy lot rechecks that one row when it gets it, not the whole statement), in the order
the caller gives (the ledger's lock order: union id, source, fiscal year; the array's order, by its
ordinality: SQL does not promise a function's rows in any order otherwise); a debit the balance does not
cover raises ``hardship: not enough money in a lot`` (``operations.SHORT``), which fails the statement and
the transaction around it. ``posting`` is the new transaction's id: null when nothing was written (its
idempotency key or its reversal was taken, or a lot is missing), and then no lot changes.

``changes``: a JSON array of objects with ``tenant``, ``source``, ``year``, ``delta`` (the balance's change)
and one signed amount per running total (the entries' amounts of that category: inflows are added,
outflows subtracted, so each total grows). A new running total needs a new version of this function.
SQLite needs nothing: it runs a posting one statement at a time.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3f1a7c2d8e5'
down_revision = '7c1f0e2b9d44'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION hardship_change_lots(posting bigint, changes json) RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
            c record;
        BEGIN
            IF posting IS NULL THEN
                RETURN 0;
            END IF;
            FOR c IN SELECT x.* FROM ROWS FROM (json_to_recordset(changes) AS (
                    tenant integer, source varchar, year integer, delta bigint, received bigint,
                    allocated_in bigint, returned_in bigint, allocated_out bigint, disbursed bigint,
                    returned_out bigint)) WITH ORDINALITY AS x
                    ORDER BY x.ordinality
            LOOP
                UPDATE fund_lots SET balance = balance + c.delta,
                    received = received + c.received, allocated_in = allocated_in + c.allocated_in,
                    returned_in = returned_in + c.returned_in, allocated_out = allocated_out - c.allocated_out,
                    disbursed = disbursed - c.disbursed, returned_out = returned_out - c.returned_out
                WHERE tenant_id = c.tenant AND source = c.source AND fiscal_year = c.year
                  AND balance + c.delta >= 0;
                IF NOT FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'hardship: not enough money in a lot';
                END IF;
            END LOOP;
            RETURN 1;
        END
        $$
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hardship_change_lots(bigint, json)")
