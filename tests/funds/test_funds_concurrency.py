"""No overdraft under concurrency (SPEC 4.4): many clients post allocations and returns against the same lots
at once, through the whole app (HTTP layer, auth, scoping, one transaction per request).

On PostgreSQL (marker ``postgres``): 16 threads for several seconds, conditional updates and row locks in key
order. On SQLite a smaller run proves ``BEGIN IMMEDIATE`` queues the writers instead of failing them.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter

import pytest

from hardship.core.db import db
from tests.conftest import IS_PG, system
from tests.fixtures.funds import allocation, lot_balances, receipt, refund

START = 50_000_00  # what C01 receives: small enough that allocations often find the lot drained
LOT = ("central_finance", 2026)


def _run(app, factory, threads: int, seconds: float):
    factory.user("C01", roles=("finance",), username="c01_fin")
    factory.user("K0101", roles=("finance",), username="k0101_fin")
    factory.user("K0102", roles=("finance",), username="k0102_fin")
    setup = app.test_client()
    token = factory.token("c01_fin")
    resp = setup.post("/api/v1/funds/receipts", json=receipt(amount="50000.00"),
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "setup"})
    assert resp.status_code == 201, resp.json

    # each client its own token (and, in the app, its own request context and session)
    roles = ["c01_fin", "k0101_fin", "k0102_fin"]
    tokens = [(roles[i % 3], factory.token(roles[i % 3])) for i in range(threads)]
    results: list[tuple[str, str, int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    deadline = [0.0]

    def client_loop(n: int, username: str, token: str):
        rng = random.Random(n)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        barrier.wait()
        mine = []
        while time.monotonic() < deadline[0]:
            cents = rng.randint(1, 8_000_00)
            amount = f"{cents // 100}.{cents % 100:02d}"
            key = {"Idempotency-Key": str(uuid.uuid4())}
            document_no = f"并发〔2026〕{key['Idempotency-Key'][:8]}号"  # a repeated 文号 and amount is refused
            if username == "c01_fin":
                to = rng.choice(["K0101", "K0102"])
                resp = client.post("/api/v1/funds/allocations", json=allocation(to=to, amount=amount, document_no=document_no),
                                   headers={**headers, **key})
                mine.append(("allocation", to, cents, resp.status_code))
            else:
                county = username[:5].upper()
                dest = "parent" if rng.random() < 0.85 else "finance"
                resp = client.post("/api/v1/funds/returns", json=refund(county, to=dest, amount=amount, document_no=document_no),
                                   headers={**headers, **key})
                mine.append((f"return:{dest}", county, cents, resp.status_code))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=client_loop, args=(n, u, t)) for n, (u, t) in enumerate(tokens)]
    deadline[0] = time.monotonic() + seconds + 1.0
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 120)
    assert not any(w.is_alive() for w in workers), "a client hung"
    return results


def _check(app, results):
    statuses = Counter(status for *_rest, status in results)
    assert set(statuses) <= {201, 409}, statuses  # no 500 (deadlock, "database is locked"), no 400
    assert statuses[201] >= 20, statuses

    ok = [r for r in results if r[3] == 201]
    expected = {"C01": START, "K0101": 0, "K0102": 0}
    for kind, tenant, cents, _status in ok:
        if kind == "allocation":
            expected["C01"] -= cents
            expected[tenant] += cents
        elif kind == "return:parent":
            expected[tenant] -= cents
            expected["C01"] += cents
        else:
            expected[tenant] -= cents
    with system(app):
        balances = lot_balances(db.session)
        from hardship.funds.reconcile import reconcile

        differences = reconcile()
        db.session.rollback()
    got = {code: balances.get((code, *LOT), 0) for code in expected}
    assert got == expected
    assert all(v >= 0 for v in balances.values()), balances
    assert differences == []
    return statuses


@pytest.mark.postgres
@pytest.mark.skipif(not IS_PG, reason="needs DATABASE_URL pointing at PostgreSQL")
def test_concurrent_postings_never_overdraw_postgres(committed, app, factory):
    factory.tenant("P01", level="province")
    factory.tenant("C01", parent="P01")
    factory.tenant("K0101", parent="C01")
    factory.tenant("K0102", parent="C01")
    results = _run(app, factory, threads=16, seconds=4.0)
    statuses = _check(app, results)
    assert statuses[409] >= 1, statuses  # the lots really ran dry under contention


def test_concurrent_postings_queue_on_sqlite(committed, app, factory):
    """Also runs on PostgreSQL (smaller); on SQLite the writers wait for BEGIN IMMEDIATE's lock."""
    factory.tenant("P01", level="province")
    factory.tenant("C01", parent="P01")
    factory.tenant("K0101", parent="C01")
    factory.tenant("K0102", parent="C01")
    results = _run(app, factory, threads=6, seconds=1.5)
    _check(app, results)
