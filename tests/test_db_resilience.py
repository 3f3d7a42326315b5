"""Pooled PostgreSQL connections are not pinged before use (``DATABASE_PRE_PING`` is off by default, which
saves two round trips a request). A connection that dies (a database restart) must then cost one clean
error and nothing else: the next request works on a fresh connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import DATABASE_URL, IS_PG

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


def test_a_killed_connection_fails_one_request_cleanly_and_the_next_one_works(app, tree, api_as):
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


@pytest.mark.parametrize("read_only", [None, True])
def test_a_transaction_begins_in_its_scope(app, read_only):
    """The first statement of a transaction sends ``BEGIN`` and the scope together (one round trip) where
    psycopg would send a plain ``BEGIN``, and the scope as a statement of its own after psycopg's ``BEGIN``
    otherwise (here: a read-only connection); either way the transaction is open and scoped, and the scope
    ends with it."""
    from psycopg import pq

    from hardship.core.db import db
    from tenants.scoping import _set_in_transaction, scope

    with app.app_context():
        pooled = db.engine.raw_connection()
        raw = pooled.driver_connection
        try:
            raw.read_only = read_only
            with scope("/P01/C01/"):
                info: dict = {"hardship_scoped": True}
                _set_in_transaction(info, raw)
            assert raw.info.transaction_status == pq.TransactionStatus.INTRANS
            assert info["hardship_scope_applied"] == "/P01/C01/"
            assert raw.execute("select current_setting('app.tenant_path')").fetchone()[0] == "/P01/C01/"
            raw.rollback()
            assert raw.execute("select current_setting('app.tenant_path', true)").fetchone()[0] in ("", None)
        finally:
            raw.rollback()
            raw.read_only = None
            pooled.close()
