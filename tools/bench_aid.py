"""Benchmark of paying an aid batch (SPEC 10: a batch of 5,000 items paid in one transaction, lots debited, in
under 10 s).

    .venv/bin/python tools/bench_aid.py [--items 5000] [--database-url postgresql://...]

On a new, empty database (a temporary SQLite file, or a temporary database on the PostgreSQL server of
``--database-url``, dropped afterwards): a small tree, a receipt and an allocation to the county, a warmth
program, a batch of ``--items`` frontline workers (submitted and approved); then ``pay_batch`` (one
disbursement through the ledger, every item paid) and its commit are timed. Prints one JSON object per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench_db import scratch_database  # noqa: E402 (tools/, the script's folder)


def _id_number(n: int):
    from hardship.core.idcard import check_char, parse_id_number

    born = date(1960, 1, 1) + timedelta(days=n % 15000)
    base = f"130102{born:%Y%m%d}{n // 15000 % 1000:03d}"
    return parse_id_number(base + check_char(base))


def run(database_url: str, items: int) -> dict:
    os.environ["HARDSHIP_INSTANCE"] = tempfile.mkdtemp(prefix="hardship-bench-")
    from hardship.aid import operations as aid
    from hardship.api import load_data
    from hardship.app import create_app
    from hardship.cli import upgrade_database
    from hardship.core.db import db
    from hardship.funds import operations as funds
    from hardship.funds.schemas import AllocationIn, ReceiptIn
    from tenants.operations import create_tenant
    from tenants.scoping import system_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATABASE_OWNER_URL": database_url, "REDIS_URL": None})
    year = date.today().year
    with app.app_context():
        upgrade_database()
        with system_scope():
            province = create_tenant(None, "BENCH-P", "基准测试省总工会", "province")
            city = create_tenant(province, "BENCH-C", "基准测试市总工会", "city")
            county = create_tenant(city, "BENCH-K", "基准测试县总工会", "county")
            money = {"source": "central_finance", "fiscal_year": year, "amount": f"{items * 500 + 1000}.00",
                     "document_no": "基准〔1〕号", "date": date.today().isoformat()}
            funds.post_receipt(city, load_data(ReceiptIn, {**money, "tenant": "BENCH-C"}), idempotency_key="r")
            funds.allocate_funds(city, county, load_data(AllocationIn, {**money, "from": "BENCH-C", "to": "BENCH-K"}),
                                 idempotency_key="a")
            program = aid.create_program(county, {"type": "warmth", "year": year, "name": "基准送温暖",
                                                  "sources": ["central_finance"]})
            started = time.perf_counter()
            batch = aid.create_batch(program, county, {"note": "", "items": [
                {"person": {"name": f"职工{n}", "id_number": _id_number(n), "phone": None, "reason": "一线"},
                 "kind": "frontline", "amount": 500_00, "household": None, "override_reason": None, "reason": ""}
                for n in range(items)]})
            aid.submit_batch(batch)
            aid.approve_batch(batch)
            db.session.commit()
            prepared = time.perf_counter() - started
            started = time.perf_counter()
            aid.pay_batch(batch, {"document_no": "基准〔2〕号", "date": date.today(), "lot": None, "note": ""})
            db.session.commit()
            paid = time.perf_counter() - started
            status = batch.status
        db.session.remove()
        db.engine.dispose()
    return {"status": status, "paid_seconds": round(paid, 2), "prepared_seconds": round(prepared, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    with scratch_database(args.database_url, tempfile.mkdtemp(prefix="hardship-bench-")) as (url, backend):
        figures = run(url, args.items)
    if figures["status"] != "paid":
        print(f"# the batch was not paid: {figures}", file=sys.stderr)
        return 1
    print(f"# prepared {args.items} items in {figures['prepared_seconds']} s", file=sys.stderr)
    print(json.dumps({"name": f"aid_pay_{args.items}_items_{backend}", "value": figures["paid_seconds"], "unit": "s",
                      "target": 10}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
