"""``tenants.scoping.first_in_scope``: the hot look-ups' read on the DBAPI connection (on PostgreSQL the
transaction's ``BEGIN`` and scope in one round trip, or a changed scope together with the statement)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import IS_PG

from hardship.core.db import db
from tenants.models import Tenant
from tenants.scoping import first_in_scope, scope, system_scope

#: no subtree filter of its own: on PostgreSQL only row-level security (the scope in the transaction) limits it
_BY_CODE = sa.select(Tenant.__table__).where(Tenant.__table__.c.code == sa.bindparam("code"))


def test_reads_the_first_row_with_the_columns_own_types(app, tree):
    with app.app_context(), system_scope():
        row = first_in_scope(_BY_CODE, {"code": "K0101"})
        assert row["code"] == "K0101" and row["path"] == "/P01/C01/K0101/"
        assert isinstance(row["created_at"], datetime) and row["created_at"].tzinfo is not None
        assert first_in_scope(_BY_CODE, {"code": "NOPE"}) is None
        money = sa.select(sa.cast(sa.bindparam("x"), sa.Numeric(10, 2)).label("n"))  # a type with a processor
        assert first_in_scope(money, {"x": "1.50"}) == {"n": Decimal("1.50")}
        assert first_in_scope(money, {"x": "2.25"}) == {"n": Decimal("2.25")}
        db.session.rollback()


@pytest.mark.skipif(not IS_PG, reason="row-level security and the pipeline are PostgreSQL matters")
def test_the_statement_runs_in_the_current_scope(app, tree):
    """The first statement of a transaction begins it in its scope; a scope changed inside the transaction
    reaches the next statement; row-level security sees exactly that scope (no statement-level filter)."""
    from psycopg import pq

    with app.app_context():
        with scope("/P01/C01/"):
            assert first_in_scope(_BY_CODE, {"code": "K0101"})["code"] == "K0101"
            raw = db.session.connection().connection.dbapi_connection
            assert raw.info.transaction_status == pq.TransactionStatus.INTRANS
            assert first_in_scope(_BY_CODE, {"code": "C02"}) is None  # a sibling city: RLS hides it
            with scope("/P01/C02/"):
                assert first_in_scope(_BY_CODE, {"code": "C02"})["code"] == "C02"
                assert first_in_scope(_BY_CODE, {"code": "K0101"}) is None
            assert first_in_scope(_BY_CODE, {"code": "C02"}) is None  # back in the first scope
        assert first_in_scope(_BY_CODE, {"code": "C01"}) is None  # no scope: nothing
        db.session.commit()
        with scope("/P01/C02/"):  # a new transaction starts in its own scope, not the last one's
            assert first_in_scope(_BY_CODE, {"code": "K0101"}) is None
            assert first_in_scope(_BY_CODE, {"code": "K0201"})["code"] == "K0201"
        db.session.rollback()


@pytest.mark.skipif(not IS_PG, reason="psycopg's pipeline is a PostgreSQL matter")
def test_a_failing_statement_raises_as_sqlalchemy_would_and_the_session_recovers(app, tree):
    bad = sa.select(sa.cast(sa.bindparam("code"), sa.Integer).label("n"))
    with app.app_context(), system_scope():
        with pytest.raises(sa.exc.DataError):
            first_in_scope(bad, {"code": "not a number"})
        db.session.rollback()
        assert first_in_scope(_BY_CODE, {"code": "P01"})["code"] == "P01"
        db.session.rollback()
