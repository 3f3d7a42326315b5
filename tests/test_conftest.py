"""The ``app`` fixture itself: each test's writes are rolled back at its end, ``committed`` really commits
(and empties the tables after), and forgetting ``committed`` where another connection is involved fails loudly.

The tests run in file order; the second of each pair checks what the first left behind."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tenants.models import Tenant
from tests.conftest import DATABASE_URL, SecondConnection, system


def _codes_seen_elsewhere() -> set[str]:
    """The union codes a separate connection sees (committed data only; the owner bypasses row security)."""
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("select code from tenants")).scalars())
    finally:
        engine.dispose()


def _codes(app) -> set[str]:
    with system(app):
        return set(db.session.scalars(sa.select(Tenant.code)))


def test_rolled_back_writes_commit_within_the_test(app, factory):
    factory.tenant("P98", level="province")  # the factory commits
    assert _codes(app) == {"P98"}  # a new app context (a new session) sees it
    assert _codes_seen_elsewhere() == set()  # but only this test's transaction does


def test_rolled_back_writes_are_gone_after_the_test(app):
    assert _codes(app) == set()


def test_committed_really_commits(committed, app, factory):
    factory.tenant("P97", level="province")
    assert _codes_seen_elsewhere() == {"P97"}


def test_committed_tables_are_empty_after_the_test(app):
    assert _codes(app) == set() and _codes_seen_elsewhere() == set()


def test_a_commit_on_a_second_connection_asks_for_committed(app):
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    try:
        with pytest.raises(SecondConnection, match="`committed`"):
            with engine.begin() as conn:
                conn.execute(sa.text("select 1"))
    finally:
        engine.dispose()


def test_the_session_from_another_thread_asks_for_committed(app):
    errors = []

    def query():
        try:
            with app.app_context():
                db.session.scalar(sa.select(1))
        except SecondConnection as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=query)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "`committed`" in errors[0]
