"""PostgreSQL row-level security, tested with the application's own filters bypassed.

The ORM safety net and the query helpers in ``tenants.scoping`` are the first two layers;
these tests check the third on its own: plain SQL on a connection that has switched to the
runtime role sees only the subtree named by ``app.tenant_path``, nothing without it, and cannot
write rows outside it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL, IS_PG

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_PG, reason="row-level security needs DATABASE_URL pointing at PostgreSQL"),
]

ROLE = "hardship_app"
C01_SUBTREE = {"C01", "K0101", "K0102", "E0101001"}
C02_SUBTREE = {"C02", "K0201", "E0201001"}
OWNED_TABLES = ("users", "audit_events", "jobs", "tenant_settings")


@pytest.fixture
def owner_engine(committed):
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def data(tree, owner_engine):
    """The ``tree`` plus a job and a setting row in every tenant (written as the owner, which
    bypasses RLS); returns ``{code: id}``."""
    now = datetime.now(UTC)
    with owner_engine.begin() as conn:
        ids = dict(conn.execute(sa.text("select code, id from tenants")).all())
        for tenant_id in ids.values():
            conn.execute(sa.text(
                "insert into jobs (id, name, queue, args, status, progress, result, created_at, tenant_id) "
                "values (:id, 'tests.fake', 'default', '[]', 'queued', 0, '{}', :now, :t)"),
                {"id": str(uuid.uuid4()), "now": now, "t": tenant_id})
            conn.execute(sa.text(
                "insert into tenant_settings (key, value, updated_at, tenant_id) "
                "values ('publicity_days', '7', :now, :t)"), {"now": now, "t": tenant_id})
    assert set(ids) == C01_SUBTREE | C02_SUBTREE | {"P01"}
    return ids


@pytest.fixture
def runtime(owner_engine):
    """A connection that has switched to the runtime role (as every pooled app connection does)."""
    conn = owner_engine.connect()
    conn.execute(sa.text(f"SET ROLE {ROLE}"))
    conn.commit()  # SET ROLE is undone if its transaction rolls back
    assert conn.execute(sa.text("select current_user")).scalar() == ROLE
    conn.rollback()
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _scope(conn, path: str) -> None:
    conn.execute(sa.text("select set_config('app.tenant_path', :p, true)"), {"p": path})


def _codes(conn) -> set[str]:
    return set(conn.execute(sa.text("select code from tenants")).scalars())


def _tenant_ids(conn, table: str) -> list[int]:
    return list(conn.execute(sa.text(f"select tenant_id from {table}")).scalars())


def _owner_ids_by_table(owner_engine) -> dict[str, list[int]]:
    with owner_engine.connect() as conn:
        return {t: _tenant_ids(conn, t) for t in OWNED_TABLES}


def test_scope_shows_only_its_subtree(data, runtime, owner_engine):
    everything = _owner_ids_by_table(owner_engine)
    c01_ids = {data[c] for c in C01_SUBTREE}
    _scope(runtime, "/P01/C01/")
    assert _codes(runtime) == C01_SUBTREE
    for table in OWNED_TABLES:
        seen = _tenant_ids(runtime, table)
        expected = [t for t in everything[table] if t in c01_ids]
        assert expected, f"no {table} rows in C01's subtree to test with"
        assert len(everything[table]) > len(expected), f"no {table} rows outside C01's subtree"
        assert sorted(seen) == sorted(expected), table
    usernames = set(runtime.execute(sa.text("select username from users")).scalars())
    assert usernames == {f"{c.lower()}_all" for c in C01_SUBTREE}
    # joins and aggregates cannot reach around the policy either
    assert runtime.execute(sa.text(
        "select count(*) from users u join tenants t on t.id = u.tenant_id where t.code = 'K0201'")).scalar() == 0
    assert runtime.execute(sa.text(
        "select count(*) from users where tenant_id = :t"), {"t": data["K0201"]}).scalar() == 0


def test_sibling_scope_sees_none_of_the_other_subtree(data, runtime):
    c01_ids = {data[c] for c in C01_SUBTREE}
    _scope(runtime, "/P01/C02/")
    assert _codes(runtime) == C02_SUBTREE
    for table in OWNED_TABLES:
        seen = set(_tenant_ids(runtime, table))
        assert seen, table
        assert not seen & c01_ids, table
        assert seen <= {data[c] for c in C02_SUBTREE}, table


def test_no_scope_sees_nothing(data, runtime):
    assert _codes(runtime) == set()
    for table in OWNED_TABLES:
        assert _tenant_ids(runtime, table) == [], table
    runtime.rollback()
    _scope(runtime, "")  # an empty setting is no scope too
    assert _codes(runtime) == set()
    assert _tenant_ids(runtime, "users") == []


def test_system_scope_sees_everything(data, runtime):
    _scope(runtime, "/")
    assert _codes(runtime) == C01_SUBTREE | C02_SUBTREE | {"P01"}


def test_deeper_scope_sees_only_its_own_subtree(data, runtime):
    _scope(runtime, "/P01/C01/K0101/")
    assert _codes(runtime) == {"K0101", "E0101001"}


def _insert_user(conn, tenant_id: int, username: str) -> None:
    conn.execute(sa.text(
        "insert into users (username, display_name, password_hash, roles, active, failed_logins, "
        "session_stamp, created_at, tenant_id) values (:u, '', 'x', 'clerk', true, 0, 'x', :now, :t)"),
        {"u": username, "now": datetime.now(UTC), "t": tenant_id})


def test_insert_outside_scope_is_refused(data, runtime):
    _scope(runtime, "/P01/C01/")
    _insert_user(runtime, data["K0101"], "inside_scope")  # inside: allowed
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        with runtime.begin_nested():
            _insert_user(runtime, data["K0201"], "outside_scope")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        with runtime.begin_nested():
            runtime.execute(sa.text(
                "insert into tenants (code, name, level, parent_id, path, depth, active, created_at) "
                "values ('K0299', 'x', 'county', :p, '/P01/C02/K0299/', 2, true, :now)"),
                {"p": data["C02"], "now": datetime.now(UTC)})
    runtime.rollback()


def test_update_cannot_move_a_row_out_of_scope(data, runtime):
    _scope(runtime, "/P01/C01/")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        runtime.execute(sa.text("update users set tenant_id = :t where username = 'k0101_all'"),
                        {"t": data["K0201"]})
    runtime.rollback()
    _scope(runtime, "/P01/C01/")
    # rows outside the scope are invisible to UPDATE and DELETE: nothing happens
    assert runtime.execute(sa.text("update users set display_name = 'x' where username = 'k0201_all'")).rowcount == 0
    assert runtime.execute(sa.text("delete from jobs where tenant_id = :t"), {"t": data["K0201"]}).rowcount == 0
    runtime.rollback()


def test_scope_is_transaction_local(data, runtime):
    pid = runtime.execute(sa.text("select pg_backend_pid()")).scalar()
    runtime.rollback()
    _scope(runtime, "/P01/C01/")
    assert _codes(runtime) == C01_SUBTREE
    runtime.commit()
    # the same connection (the same server session), a new transaction: no scope, no rows
    assert runtime.execute(sa.text("select pg_backend_pid()")).scalar() == pid
    assert runtime.execute(sa.text("select current_setting('app.tenant_path', true)")).scalar() in ("", None)
    assert _codes(runtime) == set()
    assert _tenant_ids(runtime, "users") == []
    runtime.rollback()
    _scope(runtime, "/P01/C02/")
    runtime.rollback()  # a rolled-back scope is gone too
    assert _codes(runtime) == set()


def _new_tenant(conn, code: str, parent_id: int, path: str) -> int:
    return conn.execute(sa.text(
        "insert into tenants (code, name, level, parent_id, path, depth, active, created_at) "
        "values (:c, 'x', 'enterprise', :p, :path, 3, true, :now) returning id"),
        {"c": code, "p": parent_id, "path": path, "now": datetime.now(UTC)}).scalar()


def _kept(conn) -> tuple[str, str]:
    """The ids the connection keeps, and their key (tree version|scope|)."""
    return tuple(conn.execute(sa.text(
        "select current_setting('app.tenant_ids_key', true), current_setting('app.tenant_ids', true)")).one())


def _scope_ids(conn) -> set[int]:
    return set(conn.execute(sa.text("select unnest(hardship_scope_ids())")).scalars())


def _tree_version(conn) -> int:
    return conn.execute(sa.text("select version from tenant_tree_version")).scalar()


def test_the_scope_ids_follow_the_scope_and_the_tree_within_a_transaction(data, runtime):
    """A changed scope, a union created in the transaction and a savepoint rolled back are all seen at once."""
    _scope(runtime, "/P01/C01/")
    assert set(_tenant_ids(runtime, "jobs")) == {data[c] for c in C01_SUBTREE}  # the ids are read here
    key, ids = _kept(runtime)
    assert key == f"{_tree_version(runtime)}|/P01/C01/|" and ids.startswith("{")
    _scope(runtime, "/P01/C02/")
    assert set(_tenant_ids(runtime, "jobs")) == {data[c] for c in C02_SUBTREE}
    _scope(runtime, "/P01/C01/K0101/")
    assert set(_tenant_ids(runtime, "jobs")) == {data["K0101"], data["E0101001"]}  # read for this scope
    version = _tree_version(runtime)
    new = _new_tenant(runtime, "E0101099", data["K0101"], "/P01/C01/K0101/E0101099/")
    assert _tree_version(runtime) > version  # the tree has a new version in this transaction
    # a row of the new union, written and read back in the same statement (RETURNING needs USING too)
    assert runtime.execute(sa.text(
        "insert into tenant_settings (key, value, updated_at, tenant_id) values ('publicity_days', '3', now(), :t) "
        "returning tenant_id"), {"t": new}).scalar() == new
    assert new in _tenant_ids(runtime, "tenant_settings")
    before = _kept(runtime)
    assert before[0] == f"{_tree_version(runtime)}|/P01/C01/K0101/|" and new in _scope_ids(runtime)
    with runtime.begin_nested() as savepoint:
        other = _new_tenant(runtime, "E0101097", data["K0101"], "/P01/C01/K0101/E0101097/")
        assert other in _scope_ids(runtime) and _kept(runtime) != before  # a new version: read again
        savepoint.rollback()
    assert _kept(runtime) == before and other not in _scope_ids(runtime)  # rolled back with the union


def test_the_scope_ids_are_kept_across_transactions_until_the_tree_changes(data, runtime, owner_engine):
    """The connection keeps the ids after its transaction ends: a later transaction in the same scope uses
    them as kept (shown by planting a wrong list under the right key), until another connection commits a
    change to the tree; a change it has not committed yet changes nothing."""
    _scope(runtime, "/P01/C01/")
    assert _scope_ids(runtime) == {data[c] for c in C01_SUBTREE}
    runtime.commit()
    key, _ids = _kept(runtime)
    runtime.execute(sa.text("select set_config('app.tenant_ids', :ids, false)"), {"ids": f"{{{data['K0101']}}}"})
    runtime.commit()
    _scope(runtime, "/P01/C01/")
    assert _kept(runtime)[0] == key and _scope_ids(runtime) == {data["K0101"]}  # what was kept, not read again
    runtime.rollback()
    with owner_engine.connect() as other:
        new = _new_tenant(other, "E0101095", data["K0101"], "/P01/C01/K0101/E0101095/")
        _scope(runtime, "/P01/C01/")
        assert _scope_ids(runtime) == {data["K0101"]}  # not committed: the tree this connection sees is unchanged
        other.commit()
        assert _scope_ids(runtime) == {data[c] for c in C01_SUBTREE} | {new}  # committed: read again at once
    runtime.rollback()


def test_the_tree_version_never_comes_back(data, runtime, owner_engine):
    """Emptying the tables (as the tests do between tests) gives the tree a new version, never an old one:
    a connection's kept ids must not match a different tree that happens to reach the same count."""
    _scope(runtime, "/P01/C01/")
    assert _scope_ids(runtime)
    runtime.commit()
    key, _ids = _kept(runtime)
    with owner_engine.begin() as conn:
        conn.execute(sa.text("truncate tenant_tree_version, tenants restart identity cascade"))
        assert _tree_version(conn) > int(key.split("|")[0])
    _scope(runtime, "/P01/C01/")
    assert _scope_ids(runtime) == set()
    runtime.rollback()


def test_the_runtime_role_may_only_read_the_tree_version(data, runtime):
    assert _tree_version(runtime) is not None
    for sql in ("update tenant_tree_version set version = 1", "delete from tenant_tree_version",
                "insert into tenant_tree_version values (2, 1)", "select hardship_tree_changed_now()",
                "select nextval('tenant_tree_version_seq')"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with runtime.begin_nested():
                runtime.execute(sa.text(sql))
    runtime.rollback()


def test_the_owners_functions_are_not_for_everyone(owner_engine, app):
    """``hardship_tree_changed_now`` sets the tree's version and runs as the owner: PUBLIC (every role that can
    connect) may call neither it nor its trigger function, and neither may the runtime role."""
    with owner_engine.connect() as conn:
        acls = dict(conn.execute(sa.text(
            "select proname, coalesce(proacl::text[], '{}') from pg_proc where proname in "
            "('hardship_tree_changed_now', 'hardship_tree_changed')")).all())
        may = {name: conn.execute(sa.text(
            "select has_function_privilege(:r, p.oid, 'EXECUTE') from pg_proc p where proname = :f"),
            {"r": ROLE, "f": name}).scalar() for name in acls}
    assert len(acls) == 2, acls
    for name, acl in acls.items():  # an entry "=X/owner" is PUBLIC's EXECUTE
        assert acl and not any(entry.startswith("=") for entry in acl), (name, acl)
    assert may == {"hardship_tree_changed_now": False, "hardship_tree_changed": False}, may


def test_the_scope_ids_follow_unions_moved_or_removed_in_the_transaction(data, runtime):
    _scope(runtime, "/P01/C01/")
    assert data["E0101001"] in set(_tenant_ids(runtime, "tenant_settings"))  # the ids are read here
    runtime.execute(sa.text("reset role"))  # the owner moves a union to another city, in this transaction
    runtime.execute(sa.text("update tenants set parent_id = :p, path = '/P01/C02/K0201/E0101001/' where id = :t"),
                    {"p": data["K0201"], "t": data["E0101001"]})
    runtime.execute(sa.text(f"set role {ROLE}"))
    assert data["E0101001"] not in set(_tenant_ids(runtime, "tenant_settings"))
    new = _new_tenant(runtime, "E0101096", data["K0101"], "/P01/C01/K0101/E0101096/")
    assert new in set(runtime.execute(sa.text("select unnest(hardship_scope_ids())")).scalars())
    runtime.execute(sa.text("delete from tenants where id = :t"), {"t": new})
    assert new not in set(runtime.execute(sa.text("select unnest(hardship_scope_ids())")).scalars())
    runtime.rollback()


def test_the_scope_ids_are_read_in_a_parallel_plan_too(data, runtime):
    """Keeping the ids is a write, refused during a parallel operation: the function must keep the planner
    from running its statement in parallel (a PARALLEL RESTRICTED one failed with "cannot be set during a
    parallel operation" on a cache miss)."""
    name = "debug_parallel_query" if runtime.execute(sa.text(
        "select count(*) from pg_settings where name = 'debug_parallel_query'")).scalar() else "force_parallel_mode"
    runtime.execute(sa.text(f"set local {name} = on"))
    _scope(runtime, "/P01/C01/")
    assert set(_tenant_ids(runtime, "jobs")) == {data[c] for c in C01_SUBTREE}
    runtime.rollback()


def test_a_union_created_meanwhile_elsewhere_is_seen_from_the_next_statement(data, runtime, owner_engine):
    """Another transaction's new union is seen by this one's next statement once it is committed (the ids
    are read again when the tree's version changes); a row written outside the scope is still refused."""
    _scope(runtime, "/P01/C01/")
    assert _tenant_ids(runtime, "jobs")  # the ids are read
    with owner_engine.begin() as other:
        new = _new_tenant(other, "E0101098", data["K0101"], "/P01/C01/K0101/E0101098/")
    assert runtime.execute(sa.text(
        "insert into tenant_settings (key, value, updated_at, tenant_id) values ('publicity_days', '3', now(), :t) "
        "returning tenant_id"), {"t": new}).scalar() == new
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):  # outside the scope: refused
        with runtime.begin_nested():
            runtime.execute(sa.text("insert into tenant_settings (key, value, updated_at, tenant_id) "
                                    "values ('publicity_days', '3', now(), :t)"), {"t": data["K0201"]})
    assert new in _tenant_ids(runtime, "tenant_settings")
    runtime.rollback()


def test_app_session_raw_sql_is_scoped(app, data):
    """A raw ``text()`` query bypasses the ORM safety net; RLS still limits it."""
    from hardship.core.db import db
    from tenants.scoping import set_scope

    with app.app_context():
        set_scope("/P01/C01/")
        assert db.session.execute(sa.text("select current_user")).scalar() == ROLE
        assert set(db.session.execute(sa.text("select code from tenants")).scalars()) == C01_SUBTREE
        usernames = set(db.session.execute(sa.text("select username from users")).scalars())
        assert usernames == {f"{c.lower()}_all" for c in C01_SUBTREE}
        # changing the scope inside an open transaction applies at once
        set_scope("/P01/C02/")
        assert set(db.session.execute(sa.text("select code from tenants")).scalars()) == C02_SUBTREE
        db.session.commit()
        set_scope(None)
        assert set(db.session.execute(sa.text("select code from tenants")).scalars()) == set()
        db.session.rollback()
    with app.app_context():
        # a new context starts with no scope, whatever the pooled connection ran before
        assert set(db.session.execute(sa.text("select code from tenants")).scalars()) == set()
        assert db.session.execute(sa.text("select count(*) from audit_events")).scalar() == 0
        db.session.rollback()


def _tables_with_tenant_id(conn) -> set[str]:
    return set(conn.execute(sa.text(
        "select c.table_name from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema = 'public' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'"
    )).scalars())


def test_every_tenant_table_has_row_security(app, owner_engine):
    with owner_engine.connect() as conn:
        tables = _tables_with_tenant_id(conn) | {"tenants"}
        assert set(OWNED_TABLES) <= tables
        rls = dict(conn.execute(sa.text(
            "select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind = 'r'")).all())
        policies: dict[str, list] = {}
        for table, qual, check, cmd in conn.execute(sa.text(
                "select tablename, qual, with_check, cmd from pg_policies where schemaname = 'public'")):
            policies.setdefault(table, []).append((qual, check, cmd))
    missing_rls = sorted(t for t in tables if not rls.get(t))
    assert not missing_rls, f"tables without row-level security (their migration must enable it and create the tenant_subtree policy, as the baseline does): {missing_rls}"
    missing_policy = sorted(t for t in tables if not policies.get(t))
    assert not missing_policy, f"tables without a policy: {missing_policy}"
    for table in tables:
        for qual, check, cmd in policies[table]:
            read = "hardship_scope()" if table == "tenants" else "hardship_scope_ids()"
            assert cmd == "ALL" and read in qual and "hardship_scope()" in check, (table, qual, check)


def test_runtime_role_is_unprivileged(app, owner_engine):
    with owner_engine.connect() as conn:
        role = conn.execute(sa.text(
            "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = :r"),
            {"r": ROLE}).one()
        assert tuple(role) == (False, False, False, False)
        owners = dict(conn.execute(sa.text(
            "select tablename, tableowner from pg_tables where schemaname = 'public'")).all())
        assert owners and ROLE not in owners.values(), owners
        # not even by membership: owning a table through a role also bypasses RLS
        owned_via = conn.execute(sa.text(
            "select count(*) from pg_tables t where schemaname = 'public' "
            "and pg_has_role(:r, t.tableowner, 'USAGE')"), {"r": ROLE}).scalar()
        assert owned_via == 0
    with app.app_context():
        from hardship.core.db import db

        assert db.session.execute(sa.text("select current_user")).scalar() == ROLE
        db.session.rollback()


def test_runtime_role_cannot_rewrite_the_audit_log(data, runtime):
    _scope(runtime, "/")
    assert runtime.execute(sa.text("select count(*) from audit_events")).scalar() > 0
    for statement in ("update audit_events set action = 'forged'", "delete from audit_events",
                      "truncate audit_events", "select count(*) from alembic_version"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with runtime.begin_nested():
                runtime.execute(sa.text(statement))
    # appending is allowed
    runtime.execute(sa.text(
        "insert into audit_events (at, action, object_type, detail, tenant_id) "
        "values (now(), 'test.append', 'tenant', '{}', :t)"), {"t": data["C01"]})
    runtime.rollback()


def test_api_tokens_of_another_union_are_out_of_reach(data, runtime, owner_engine):
    """A token belongs to its user's union: a scope sees its own subtree's tokens only and cannot write one
    for a union outside it."""
    with owner_engine.begin() as conn:
        outsider = conn.execute(sa.text("select id from users where username = 'k0201_all'")).scalar()
        for code in ("K0101", "K0201"):
            conn.execute(sa.text(
                "insert into api_tokens (user_id, tenant_id, token_hash, created_at, expires_at) "
                "select u.id, u.tenant_id, :h, now(), now() + interval '1 hour' from users u "
                "where u.username = :u"), {"h": f"{code:0<64}", "u": f"{code.lower()}_all"})
    _scope(runtime, "/P01/C01/")
    assert set(runtime.execute(sa.text("select token_hash from api_tokens")).scalars()) == {f"{'K0101':0<64}"}
    assert runtime.execute(sa.text("update api_tokens set revoked_at = now() "
                                   "where tenant_id = :t"), {"t": data["K0201"]}).rowcount == 0
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        with runtime.begin_nested():
            runtime.execute(sa.text(
                "insert into api_tokens (user_id, tenant_id, token_hash, created_at, expires_at) "
                "values (:u, :t, :h, now(), now())"), {"u": outsider, "t": data["K0201"], "h": "f" * 64})
    runtime.rollback()
