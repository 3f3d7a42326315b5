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


#: The ids of the scope's subtree, read from ``tenants`` once per connection and tree, not once per statement
#: and table: a city of a whole province holds a thousand unions or more, and reading them took about half
#: a millisecond each time, several times in every ledger posting (and once per transaction still cost a
#: posting a seventh of its database time). ``hardship_scope_ids()`` keeps them in the session settings
#: ``app.tenant_ids`` (the ids as an array literal) and ``app.tenant_ids_key`` (``<tree version>|<scope
#: path>|``), and uses them while the key is the current one:
#:
#: - the tree version is the one row of ``tenant_tree_version`` (:data:`TREE_VERSION`), which every change
#:   to ``tenants`` (a union created, moved, edited or removed, or the table emptied) sets to a new number
#:   from a sequence. A number never comes back: emptying the table leaves the sequence alone, and every
#:   migration that touches the policies (and a new sequence, after a downgrade) moves it on to the
#:   current time in microseconds, above any number it gave before. A restore that sets the sequence
#:   back (``pg_restore`` into a database in use) needs the application restarted;
#: - the version is read by every call, before the ids, each by a query of its own (which, in a VOLATILE
#:   function under ``READ COMMITTED``, takes a snapshot of its own, possibly newer than the calling
#:   statement's): ids read newer than the version are only ever labelled with an older key, which the
#:   next call finds out of date. A change another transaction committed is seen from this connection's
#:   next statement, a change this transaction made from its own next statement; a change rolled back
#:   takes the settings kept since with it (settings set in a transaction or savepoint that rolls back
#:   are undone), so they match the tree again;
#: - one scope is kept per connection: a connection that serves another scope reads its ids once more.
#:
#: What it costs:
#: - Keeping the settings is a write, which PostgreSQL refuses during a parallel operation, so the function
#:   is PARALLEL UNSAFE: statements on tenant-owned tables run without parallel workers.
#: - Every statement that changes ``tenants`` (even one that changes no row) takes the version's row
#:   lock until its transaction ends: two transactions that change the tree wait for each other, may
#:   deadlock if each then waits for a union the other holds, and under ``REPEATABLE READ`` or
#:   ``SERIALIZABLE`` the second fails with a serialization error. The application changes the tree
#:   rarely, in short ``READ COMMITTED`` transactions (an administrator creating or editing a union).
#: - A tree changed with triggers disabled (``session_replication_role = replica``) is not seen by
#:   connections that kept the ids: set a new version by hand (``SELECT hardship_tree_changed_now()`` as
#:   the owner).
#:
#: The kept list is trusted like ``app.tenant_path``, but for longer: row-level security here guards
#: against a query that forgot its filter, not against a caller that can run any SQL. Such a caller
#: could set either setting; a planted list would then stand for the rest of the connection's life (until
#: the tree changes or the pool recycles the connection), where a planted path lasts one transaction. The
#: runtime role may not write the version (it is set by a trigger that runs as the owner). Names are
#: qualified with ``public`` (a temporary table cannot stand in for ``tenants``), and the function runs as
#: the caller, so the tenants' own policy applies inside it as before; every role may read the version
#: (the function reads it as the caller, so a role without the grant could read no tenant-owned row).
SCOPE_IDS_FUNCTION = """
CREATE OR REPLACE FUNCTION hardship_scope_ids() RETURNS integer[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS
$$
DECLARE
    scope_path text := public.hardship_scope();
    tree bigint := (SELECT v.version FROM public.tenant_tree_version AS v WHERE v.id = 1);
    key text := tree || '|' || scope_path || '|';
    ids integer[];
BEGIN
    IF key IS NOT NULL AND current_setting('app.tenant_ids_key', true) = key THEN
        RETURN CAST(current_setting('app.tenant_ids') AS integer[]);
    END IF;
    ids := ARRAY(SELECT tenants.id FROM public.tenants
                 WHERE tenants.path >= scope_path AND tenants.path < scope_path || '~');
    IF key IS NOT NULL THEN  -- no version row (the table emptied by hand): nothing is kept
        PERFORM set_config('app.tenant_ids', CAST(ids AS text), false);
        PERFORM set_config('app.tenant_ids_key', key, false);
    END IF;
    RETURN ids;
END
$$
"""

#: The tree's version (see :data:`SCOPE_IDS_FUNCTION`): its table and sequence, and the trigger that sets a
#: new number on any change to ``tenants`` (one per statement; it runs as the owner, the runtime role may
#: only read the version).
#: (the table as the model ``tenants.models.TenantTreeVersion`` has it; on SQLite it is made and never used)
TREE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS tenant_tree_version (id SMALLINT NOT NULL, version BIGINT NOT NULL, "
    "CONSTRAINT pk_tenant_tree_version PRIMARY KEY (id), CONSTRAINT ck_tenant_tree_version_one_row CHECK (id = 1))")
TREE_VERSION = (
    TREE_VERSION_TABLE,
    "GRANT SELECT ON tenant_tree_version TO PUBLIC",
    "CREATE SEQUENCE IF NOT EXISTS tenant_tree_version_seq",
    "SELECT setval('tenant_tree_version_seq', greatest(s.last_value, "
    "CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint))) FROM tenant_tree_version_seq AS s",
    "CREATE OR REPLACE FUNCTION hardship_tree_changed_now() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
    "SET search_path = pg_catalog, pg_temp AS "
    "$$ INSERT INTO public.tenant_tree_version AS v (id, version) "
    "VALUES (1, nextval('public.tenant_tree_version_seq')) "
    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version RETURNING v.version $$",
    "CREATE OR REPLACE FUNCTION hardship_tree_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
    "SET search_path = pg_catalog, pg_temp AS "
    "$$ BEGIN PERFORM public.hardship_tree_changed_now(); RETURN NULL; END $$",
    "REVOKE EXECUTE ON FUNCTION hardship_tree_changed_now() FROM PUBLIC",
    "REVOKE EXECUTE ON FUNCTION hardship_tree_changed() FROM PUBLIC",
    "SELECT hardship_tree_changed_now()",
    "DROP TRIGGER IF EXISTS tenants_scope_ids_reset ON tenants",
    "DROP FUNCTION IF EXISTS hardship_scope_ids_reset()",
    "DROP TRIGGER IF EXISTS tenants_tree_changed ON tenants",
    "CREATE TRIGGER tenants_tree_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants "
    "FOR EACH STATEMENT EXECUTE FUNCTION hardship_tree_changed()",
)
#: tables the runtime role may read only
READ_ONLY_TABLES: set[str] = {"tenant_tree_version"}


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
    for statement in TREE_VERSION:
        op.execute(statement)
    op.execute(SCOPE_IDS_FUNCTION)
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
    for table in sorted(READ_ONLY_TABLES):
        if conn.execute(sa.text("select to_regclass(:t) is not null"), {"t": f"public.{table}"}).scalar():
            conn.execute(sa.text(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    if conn.execute(sa.text("select to_regclass('public.tenant_tree_version_seq') is not null")).scalar():
        conn.execute(sa.text(f"REVOKE ALL ON SEQUENCE tenant_tree_version_seq FROM {role}"))  # the trigger's
    for table in sorted(PRIVATE_TABLES):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM {role}"))
