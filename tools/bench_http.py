"""Benchmark of the household list page and the summary API through HTTP (SPEC 10: p95 under 150 ms with 20
concurrent connections on gunicorn with 2 workers), on PostgreSQL.

    .venv/bin/python tools/bench_http.py [--households 5000] [--clients 20] [--seconds 10] [--workers 2]
                                         [--database-url postgresql://...]

On a new database on the server of ``--database-url`` / ``DATABASE_URL`` (dropped afterwards, also on failure):
``hardship.reports.generate.generate`` writes a province of ``--households`` households and commits;
``ANALYZE`` (``hardship.cli.analyze_database``: autovacuum may be off) and the kept summary figures of the current
year counted ahead (``hardship.reports.figures.warm`` at the root, as ``hardship reports warm`` does), so that
what is measured is the steady-state read, not the first count. Two users: a county clerk (roles clerk and
head at ``GK0101``: ``households.read`` and ``stats.read``) and a province reviewer (at the root ``GP``).

Then gunicorn with ``--workers`` sync workers serves ``wsgi:app`` (``tools/bench_server.py``, the helper the
ledger's HTTP run uses too), and ``--clients`` client threads, each with its own ``http.client`` connection
(reopened as gunicorn's sync workers close it after each response), request for ``--seconds`` each, one target
after the other:

* the household list: ``GET /t/GK0101/archive?page=<p>`` as the clerk (logged in once per thread through the
  login form, CSRF token and session cookie, as a browser does), ``p`` cycling through the county's full pages
  (50 rows each; a page with another number of rows counts as an error);
* the summary API: ``GET /api/v1/reports/summary?tenant=<GP or GK0101>&year=<this year>`` as the reviewer
  (a bearer token per thread from ``POST /api/v1/auth/tokens``), the root and the county in turn.

Each thread makes one request of its target before the timed run (not counted). A request's time runs from
sending it to the last byte of the answer (connecting included). Any answer but a 200 (or a broken
connection) is an error. Prints one JSON object per figure: the median and p95 (the nearest rank) of each
target in ms, requests per second of each, and the errors (target 0); the load average before and after
each run and the CPU the clients themselves spent per request (they share the machine) go with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench_db import generate_province, p95, scratch_database  # noqa: E402 (tools/, the script's folder)
from bench_server import app as bench_app  # noqa: E402
from bench_server import gunicorn  # noqa: E402

COUNTY, ROOT = "GK0101", "GP"
CLERK, REVIEWER, PASSWORD = "bench_clerk", "bench_reviewer", "Bench-2026!"
PER_PAGE = 50



def setup(url: str, households: int, today: date) -> dict:
    """The generated province, analysed and its summary figures of the year kept; the two users."""
    import sqlalchemy as sa

    from hardship.accounts.operations import create_user
    from hardship.core.db import db
    from hardship.reports import figures
    from tenants.models import Tenant
    from tenants.scoping import system_scope

    app = bench_app(url)
    out: dict = {}
    with app.app_context():
        out["generate_seconds"] = generate_province(households, today)
        with system_scope():
            root = db.session.scalar(sa.select(Tenant).where(Tenant.code == ROOT))
            county = db.session.scalar(sa.select(Tenant).where(Tenant.code == COUNTY))
            create_user(county, CLERK, PASSWORD, ["clerk", "head"])
            create_user(root, REVIEWER, PASSWORD, ["reviewer"])
            db.session.commit()
            started = time.perf_counter()
            out["kept"] = figures.warm(root, today.year)
            db.session.commit()
            out["warm_seconds"] = round(time.perf_counter() - started, 1)
        db.session.remove()
        db.engine.dispose()
    return out


class Client:
    """One client connection to the server (``http.client`` reopens it when the server closed it), with the
    cookies it was given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body, headers)
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response.status, content

    def login(self, username: str) -> None:
        """The login form, as a browser fills it: its CSRF token, then the POST; a session cookie results."""
        status, page = self.request("GET", "/login")
        found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or found is None:
            raise RuntimeError(f"GET /login answered {status} without a CSRF token")
        form = urllib.parse.urlencode({"csrf_token": found.group(1).decode(), "username": username,
                                       "password": PASSWORD}).encode()
        status, _page = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"the login of {username} answered {status}, not a redirect")

    def token(self, username: str) -> str:
        status, body = self.request("POST", "/api/v1/auth/tokens", json.dumps(
            {"username": username, "password": PASSWORD}).encode(), {"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"POST /api/v1/auth/tokens for {username} answered {status}")
        return json.loads(body)["token"]


def _list_ok(rows: int):
    def ok(status: int, body: bytes) -> bool:
        return status == 200 and body.count(b"<tr data-id=") == rows
    return ok


def _summary_ok(code: str):
    def ok(status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body).get("tenant") == code
    return ok


def list_pages(port: int) -> tuple[int, int]:
    """The county's number of list pages, as the clerk's first page says, and the rows on that page."""
    client = Client(port)
    client.login(CLERK)
    status, page = client.request("GET", f"/t/{COUNTY}/archive")
    pager = re.search(rb'id="pager">.*?<span>([^<]*)</span>', page, re.S)
    if status != 200:
        raise RuntimeError(f"the household list answered {status}")
    return (max(int(n) for n in re.findall(rb"\d+", pager.group(1))) if pager else 1,
            page.count(b"<tr data-id="))


def measure(port: int, clients: int, seconds: float, prepare, requests_of) -> dict:
    """``clients`` threads: each prepares its client (``prepare(client)`` returns its headers), makes its first
    request untimed, then requests in turn what ``requests_of(n)`` yields, ``(label, path, check)``, until
    ``seconds`` have passed; each request's time and whether it passed ``check``."""
    samples: list[list[tuple[str, float, bool]]] = [[] for _ in range(clients)]
    failures: list[str] = []
    barrier, go = threading.Barrier(clients + 1), threading.Event()
    end = [0.0]

    def run(n: int) -> None:
        try:
            client = Client(port)
            headers = prepare(client)
            targets = requests_of(n)
            _label, path, check = next(targets)
            status, body = client.request("GET", path, None, headers)  # not timed: the first rendering of it
            if not check(status, body):
                raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
        except Exception as exc:  # noqa: BLE001 (reported, and the run fails)
            failures.append(f"{type(exc).__name__}: {exc}")
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        go.wait()  # the end is set
        mine = samples[n]
        while time.monotonic() < end[0]:
            label, path, check = next(targets)
            started = time.perf_counter()
            try:
                status, body = client.request("GET", path, None, headers)
                ok = check(status, body)
            except (OSError, http.client.HTTPException, ValueError):
                ok = False
            mine.append((label, (time.perf_counter() - started) * 1000, ok))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        for thread in threads:
            thread.join()
        raise RuntimeError(f"a client could not start: {failures[0] if failures else 'broken barrier'}") from None
    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    started = time.monotonic()
    end[0] = started + seconds
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    flat = [s for mine in samples for s in mine]
    return {"samples": flat, "elapsed": elapsed, "client_cpu": time.process_time() - cpu,
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def run(url: str, households: int, clients: int, seconds: float, workers: int) -> dict:
    today = date.today()
    out = setup(url, households, today)
    print(f"# set up: {out}", file=sys.stderr, flush=True)
    with gunicorn(url, workers) as port:
        pages, first = list_pages(port)
        full = max(1, pages - 1)  # the last page may hold fewer than 50 rows
        check = _list_ok(PER_PAGE if pages > 1 else first)  # a tiny province: its one page

        def pages_of(n: int):
            page = n % full
            while True:
                yield "list", f"/t/{COUNTY}/archive?page={page + 1}", check
                page = (page + 1) % full

        def summaries_of(n: int):
            codes = (ROOT, COUNTY) if n % 2 == 0 else (COUNTY, ROOT)
            while True:
                for code in codes:
                    yield code, f"/api/v1/reports/summary?tenant={code}&year={today.year}", _summary_ok(code)

        def as_clerk(client: Client) -> dict:
            client.login(CLERK)
            return {}

        def as_reviewer(client: Client) -> dict:
            return {"Authorization": f"Bearer {client.token(REVIEWER)}"}

        out["pages"] = full
        out["list"] = measure(port, clients, seconds, as_clerk, pages_of)
        out["summary"] = measure(port, clients, seconds, as_reviewer, summaries_of)
    return out


def _stats(samples: list[tuple[str, float, bool]]) -> dict:
    times = [ms for _label, ms, _ok in samples]
    if not times:
        return {"median": None, "p95": None, "requests": 0}
    return {"median": round(statistics.median(times), 1), "p95": round(p95(times), 1), "requests": len(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0, help="each target's timed run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql")):
        sys.exit("the HTTP benchmark needs PostgreSQL: --database-url or DATABASE_URL")
    os.environ["HARDSHIP_INSTANCE"] = tempfile.mkdtemp(prefix="hardship-bench-")
    with scratch_database(args.database_url, tempfile.mkdtemp(prefix="hardship-bench-")) as (url, backend):
        found = run(url, args.households, args.clients, args.seconds, args.workers)
    n = args.households
    common = {"clients": args.clients, "gunicorn_workers": args.workers, "seconds": args.seconds}
    errors = {}
    for target, name in (("list", "household_list"), ("summary", "summary_api")):
        run_ = found[target]
        samples = run_["samples"]
        stats = _stats(samples)
        extra = {**common, "requests": stats["requests"], "load_average": run_["load"],
                 "client_cpu_ms_per_request": round(run_["client_cpu"] * 1000 / max(1, stats["requests"]), 2)}
        if target == "list":
            extra["pages"] = found["pages"]
        else:
            for code, part in ((ROOT, "root"), (COUNTY, "county")):
                own = _stats([s for s in samples if s[0] == code])
                extra[f"{part}_median"], extra[f"{part}_p95"] = own["median"], own["p95"]
        for stat in ("p95", "median"):
            print(json.dumps({"name": f"http_{name}_{stat}_{n}_{backend}", "value": stats[stat], "unit": "ms",
                              **extra}))
        print(json.dumps({"name": f"http_requests_per_second_{name}_{n}_{backend}",
                          "value": round(stats["requests"] / run_["elapsed"], 1), "unit": "requests/s", **common}))
        errors[name] = sum(1 for _label, _ms, ok in samples if not ok)
    print(json.dumps({"name": f"http_errors_{n}_{backend}", "value": sum(errors.values()), "unit": "requests",
                      **errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
