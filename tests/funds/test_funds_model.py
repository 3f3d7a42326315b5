"""The ledger against an in-memory model (hypothesis stateful testing).

Random receipts, allocations, returns (to finance and to the parent), reversals, repeated idempotency keys
and invalid postings run through ``hardship.funds.operations``, each under the scope of the union that posts
it (as a request would), and commit like a request. After every step every lot's balance equals the
model's and none is negative; at the end of every run ``reconcile`` finds nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from hardship.api import load_data
from hardship.core.db import db
from hardship.core.errors import Conflict, ValidationFailed
from hardship.core.money import format_fen
from hardship.funds.schemas import PostingIn
from tests.conftest import DATABASE_URL

TENANTS = {"P01": None, "C01": "P01", "K0101": "C01", "K0102": "C01"}
PAIRS = [(parent, child) for child, parent in TENANTS.items() if parent]
SOURCES = ["central_finance", "donation"]
YEARS = [2025, 2026]
ON = date(2026, 6, 1)

amounts = st.integers(min_value=1, max_value=60_000)
keys = st.tuples(st.sampled_from(list(TENANTS)), st.sampled_from(SOURCES), st.sampled_from(YEARS))


def _clear_ledger() -> None:
    """Empty the ledger as the owner (the runtime role may not delete ledger rows on PostgreSQL)."""
    engine = sa.create_engine(DATABASE_URL)
    with engine.begin() as conn:
        for table in ("fund_entries", "fund_transactions", "fund_lots"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


def make_machine(app):
    from hardship.funds import operations as ops
    from hardship.funds.models import FundLot
    from hardship.funds.reconcile import reconcile
    from tenants.models import Tenant
    from tenants.scoping import scope, system_scope

    class Ledger(RuleBasedStateMachine):
        posted = Bundle("posted")

        def __init__(self):
            super().__init__()
            _clear_ledger()
            self.model: dict[tuple[str, str, int], int] = {}
            self.effects: dict[int, list[tuple[tuple, int]]] = {}
            self.kinds: dict[int, str] = {}
            self.reversed: set[int] = set()
            self.replays: list[tuple] = []
            self.n = 0

        # -------------------------------------------------------------- plumbing

        def _run(self, poster: str, fn, *args, **kw):
            """Call an operation as a request of ``poster``'s union would: in its scope, then commit."""
            with app.app_context():
                with system_scope():
                    tenants = {t.code: t for t in db.session.scalars(sa.select(Tenant))}
                path = tenants[poster].path
                try:
                    with scope(path):
                        result = fn(tenants, *args, **kw)
                        if isinstance(result, ops.Posted):
                            result = (result.transaction.id, result.replayed)
                        db.session.commit()
                    return result
                except Exception:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()

        def _apply(self, effects):
            for key, delta in effects:
                self.model[key] = self.model.get(key, 0) + delta

        def _covered(self, effects) -> bool:
            after = dict(self.model)
            for key, delta in effects:
                after[key] = after.get(key, 0) + delta
            return all(v >= 0 for v in after.values())

        def _body(self, source, year, amount, **kw):
            self.n += 1
            return {**load_data(PostingIn, {"source": source, "fiscal_year": year, "amount": format_fen(amount),
                                             "document_no": f"文号{self.n}", "date": ON.isoformat()}),
                    "purpose": None, **kw}

        def _expect(self, poster, effects, fn, key=None):
            """Run ``fn``; it must succeed exactly when the model says the money is there."""
            if self._covered(effects):
                tx_id, replayed = self._run(poster, fn)
                assert not replayed
                self._apply(effects)
                self.effects[tx_id] = effects
                return tx_id
            with pytest.raises(Conflict):
                self._run(poster, fn)
            return None

        # -------------------------------------------------------------- rules

        @rule(target=posted, key=keys, amount=amounts)
        def receipt(self, key, amount):
            tenant, source, year = key
            body = self._body(source, year, amount)
            ikey = f"r{self.n}"
            fn = lambda t: ops.post_receipt(t[tenant], body, idempotency_key=ikey)  # noqa: E731
            tx = self._expect(tenant, [((tenant, source, year), amount)], fn)
            self.kinds[tx] = "receipt"
            self.replays.append((tenant, fn, tx))
            return tx

        @rule(target=posted, pair=st.sampled_from(PAIRS), source=st.sampled_from(SOURCES),
              year=st.sampled_from(YEARS), amount=amounts)
        def allocate(self, pair, source, year, amount):
            parent, child = pair
            body = self._body(source, year, amount)
            fn = lambda t: ops.allocate_funds(t[parent], t[child], body)  # noqa: E731
            tx = self._expect(parent, [((parent, source, year), -amount), ((child, source, year), amount)], fn)
            if tx:
                self.kinds[tx] = "allocation"
            return tx

        @rule(target=posted, key=keys, to_parent=st.booleans(), amount=amounts)
        def give_back(self, key, to_parent, amount):
            tenant, source, year = key
            parent = TENANTS[tenant]
            if to_parent and parent is None:
                with pytest.raises(ValidationFailed):
                    self._run(tenant, lambda t: ops.return_funds(t[tenant], self._body(source, year, amount,
                                                                                        to="parent")))
                return None
            to = "parent" if to_parent else "finance"
            body = self._body(source, year, amount, to=to)
            effects = [((tenant, source, year), -amount)]
            if to_parent:
                effects.append(((parent, source, year), amount))
            tx = self._expect(tenant, effects, lambda t: ops.return_funds(t[tenant], body))
            if tx:
                self.kinds[tx] = "return"
            return tx

        @rule(tx=posted)
        def reverse(self, tx):
            if tx is None:
                return
            from hardship.funds.models import FundTransaction

            poster = self._run("P01", lambda t: db.session.scalar(
                sa.select(Tenant.code).join(FundTransaction, FundTransaction.poster_tenant_id == Tenant.id)
                .where(FundTransaction.id == tx)))

            def fn(t):
                return ops.reverse_transaction(db.session.scalar(sa.select(FundTransaction).where(
                    FundTransaction.id == tx)), {"document_no": f"冲{tx}", "date": ON, "note": ""})

            if tx in self.reversed or self.kinds.get(tx) == "reversal":
                with pytest.raises(Conflict):
                    self._run(poster, fn)
                return
            undo = [(key, -delta) for key, delta in self.effects[tx]]
            new = self._expect(poster, undo, fn)
            if new:
                self.reversed.add(tx)
                self.kinds[new] = "reversal"
                self.effects[new] = undo

        @rule(data=st.data())
        def replay(self, data):
            if not self.replays:
                return
            tenant, fn, tx = data.draw(st.sampled_from(self.replays))
            tx_id, replayed = self._run(tenant, fn)
            assert replayed and tx_id == tx

        @rule(key=keys, raw=st.sampled_from(["0", "-1", "1.001", "abc", "", "100000000.01", None]))
        def invalid(self, key, raw):
            tenant, source, year = key
            body = {"source": source, "fiscal_year": year, "amount": raw, "document_no": "文号", "date": ON.isoformat()}
            with pytest.raises(ValidationFailed):
                self._run(tenant, lambda t: ops.post_receipt(t[tenant], load_data(PostingIn, body)))

        # -------------------------------------------------------------- invariants

        @invariant()
        def balances_match_the_model(self):
            with app.app_context(), system_scope():
                rows = db.session.execute(sa.select(Tenant.code, FundLot.source, FundLot.fiscal_year, FundLot.balance)
                                          .join(Tenant, Tenant.id == FundLot.tenant_id)).all()
                db.session.remove()
            stored = {(c, s, y): b for c, s, y, b in rows}
            assert all(b >= 0 for b in stored.values()), stored
            for key in set(stored) | set(self.model):
                assert stored.get(key, 0) == self.model.get(key, 0), (key, stored, self.model)

        def teardown(self):
            with app.app_context(), system_scope():
                differences = reconcile()
                db.session.remove()
            assert differences == []

    return Ledger


def test_ledger_matches_the_model(committed, app, tree):
    machine = make_machine(app)
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=25, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        _clear_ledger()
