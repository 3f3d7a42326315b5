"""Benchmark of ledger postings (SPEC 10: at least 500 postings per second with 8 concurrent clients, zero
overdrafts), on PostgreSQL.

    .venv/bin/python tools/bench_funds.py [--clients 8] [--seconds 10] [--database-url postgresql://...]

On a new, empty database on the server of ``--database-url`` / ``DATABASE_URL`` (dropped afterwards):
a city with eight counties and ``--enterprises`` enterprise unions below them (default 1,000: a city of
the synthetic province of SPEC 10 holds 14,000 / 14; the policies of row-level security work over the
city's whole subtree, so its size counts), and money to allocate; then ``--clients`` clients post allocations from the
city to random counties for ``--seconds`` each way, with a ``VACUUM ANALYZE`` between: ``--rounds``
times an ``operations`` run and a ``sql`` run right after it (a shared machine's speed drifts by a
quarter within minutes, so the medians are reported, and the ratio is the median of each round's
operations/baseline), then one ``http`` run:

* ``operations`` (the ledger's target): ``--clients`` processes, each with its own connection, calling
  ``allocate_funds`` in an app context as the API handler does (both unions looked up in the scope, each
  posting with its own idempotency key, committed; no HTTP, no auth);
* ``http`` (for information): through the whole app as it runs in production: gunicorn with ``--workers``
  sync workers (default 2) serving ``wsgi:app`` (started by ``tools/bench_server.py``), and ``--clients`` client threads posting over HTTP
  (bearer token, JSON, scoping, RLS, audit), each posting with its own Idempotency-Key
  (``BENCH_GUNICORN_ARGS`` adds gunicorn options, e.g. ``-k gthread --threads 4``, which measured lower);
* ``sql`` (the baseline): the same two conditional updates in lot-id order on a raw connection as the
  owner: ``UPDATE … SET balance = balance - :a WHERE id = :id AND balance >= :a`` and the credit, one
  transaction per posting, nothing else (no transaction row, entries or audit), on
  ``bench_baseline_lots``, a copy of ``fund_lots`` made at the start (same rows, columns, key and CHECK), so
  that the ledger's own lots keep matching their entries for ``reconcile``.

Afterwards ``reconcile`` must find nothing and no balance may be negative. Prints one JSON object per
figure (``name``, ``value``, ``unit``, and ``baseline``/``ratio`` against the raw SQL), as ``make bench``
collects them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench_server import app as _app  # noqa: E402 (tools/, the script's folder)
from bench_server import gunicorn  # noqa: E402

COUNTIES = [f"K01{i:02d}" for i in range(1, 9)]
_STATE: dict = {}


def setup(url: str, clients: int, enterprises: int = 0) -> dict:
    """Schema, tenants (``enterprises`` of them spread over the counties), a finance user with one token per
    client, and 90 million yuan at the city."""
    from sqlalchemy import select

    from hardship.accounts.models import User
    from hardship.accounts.operations import create_user, issue_token
    from hardship.api import load_data
    from hardship.cli import upgrade_database
    from hardship.core.db import db
    from hardship.funds import operations as ops
    from hardship.funds.models import FundLot
    from hardship.funds.schemas import AllocationIn, PostingIn
    from tenants.operations import create_tenant
    from tenants.scoping import system_scope

    app = _app(url)
    with app.app_context():
        upgrade_database()
        with system_scope():
            province = create_tenant(None, "P01", "基准省总工会", "province")
            city = create_tenant(province, "C01", "基准市总工会", "city")
            for code in COUNTIES:
                create_tenant(city, code, f"{code}总工会", "county")
            create_user(city, "bench_fin", "Bench-2026!", ["finance"])
            ops.post_receipt(city, load_data(PostingIn, {
                "source": "central_finance", "fiscal_year": 2026, "amount": "90000000.00",
                "document_no": "基准〔2026〕1号", "date": "2026-03-01"}))
            db.session.commit()
            user = db.session.scalar(select(User).where(User.username == "bench_fin"))
            tokens = [issue_token(user)[0] for _ in range(clients)]
            db.session.commit()
            lots = {}
            for code in ["C01", *COUNTIES]:  # the counties' lots exist before the raw SQL baseline runs
                if code != "C01":
                    ops.allocate_funds(city, db.session.scalar(select(type(city)).where(type(city).code == code)),
                                       load_data(AllocationIn, {
                                           "from": "C01", "to": code, "source": "central_finance",
                                           "fiscal_year": 2026, "amount": "0.01", "document_no": "基准〔2026〕2号",
                                           "date": "2026-03-02"}))
            db.session.commit()
            counties = [db.session.scalar(select(type(city)).where(type(city).code == c)) for c in COUNTIES]
            for i in range(enterprises):
                create_tenant(counties[i % len(counties)], f"E{i + 1:07d}", f"基准企业{i + 1}工会", "enterprise")
            db.session.commit()
            for lot, code in db.session.execute(select(FundLot.id, type(city).code)
                                                .join(type(city), type(city).id == FundLot.tenant_id)):
                lots[code] = lot
        db.session.remove()
        db.engine.dispose()
    return {"tokens": tokens, "lots": lots}


def run_http(url: str, clients: int, seconds: float, state: dict, workers: int) -> dict:
    """gunicorn serving the app on a free port; ``clients`` threads post allocations for ``seconds``."""
    import http.client
    import threading

    with gunicorn(url, workers) as port:
        counts = [[0, 0] for _ in range(clients)]
        barrier = threading.Barrier(clients + 1)

        def client(n: int) -> None:
            rng = random.Random(n)
            headers = {"Authorization": f"Bearer {state['tokens'][n]}", "Content-Type": "application/json"}
            barrier.wait()
            while time.time() < end[0]:
                cents = rng.randint(100, 1000)
                key = str(uuid.uuid4())  # and a 文号 of its own: a repeated 文号 and amount is refused
                body = json.dumps({"from": "C01", "to": rng.choice(COUNTIES), "source": "central_finance",
                                   "fiscal_year": 2026, "amount": f"{cents // 100}.{cents % 100:02d}",
                                   "document_no": f"基准〔2026〕{key[:13]}号", "date": "2026-03-05"},
                                  ensure_ascii=False)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/api/v1/funds/allocations", body.encode(), {**headers, "Idempotency-Key": key})
                status = conn.getresponse().status
                conn.close()
                counts[n][0 if status == 201 else 1] += 1

        end = [0.0]
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        end[0] = time.time() + seconds
        barrier.wait()
        for thread in threads:
            thread.join()
    made = sum(m for m, _r in counts)
    return {"postings": made, "refused": sum(r for _m, r in counts), "per_second": made / seconds}


def _init(url: str, mode: str, barrier) -> None:
    _STATE["barrier"] = barrier
    if mode == "operations":
        _STATE["app"] = _app(url)
    else:
        import psycopg

        _STATE["conn"] = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def _client(args) -> tuple[int, int]:
    """Post for ``seconds`` once every client is ready; returns (postings made, refusals)."""
    mode, n, token, lots, seconds = args
    rng = random.Random(n)
    made = refused = 0
    _STATE["barrier"].wait()  # every client has built its app and connected
    end = time.time() + seconds
    if mode == "operations":
        from hardship.api import load_data
        from hardship.core.db import commit, db
        from hardship.core.errors import Conflict
        from hardship.funds import operations as ops
        from hardship.funds.schemas import AllocationIn
        from tenants.scoping import get_tenant, scope

        with _STATE["app"].app_context():
            with scope("/P01/C01/"):
                while time.time() < end:
                    cents = rng.randint(100, 1000)
                    try:  # as the API handler does: load both unions in the scope and the body, post, commit
                        county = rng.choice(COUNTIES)
                        parent, child = get_tenant("C01"), get_tenant(county)
                        key = str(uuid.uuid4())  # and a 文号 of its own: a repeated 文号 and amount is refused
                        data = load_data(AllocationIn, {
                            "from": "C01", "to": county, "source": "central_finance", "fiscal_year": 2026,
                            "amount": f"{cents // 100}.{cents % 100:02d}", "document_no": f"基准〔2026〕{key[:13]}号",
                            "date": "2026-03-05"})
                        ops.allocate_funds(parent, child, data, idempotency_key=key)
                        commit()
                        made += 1
                    except Conflict:
                        db.session.rollback()
                        refused += 1
    else:
        conn = _STATE["conn"]
        city = lots["C01"]
        while time.time() < end:
            cents = rng.randint(100, 1000)
            child = lots[rng.choice(COUNTIES)]
            with conn.transaction():
                for lot_id in sorted((city, child)):
                    if lot_id == city:
                        cur = conn.execute("UPDATE bench_baseline_lots SET balance = balance - %s "
                                           "WHERE id = %s AND balance >= %s", (cents, city, cents))
                        ok = cur.rowcount == 1
                    else:
                        conn.execute("UPDATE bench_baseline_lots SET balance = balance + %s WHERE id = %s",
                                     (cents, child))
                if not ok:
                    raise RuntimeError("overdraft refused in the baseline; give the city more money")
            made += 1
    return made, refused


def run(url: str, mode: str, clients: int, seconds: float, state: dict) -> dict:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(clients)
    with ctx.Pool(clients, initializer=_init, initargs=(url, mode, barrier)) as pool:
        results = pool.map(_client, [(mode, n, state["tokens"][n], state["lots"], seconds)
                                     for n in range(clients)], chunksize=1)
    made = sum(m for m, _r in results)
    return {"postings": made, "refused": sum(r for _m, r in results), "per_second": made / seconds}


def check(url: str) -> dict:
    """Reconcile the ledger and count negative balances (the baseline's copy of the lots is not the ledger's)."""
    from hardship.core.db import db
    from hardship.funds.reconcile import reconcile
    from tenants.scoping import system_scope

    app = _app(url)
    with app.app_context(), system_scope():
        differences = reconcile()
        negative = db.session.execute(db.text("select count(*) from fund_lots where balance < 0")).scalar()
        db.session.remove()
        db.engine.dispose()
    return {"differences": len(differences), "negative": negative}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="operations runs, each beside a baseline run; the medians are reported")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the HTTP figure")
    parser.add_argument("--enterprises", type=int, default=1000, help="enterprise unions below the city's counties")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    import sqlalchemy as sa

    from hardship.config import normalise_database_url

    base = normalise_database_url(args.database_url)
    if not base.startswith("postgresql"):
        sys.exit("the ledger benchmark needs PostgreSQL: --database-url or DATABASE_URL")
    name = f"hardship_bench_funds_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        state = setup(url, args.clients, args.enterprises)
        owner = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with owner.connect() as conn:  # the baseline's own copy of the lots
            conn.execute(sa.text("CREATE TABLE bench_baseline_lots (LIKE fund_lots INCLUDING ALL)"))
            conn.execute(sa.text("INSERT INTO bench_baseline_lots SELECT * FROM fund_lots"))

        def settled() -> None:
            """Each mode starts from the same state: the dead row versions of the one before vacuumed
            (else autovacuum may clean them up during the next mode's run)."""
            with owner.connect() as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))

        runs: dict[str, list[dict]] = {"operations": [], "sql": []}
        for _round in range(args.rounds):  # each operations run beside a baseline run, right after it
            runs["operations"].append(run(url, "operations", args.clients, args.seconds, state))
            settled()
            runs["sql"].append(run(url, "sql", args.clients, args.seconds, state))
            settled()
        http = run_http(url, args.clients, args.seconds, state, args.workers)
        checked = check(url)
        owner.dispose()
        rates = {mode: [r["per_second"] for r in found] for mode, found in runs.items()}
        baseline = statistics.median(rates["sql"])
        ratios = [o / b for o, b in zip(rates["operations"], rates["sql"], strict=True)]
        value = statistics.median(rates["operations"])
        print(json.dumps({"name": "ledger_postings_operations", "value": round(value, 1), "unit": "postings/s",
                          "clients": args.clients, "runs": [round(r, 1) for r in rates["operations"]],
                          "postings": sum(r["postings"] for r in runs["operations"]),
                          "refused": sum(r["refused"] for r in runs["operations"]), "baseline": round(baseline, 1),
                          "ratio": round(statistics.median(ratios), 3)}, ensure_ascii=False))
        print(json.dumps({"name": "ledger_postings_http", "value": round(http["per_second"], 1),
                          "unit": "postings/s", "clients": args.clients, "postings": http["postings"],
                          "gunicorn_workers": args.workers, "refused": http["refused"],
                          "baseline": round(baseline, 1), "ratio": round(http["per_second"] / baseline, 3)},
                         ensure_ascii=False))
        print(json.dumps({"name": "ledger_postings_raw_sql", "value": round(baseline, 1), "unit": "postings/s",
                          "clients": args.clients, "runs": [round(r, 1) for r in rates["sql"]]}))
        print(json.dumps({"name": "ledger_overdrafts", "value": checked["negative"], "unit": "lots"}))
        print(json.dumps({"name": "ledger_reconcile_differences", "value": checked["differences"],
                          "unit": "differences"}))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
