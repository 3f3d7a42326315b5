"""Benchmark of ``hardship generate`` and of the summary oracle on what it wrote (SPEC 10, issue 17 item 7).

    .venv/bin/python tools/bench_generate.py [--households 100000] [--runs 5] [--database-url postgresql://...]

On a new, empty database (a temporary SQLite file, or a temporary database on the PostgreSQL server of
``--database-url``, dropped afterwards): ``generate`` of ``--households`` households and its commit are timed;
``hardship reconcile``'s check must find no difference; then the summary computed directly from the base
records (``hardship.reports.queries.summary``, the oracle) for the current year at the root (GP) and at a
county (GK0101), ``--runs`` times each: median and p95 (the nearest rank). Then the fast path
(``hardship.reports.figures.summary``, what the API and pages read) at the same two unions: its first read (which
counts and keeps every union's figures of the year), ``--runs`` reads after it (median, p95, the oracle's median
over the fast path's: the ratio), the read after one household of an enterprise changed (that union counted
again), and whether the fast result equals the oracle's. Prints one JSON object per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench_db import generate_province, p95, scratch_database  # noqa: E402 (tools/, the script's folder)


def run(database_url: str, households: int, runs: int) -> dict:
    os.environ["HARDSHIP_INSTANCE"] = tempfile.mkdtemp(prefix="hardship-bench-")
    import sqlalchemy as sa

    from hardship.app import create_app
    from hardship.archives.models import Household
    from hardship.core.db import db
    from hardship.funds.reconcile import reconcile
    from hardship.reports import figures as fast
    from hardship.reports.queries import summary
    from tenants.models import Tenant
    from tenants.scoping import system_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATABASE_OWNER_URL": database_url, "REDIS_URL": None})
    today = date.today()
    out = {}
    with app.app_context():
        out["generate_seconds"] = generate_province(households, today)
        with system_scope():
            out["reconcile_differences"] = len(reconcile())
            db.session.rollback()
            for code in ("GP", "GK0101"):
                tenant = db.session.scalar(sa.select(Tenant).where(Tenant.code == code))
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    summary(tenant, today.year, today=today)
                    times.append((time.perf_counter() - started) * 1000)
                    db.session.rollback()
                out[code] = {"median": round(statistics.median(times), 1), "p95": round(p95(times), 1)}
                exact = summary(tenant, today.year, today=today)
                db.session.rollback()
                started = time.perf_counter()
                first = fast.summary(tenant, today.year, today=today)
                db.session.commit()
                out[code]["fast_first"] = round((time.perf_counter() - started) * 1000, 1)
                out[code]["fast_equal"] = int({**first, "exact": True} == exact)
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    fast.summary(tenant, today.year, today=today)
                    times.append((time.perf_counter() - started) * 1000)
                    db.session.commit()
                out[code]["fast_median"] = round(statistics.median(times), 1)
                out[code]["fast_p95"] = round(p95(times), 1)
                out[code]["fast_ratio"] = round(out[code]["median"] / max(out[code]["fast_median"], 0.1), 1)
                household = db.session.scalar(sa.select(Household).join(Tenant, Tenant.id == Household.tenant_id)
                                              .where(Tenant.code == "GE0101001").limit(1))
                db.session.execute(sa.update(Household).where(Household.id == household.id)  # one union changed
                                   .values(category=Household.category))
                db.session.commit()
                started = time.perf_counter()
                fast.summary(tenant, today.year, today=today)
                out[code]["fast_after_change"] = round((time.perf_counter() - started) * 1000, 1)
                db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    with scratch_database(args.database_url, tempfile.mkdtemp(prefix="hardship-bench-")) as (url, backend):
        figures = run(url, args.households, args.runs)
    n = args.households
    print(f"# {figures}", file=sys.stderr)
    print(json.dumps({"name": f"generate_{n}_households_{backend}", "value": figures["generate_seconds"],
                      "unit": "s"}))
    print(json.dumps({"name": f"generate_{n}_reconcile_differences_{backend}",
                      "value": figures["reconcile_differences"], "unit": ""}))
    for code, part in (("GP", "root"), ("GK0101", "county")):
        for stat in ("median", "p95"):
            print(json.dumps({"name": f"summary_oracle_{part}_{stat}_{n}_{backend}", "value": figures[code][stat],
                              "unit": "ms"}))
        for stat in ("median", "p95", "first", "after_change"):
            print(json.dumps({"name": f"summary_fast_{part}_{stat}_{n}_{backend}",
                              "value": figures[code][f"fast_{stat}"], "unit": "ms"}))
        print(json.dumps({"name": f"summary_fast_{part}_speedup_{n}_{backend}", "value": figures[code]["fast_ratio"],
                          "unit": "x oracle"}))
        print(json.dumps({"name": f"summary_fast_{part}_equals_oracle_{n}_{backend}",
                          "value": figures[code]["fast_equal"], "unit": ""}))
    equal = all(figures[code]["fast_equal"] for code in ("GP", "GK0101"))
    return 0 if figures["reconcile_differences"] == 0 and equal else 1


if __name__ == "__main__":
    sys.exit(main())
