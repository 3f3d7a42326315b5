"""row-level security keeps the scope's ids per connection and tree version; a posting's lot changes checked
by the lots' unions, not by the subtree's ids

Revision ID: a7d3e9f1b2c4
Revises: f6a8b1c3d5e7
Create Date: 2026-12-03 07:00:00

1. ``hardship_scope_ids()`` kept the subtree's ids for one transaction: a ledger posting is one
   transaction, so each still read a thousand ids for a city and parsed them again in every statement. It
   now keeps them in the connection's session settings while the tree's version (``tenant_tree_version``,
   set anew by a trigger on every change to ``tenants``) is the one they were read at
   (``hardship.core.rls.SCOPE_IDS_FUNCTION`` and ``TREE_VERSION``).
2. ``hardship_change_lots()`` (a posting's lot changes, see migration b3f1a7c2d8e5) updated ``fund_lots``
   under its policy: two parses of the subtree's ids per lot (the ``UPDATE`` and the ``SELECT`` policy
   both apply). It now runs as the owner (``SECURITY DEFINER``, so the policy does not apply inside) and
   checks what the policy's ``WITH CHECK`` did itself: each lot's union must lie inside the caller's scope
   (one index probe, in the same ``UPDATE``); a lot outside it raises a row-level security error (under
   the policy it was hidden, and the change failed as a short debit; the posting's statement never asks
   for such a lot, its lookup of the lots runs under the policy). The
   runtime role may still update lots directly under the policy; this function gives it nothing more.
   ``EXECUTE`` is revoked from ``PUBLIC`` (``hardship init`` grants it to the runtime role).

The downgrade restores both as they were.
"""
from alembic import op

from hardship.core import rls


# revision identifiers, used by Alembic.
revision = 'a7d3e9f1b2c4'
down_revision = 'f6a8b1c3d5e7'
branch_labels = None
depends_on = None

_CHANGES = """ROWS FROM (json_to_recordset(changes) AS (
                    tenant integer, source varchar, year integer, delta bigint, received bigint,
                    allocated_in bigint, returned_in bigint, allocated_out bigint, disbursed bigint,
                    returned_out bigint)) WITH ORDINALITY AS x"""
_SET = """balance = balance + c.delta,
                    received = received + c.received, allocated_in = allocated_in + c.allocated_in,
                    returned_in = returned_in + c.returned_in, allocated_out = allocated_out - c.allocated_out,
                    disbursed = disbursed - c.disbursed, returned_out = returned_out - c.returned_out"""

CHANGE_LOTS = f"""
        CREATE OR REPLACE FUNCTION hardship_change_lots(posting bigint, changes json) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            c record;
            scope_path text := public.hardship_scope();
        BEGIN
            IF posting IS NULL THEN
                RETURN 0;
            END IF;
            FOR c IN SELECT x.* FROM {_CHANGES}
                    ORDER BY x.ordinality
            LOOP
                UPDATE public.fund_lots SET {_SET}
                WHERE tenant_id = c.tenant AND source = c.source AND fiscal_year = c.year
                  AND balance + c.delta >= 0
                  AND EXISTS (SELECT 1 FROM public.tenants AS t WHERE t.id = c.tenant
                              AND t.path >= scope_path AND t.path < scope_path || '~');
                IF NOT FOUND THEN
                    IF NOT EXISTS (SELECT 1 FROM public.tenants AS t WHERE t.id = c.tenant
                                   AND t.path >= scope_path AND t.path < scope_path || '~') THEN
                        RAISE EXCEPTION USING ERRCODE = '42501',
                            MESSAGE = 'new row violates row-level security policy for table "fund_lots"';
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'hardship: not enough money in a lot';
                END IF;
            END LOOP;
            RETURN 1;
        END
        $$
"""

#: as migration b3f1a7c2d8e5 made it (under the caller's privileges and the lots' policy)
OLD_CHANGE_LOTS = f"""
        CREATE OR REPLACE FUNCTION hardship_change_lots(posting bigint, changes json) RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
            c record;
        BEGIN
            IF posting IS NULL THEN
                RETURN 0;
            END IF;
            FOR c IN SELECT x.* FROM {_CHANGES}
                    ORDER BY x.ordinality
            LOOP
                UPDATE fund_lots SET {_SET}
                WHERE tenant_id = c.tenant AND source = c.source AND fiscal_year = c.year
                  AND balance + c.delta >= 0;
                IF NOT FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'hardship: not enough money in a lot';
                END IF;
            END LOOP;
            RETURN 1;
        END
        $$
"""

#: as migration f6a8b1c3d5e7 made them: the ids kept for one transaction, cleared by a change to tenants
OLD_SCOPE_IDS = (
    """
CREATE OR REPLACE FUNCTION hardship_scope_ids() RETURNS integer[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS
$$
DECLARE
    scope_path text := public.hardship_scope();
    cached text := current_setting('app.tenant_ids', true);
    ids integer[];
BEGIN
    IF cached IS NOT NULL AND split_part(cached, '|', 1) = scope_path THEN
        RETURN CAST(split_part(cached, '|', 2) AS integer[]);
    END IF;
    ids := ARRAY(SELECT tenants.id FROM public.tenants
                 WHERE tenants.path >= scope_path AND tenants.path < scope_path || '~');
    PERFORM set_config('app.tenant_ids', scope_path || '|' || CAST(ids AS text), true);
    RETURN ids;
END
$$
""",
    "CREATE OR REPLACE FUNCTION hardship_scope_ids_reset() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM set_config('app.tenant_ids', '', true); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS tenants_scope_ids_reset ON tenants",
    "CREATE TRIGGER tenants_scope_ids_reset AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants "
    "FOR EACH STATEMENT EXECUTE FUNCTION hardship_scope_ids_reset()",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        # the model's table, unused on SQLite (tests compare the models with the migrated schema)
        op.execute(rls.TREE_VERSION_TABLE)
        return
    for statement in rls.TREE_VERSION:
        op.execute(statement)
    op.execute(rls.SCOPE_IDS_FUNCTION)
    op.execute(CHANGE_LOTS)
    op.execute("REVOKE EXECUTE ON FUNCTION hardship_change_lots(bigint, json) FROM PUBLIC")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS tenant_tree_version")
        return
    op.execute(OLD_CHANGE_LOTS)
    op.execute("GRANT EXECUTE ON FUNCTION hardship_change_lots(bigint, json) TO PUBLIC")
    for statement in OLD_SCOPE_IDS:
        op.execute(statement)
    op.execute("DROP TRIGGER IF EXISTS tenants_tree_changed ON tenants")
    op.execute("DROP FUNCTION IF EXISTS hardship_tree_changed()")
    op.execute("DROP FUNCTION IF EXISTS hardship_tree_changed_now()")
    op.execute("DROP TABLE IF EXISTS tenant_tree_version")
    op.execute("DROP SEQUENCE IF EXISTS tenant_tree_version_seq")
