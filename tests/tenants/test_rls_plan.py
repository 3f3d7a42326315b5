"""On PostgreSQL, the subtree filter and the RLS policies use the path index (no full scans):
the targets of SPEC 10 need a county's query to touch only its own rows."""

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL, IS_PG

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not IS_PG, reason="query plans under row-level security are a PostgreSQL matter")]


@pytest.fixture
def many_tenants(committed, app, tree):
    engine = sa.create_engine(DATABASE_URL)
    with engine.begin() as conn:
        parent = conn.execute(sa.text("select id, path from tenants where code = 'K0101'")).one()
        conn.execute(sa.text(
            "insert into tenants (code, name, level, parent_id, path, depth, active, created_at) "
            "select 'X' || g, 'x', 'enterprise', :pid, :p || 'X' || g || '/', 3, true, now() "
            "from generate_series(1, 5000) g"), {"pid": parent.id, "p": parent.path.replace("K0101/", "")})
        conn.execute(sa.text("analyze tenants"))
    yield engine
    engine.dispose()


def _plan(engine, sql, verbose=False):
    with engine.begin() as conn:
        conn.execute(sa.text("set local role hardship_app"))
        conn.execute(sa.text("select set_config('app.tenant_path', '/P01/C01/K0101/', true)"))
        return "\n".join(r[0] for r in conn.execute(sa.text(("explain (verbose) " if verbose else "explain ") + sql)))


def test_policy_uses_the_path_index(many_tenants):
    plan = _plan(many_tenants, "select count(*) from tenants")
    assert "ix_tenants_path_c" in plan and "Seq Scan on tenants" not in plan, plan
    # a tenant-owned table takes the subtree's ids from hardship_scope_ids(), once per statement at most
    plan = _plan(many_tenants, "select count(*) from users", verbose=True)
    assert "hardship_scope_ids()" in plan and plan.count("InitPlan") == 1 and "tenants" not in plan, plan
    assert "tenant_id = ANY ($0)" in plan, plan
    # which reads them by the path index (the same query as inside it)
    with many_tenants.begin() as conn:
        body = conn.execute(sa.text("select prosrc from pg_proc where proname = 'hardship_scope_ids'")).scalar()
        query = ("SELECT tenants.id FROM public.tenants\n                 WHERE tenants.path >= scope_path "
                 "AND tenants.path < scope_path || '~'")
        assert query in body
        conn.execute(sa.text("set local role hardship_app"))
        conn.execute(sa.text("select set_config('app.tenant_path', '/P01/C01/K0101/', true)"))
        conn.execute(sa.text("prepare ids (text) as " + " ".join(query.replace("scope_path", "$1").split())))
        conn.execute(sa.text("set local plan_cache_mode = force_generic_plan"))  # as PL/pgSQL comes to use
        plan = "\n".join(r[0] for r in conn.execute(sa.text("explain execute ids('/P01/C01/K0101/')")))
        conn.execute(sa.text("deallocate ids"))
    assert "ix_tenants_path_c" in plan and "Seq Scan on tenants" not in plan, plan
