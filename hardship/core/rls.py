"""PostgreSQL row-level security: policies for tenant-owned tables and the runtime role.

Migrations call :func:`enable` for every table that carries ``tenant_id`` (and
:func:`enable_tenants` once for the tree itself). ``hardship init`` calls
:func:`setup_runtime_role` after upgrading. On SQLite all of this is a no-op.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION hardship_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(nullif(current_setting('app.tenant_path', true), ''), '//') $$
"""

#: tables the runtime role may only read and append to
APPEND_ONLY_TABLES: set[str] = {"audit_events", "household_events", "fund_transactions", "fund_entries"}
#: tables the runtime role may not touch at all
PRIVATE_TABLES: set[str] = {"alembic_version"}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _is_pg(op) -> bool:
    return op.get_bind().dialect.name == "postgresql"


#: the subtree as an index range on the C-collated path (see tenants.models): comparisons are
#: leakproof, so the planner uses ix_tenants_path_c under RLS, which it cannot do for LIKE; the scope is
#: read once per statement (an uncorrelated sub-select), not once per row
TENANT_CLAUSE = "path >= (SELECT hardship_scope()) AND path < (SELECT hardship_scope()) || '~'"


def enable_tenants(op) -> None:
    if not _is_pg(op):
        return
    op.execute(SCOPE_FUNCTION)
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("DROP POLICY IF EXISTS tenant_subtree ON tenants")
    op.execute(f"CREATE POLICY tenant_subtree ON tenants USING ({TENANT_CLAUSE}) WITH CHECK ({TENANT_CLAUSE})")


#: The ids of the scope's subtree, computed once per transaction and scope instead of once per statement
#: and table: a city of a whole province holds a thousand unions or more, and reading them took about
#: half a millisecond each time, several times in every ledger posting. The ids are kept in the
#: transaction-local setting ``app.tenant_ids`` as ``<scope path>|{ids}`` (a changed scope computes them
#: again), and any change to ``tenants`` in the transaction clears them (:data:`SCOPE_IDS_RESET`), so a
#: union created, moved or removed in the transaction is in or out of its scope at once.
#:
#: What it costs:
#: - Keeping the setting is a write, which PostgreSQL refuses during a parallel operation, so the function
#:   is PARALLEL UNSAFE: statements on tenant-owned tables run without parallel workers.
#: - A union another transaction creates or moves while this one runs is seen with the ids this
#:   transaction read first, until it ends: its rows stay invisible (or visible) to reads, ``UPDATE``,
#:   ``DELETE`` and ``RETURNING`` here. Only the check of written rows is exact at once
#:   (:func:`policy_clauses`). A request is one short transaction, an import commits every batch, and
#:   the application moves no unions, so the window is that of one transaction and it can only refuse.
#:
#: Trusting the setting is no weaker than trusting ``app.tenant_path`` itself: row-level security here
#: guards against a query that forgot its filter, not against a caller that can run any SQL. Names are
#: qualified with ``public`` (a temporary table cannot stand in for ``tenants``), and the function runs as
#: the caller, so the tenants' own policy applies inside it as before.
SCOPE_IDS_FUNCTION = """
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
"""

#: a change to the tree clears the transaction's ids (a savepoint rolled back restores them with it)
SCOPE_IDS_RESET = (
    "CREATE OR REPLACE FUNCTION hardship_scope_ids_reset() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM set_config('app.tenant_ids', '', true); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS tenants_scope_ids_reset ON tenants",
    "CREATE TRIGGER tenants_scope_ids_reset AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants "
    "FOR EACH STATEMENT EXECUTE FUNCTION hardship_scope_ids_reset()",
)


def policy_clauses(table: str, column: str = "tenant_id") -> tuple[str, str]:
    """``USING`` and ``WITH CHECK`` of a tenant-owned table's policy.

    ``USING`` (rows read, updated or deleted): the row's union is one of the scope's
    (:data:`SCOPE_IDS_FUNCTION`, one uncorrelated sub-select per statement, so an index on ``column`` can
    use the ids). ``WITH CHECK`` (rows written): the row's union, found by its key, lies inside the scope's
    path range: one index probe per written row and no ids to read, exact even for a union another
    transaction created since the ids were read."""
    assert _IDENT.match(table) and _IDENT.match(column)
    among = f"{column} = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.{column} "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return among, exact


def enable(op, table: str, column: str = "tenant_id") -> None:
    """Enable RLS on ``table``: a row is visible and writable only inside the scope's subtree
    (:func:`policy_clauses`; the functions they call are created here, so any migration can call it)."""
    if not _is_pg(op):
        return
    using, check = policy_clauses(table, column)
    op.execute(SCOPE_IDS_FUNCTION)
    for statement in SCOPE_IDS_RESET:
        op.execute(statement)
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_subtree ON {table}")
    op.execute(f"CREATE POLICY tenant_subtree ON {table} USING ({using}) WITH CHECK ({check})")


def setup_runtime_role(conn, role: str) -> None:
    """Create the runtime role (no login, no superuser, no BYPASSRLS) and grant it the tables."""
    if conn.dialect.name != "postgresql":
        return
    assert _IDENT.match(role), role
    conn.execute(sa.text(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$"
    ))
    is_super = conn.execute(sa.text("select rolsuper from pg_roles where rolname = current_user")).scalar()
    if not is_super:
        conn.execute(sa.text(f"GRANT {role} TO current_user"))
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_scope() TO {role}"))
    if conn.execute(sa.text("select to_regprocedure('hardship_scope_ids()') is not null")).scalar():
        conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_scope_ids() TO {role}"))
    if conn.execute(sa.text("select to_regprocedure('hardship_change_lots(bigint, json)') is not null")).scalar():
        conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_change_lots(bigint, json) TO {role}"))  # postings
    for table in sorted(APPEND_ONLY_TABLES):
        conn.execute(sa.text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    for table in sorted(PRIVATE_TABLES):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM {role}"))
