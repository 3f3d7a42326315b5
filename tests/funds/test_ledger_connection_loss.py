"""Postings while the database connections are terminated (PostgreSQL): every answer tells the truth.

Several clients post allocations and receipts with idempotency keys through the whole app while another
connection (a superuser's) terminates the app's backends in a loop: mostly while they carry out a COMMIT (a
deferred trigger makes each COMMIT take a few milliseconds), sometimes at any point. Every answer must be a
201, a 503 ``outcome_unknown`` (the connection was lost during the COMMIT) or a 500 saying nothing was saved
(lost before it). Then every key is posted again: a 503'd posting is found (replayed) or posted now, a 500'd
one must be posted now (it really was not saved), and the ledger reconciles, with the balances of the
postings that were made, each once.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import DATABASE_URL, IS_PG, system
from tests.fixtures.funds import PATHS, allocation, lot_balances, receipt

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not IS_PG, reason="terminating backends is a PostgreSQL matter")]

START = 1_000_000_00
SLOW_COMMIT = (
    "create function test_slow_commit() returns trigger language plpgsql as "
    "$$ begin perform pg_sleep(0.01); return null; end $$",
    "grant execute on function test_slow_commit() to public",
    "create constraint trigger test_slow_commit after insert on fund_transactions deferrable initially deferred "
    "for each row execute function test_slow_commit()",
)
DROP_SLOW_COMMIT = ("drop trigger if exists test_slow_commit on fund_transactions",
                    "drop function if exists test_slow_commit()")


def _killer(engine, stop: threading.Event, killed: list) -> None:
    """Terminate this database's other backends: those inside a COMMIT (sleeping in the trigger) at once,
    and now and then one that is doing anything else."""
    rng = random.Random(7)
    seen = set()
    with engine.connect() as conn:
        while not stop.is_set():
            rows = conn.execute(sa.text(
                "select pid, wait_event, xact_start from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid() and backend_type = 'client backend'")).all()
            committing = {(pid, start) for pid, event, start in rows if event == "PgSleep"} - seen
            seen |= committing
            victims = [pid for pid, _start in committing if rng.random() < 0.3]  # one COMMIT in three
            busy = [pid for pid, event, _start in rows if event not in ("PgSleep", "ClientRead")]
            if busy and rng.random() < 0.05:
                victims.append(rng.choice(busy))
            for pid in victims:
                conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
                killed.append(pid)
            time.sleep(0.005)


def test_terminated_connections_never_lose_or_misreport_a_posting(committed, app, factory):
    factory.tenant("P01", level="province")
    factory.tenant("C01", parent="P01")
    factory.tenant("K0101", parent="C01")
    factory.tenant("K0102", parent="C01")
    factory.user("C01", roles=("finance",), username="c01_fin")
    factory.user("K0101", roles=("finance",), username="k0101_fin")
    setup = app.test_client()
    resp = setup.post(PATHS["receipt"], json=receipt(amount="1000000.00"),
                      headers={"Authorization": f"Bearer {factory.token('c01_fin')}", "Idempotency-Key": "setup"})
    assert resp.status_code == 201, resp.json
    tokens = {name: factory.token(name) for name in ("c01_fin", "k0101_fin")}

    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in SLOW_COMMIT:
            conn.execute(sa.text(statement))
    answers: list[tuple] = []  # (poster, path, body, key, status, error code)
    lock = threading.Lock()
    stop, killed = threading.Event(), []

    def client_loop(n: int) -> None:
        rng = random.Random(n)
        poster = "c01_fin" if n % 2 == 0 else "k0101_fin"
        client = app.test_client()  # its own client, so its own request and app contexts
        mine = []
        while not stop.is_set():
            cents = rng.randint(1, 100_00)
            amount = f"{cents // 100}.{cents % 100:02d}"
            key = str(uuid.uuid4())
            document_no = f"测试〔2026〕{key[:8]}号"  # each its own: a repeated 文号 and amount is refused (409)
            if poster == "c01_fin":
                path, body = PATHS["allocation"], allocation(to=rng.choice(["K0101", "K0102"]), amount=amount,
                                                             document_no=document_no)
            else:
                path, body = PATHS["receipt"], receipt(tenant="K0101", amount=amount, document_no=document_no)
            resp = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[poster]}",
                                                         "Idempotency-Key": key})
            mine.append((poster, path, body, key, resp.status_code, (resp.json or {}).get("error", {}).get("code")))
        with lock:
            answers.extend(mine)

    try:
        killer = threading.Thread(target=_killer, args=(engine, stop, killed))
        clients = [threading.Thread(target=client_loop, args=(n,)) for n in range(6)]
        killer.start()
        for thread in clients:
            thread.start()
        time.sleep(6)
        stop.set()
        for thread in [*clients, killer]:
            thread.join(60)
        assert not any(t.is_alive() for t in [*clients, killer]), "a client hung"
    finally:
        with engine.connect() as conn:
            for statement in DROP_SLOW_COMMIT:
                conn.execute(sa.text(statement))
        engine.dispose()

    statuses = {(status, code) for *_rest, status, code in answers}
    assert statuses <= {(201, None), (503, "outcome_unknown"), (500, "server_error")}, statuses
    outcome_unknown = [a for a in answers if a[4] == 503]
    assert len(outcome_unknown) >= 1 and len(killed) >= 5, (len(outcome_unknown), len(killed))
    assert sum(a[4] == 201 for a in answers) >= 20

    # every key again, without kills: each posting is made exactly once
    client = app.test_client()
    posted = []
    for poster, path, body, key, status, _code in answers:
        again = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[poster]}",
                                                      "Idempotency-Key": key})
        assert again.status_code == 201, again.json
        replayed = again.headers.get("Idempotent-Replayed") == "true"
        if status == 201:
            assert replayed, "a posting answered 201 was not saved"
        elif status == 500:
            assert not replayed, "a posting answered 'nothing was saved' had been saved"
        posted.append(body)

    expected = {"C01": START, "K0101": 0, "K0102": 0}
    for body in posted:
        cents = int(body["amount"].replace(".", ""))
        if "from" in body:
            expected["C01"] -= cents
            expected[body["to"]] += cents
        else:
            expected["K0101"] += cents
    with system(app):
        from hardship.funds.models import FundTransaction
        from hardship.funds.reconcile import reconcile

        balances = lot_balances(db.session)
        assert reconcile() == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FundTransaction)) == len(posted) + 1
        db.session.rollback()
    assert {code: balances.get((code, "central_finance", 2026), 0) for code in expected} == expected
