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
#: leakproof, so the planner uses ix_tenants_path_c under RLS, which it cannot do for LIKE
TENANT_CLAUSE = "path >= hardship_scope() AND path < hardship_scope() || '~'"


def enable_tenants(op) -> None:
    if not _is_pg(op):
        return
    op.execute(SCOPE_FUNCTION)
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("DROP POLICY IF EXISTS tenant_subtree ON tenants")
    op.execute(f"CREATE POLICY tenant_subtree ON tenants USING ({TENANT_CLAUSE}) WITH CHECK ({TENANT_CLAUSE})")


def enable(op, table: str, column: str = "tenant_id") -> None:
    """Enable RLS on ``table``: a row is visible and writable only inside the scope's subtree.
    The scope's tenant ids are computed once per statement (an uncorrelated ARRAY sub-select)."""
    if not _is_pg(op):
        return
    assert _IDENT.match(table) and _IDENT.match(column)
    clause = f"{column} = ANY (ARRAY(SELECT id FROM tenants WHERE {TENANT_CLAUSE}))"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_subtree ON {table}")
    op.execute(f"CREATE POLICY tenant_subtree ON {table} USING ({clause}) WITH CHECK ({clause})")


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
    if conn.execute(sa.text("select to_regprocedure('hardship_change_lots(bigint, json)') is not null")).scalar():
        conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_change_lots(bigint, json) TO {role}"))  # postings
    for table in sorted(APPEND_ONLY_TABLES):
        conn.execute(sa.text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    for table in sorted(PRIVATE_TABLES):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM {role}"))
