"""Pooled PostgreSQL connections are not pinged before use (``DATABASE_PRE_PING`` is off by default, which
saves two round trips a request). A connection that dies (a database restart) must then cost one clean
error and nothing else: the next request works on a fresh connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL, IS_PG

pytestmark = pytest.mark.skipif(not IS_PG, reason="pooled connections that die are a PostgreSQL matter")


def _kill_other_backends() -> int:
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            return conn.execute(sa.text(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()")).scalar()
    finally:
        engine.dispose()


def test_a_killed_connection_fails_one_request_cleanly_and_the_next_one_works(committed, app, tree, api_as):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping") is False
    api = api_as("c01_all", lang="en")
    assert api.get("/api/v1/funds/balances?tenant=C01").status_code == 200  # a connection now waits in the pool
    from hardship.core.db import db

    with app.app_context():  # and two more beside it: a restart kills them all
        held = [db.engine.raw_connection() for _ in range(2)]
        for conn in held:
            conn.close()
        assert db.engine.pool.checkedin() >= 2
    assert _kill_other_backends() >= 2

    failed = api.get("/api/v1/funds/balances?tenant=C01")
    assert failed.status_code == 500
    assert "nothing was saved" in failed.json["error"]["message"]

    again = api.get("/api/v1/funds/balances?tenant=C01")
    assert again.status_code == 200, again.json
    assert again.json == api.get("/api/v1/funds/balances?tenant=C01").json  # and stays that way


def test_a_transaction_runs_in_its_scope(app, tree):
    """Each statement of a session's transaction sees the scope current when it runs (row-level security reads
    ``app.tenant_path``), a savepoint rolled back takes a scope set inside it along, and the next transaction
    starts afresh."""
    from hardship.core.db import db
    from tenants.models import Tenant
    from tenants.scoping import scope

    setting = sa.text("select current_setting('app.tenant_path', true)")
    with app.app_context():
        with scope("/P01/C01/"):
            assert db.session.scalar(setting) == "/P01/C01/"
            with scope("/P01/C02/"):
                assert db.session.scalar(setting) == "/P01/C02/"
                savepoint = db.session.begin_nested()
                with scope("/P01/C01/K0101/"):
                    assert db.session.scalar(setting) == "/P01/C01/K0101/"
                savepoint.rollback()
                assert db.session.scalar(setting) == "/P01/C02/"
            assert db.session.scalar(setting) == "/P01/C01/"
        db.session.commit()
        assert db.session.scalar(setting) == "//"  # no scope: a path that matches nothing
        db.session.rollback()
        with scope("/P01/C02/"):  # a server-side cursor's statement, first in its transaction: RLS sees the scope
            codes = set(db.session.scalars(sa.select(Tenant.code).execution_options(
                yield_per=10, include_all_tenants=True)))
        assert codes == {"C02", "K0201", "E0201001"}
        db.session.rollback()
