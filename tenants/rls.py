"""PostgreSQL's runtime role: ``hardship init`` sets it up after upgrading (on SQLite a no-op).

The row-level security itself (functions, the tree's version and its trigger, a ``tenant_subtree`` policy
on ``tenants`` and on every tenant-owned table) is schema, written out in the migrations (the baseline
explains it); what is here are the runtime role's grants, which name a role the migrations do not know.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

#: tables the runtime role may only read and append to
APPEND_ONLY_TABLES: set[str] = {"audit_events", "household_events", "fund_transactions", "fund_entries",
                                 "goods_movements", "aid_batch_events", "desk_case_events",
                                 "report_filing_events"}
#: tables the runtime role may read only (the tree's version is set by a trigger that runs as the owner)
READ_ONLY_TABLES: set[str] = {"tenant_tree_version", "report_versions"}
#: tables the runtime role may read and append to, but change only through a function that runs as the owner:
#: a lot's balance through the ledger's ``hardship_change_lots`` (``hardship.funds.ledger``). It keeps an UPDATE
#: privilege on ``created_at`` alone, without which PostgreSQL refuses the row locks (``FOR NO KEY UPDATE``) that
#: the disbursement planner takes.
FUNCTION_WRITTEN_TABLES: dict[str, tuple[str, str]] = {"fund_lots": ("hardship_change_lots", "created_at")}
#: append-only tables whose rows the runtime role changes only through a function that runs as the owner and changes
#: nothing but what it is for: the history's encrypted values, re-encrypted by ``rotate-pii`` through
#: ``hardship_reseal_event`` (``hardship.archives.keys``)
APPEND_ONLY_FUNCTIONS: dict[str, str] = {"household_events": "hardship_reseal_event"}
#: tables the runtime role may not touch at all
PRIVATE_TABLES: set[str] = {"alembic_version"}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ensure_runtime_role(conn, role: str) -> None:
    """Create the runtime role (no login, no superuser, no BYPASSRLS) unless the server has it."""
    assert _IDENT.match(role), role
    conn.execute(sa.text(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$"
    ))


def setup_runtime_role(conn, role: str) -> None:
    """Make sure the runtime role exists and grant it the tables."""
    if conn.dialect.name != "postgresql":
        return
    ensure_runtime_role(conn, role)
    is_super = conn.execute(sa.text("select rolsuper from pg_roles where rolname = current_user")).scalar()
    if not is_super:
        conn.execute(sa.text(f"GRANT {role} TO current_user"))
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_scope() TO {role}"))
    if conn.execute(sa.text("select to_regprocedure('hardship_scope_ids()') is not null")).scalar():
        conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION hardship_scope_ids() TO {role}"))
    for table in sorted(APPEND_ONLY_TABLES):
        conn.execute(sa.text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    for table in sorted(READ_ONLY_TABLES):
        if conn.execute(sa.text("select to_regclass(:t) is not null"), {"t": f"public.{table}"}).scalar():
            conn.execute(sa.text(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    for table, (function, lock_column) in sorted(FUNCTION_WRITTEN_TABLES.items()):
        conn.execute(sa.text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
        conn.execute(sa.text(f"GRANT UPDATE ({lock_column}) ON {table} TO {role}"))
        if conn.execute(sa.text("select count(*) from pg_proc where proname = :f"), {"f": function}).scalar():
            conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION {function} TO {role}"))
    for table, function in sorted(APPEND_ONLY_FUNCTIONS.items()):
        assert table in APPEND_ONLY_TABLES, table
        if conn.execute(sa.text("select count(*) from pg_proc where proname = :f"), {"f": function}).scalar():
            conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION {function} TO {role}"))
    if conn.execute(sa.text("select to_regclass('public.tenant_tree_version_seq') is not null")).scalar():
        conn.execute(sa.text(f"REVOKE ALL ON SEQUENCE tenant_tree_version_seq FROM {role}"))  # the trigger's
    for table in sorted(PRIVATE_TABLES):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM {role}"))
