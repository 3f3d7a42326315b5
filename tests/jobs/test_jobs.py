"""Background jobs: inline without Redis, and on RQ with a real worker process.

Both ways record the same thing on the ``jobs`` row, which the API reads inside the
caller's subtree; the job itself runs under the scope of the tenant it was started for.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL, TEST_CONFIG, system

REPO = Path(__file__).resolve().parents[2]
ZH_CATALOG = REPO / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"
HEADER_MSGIDS = ("Code", "Name", "Level", "Parent", "Division code", "Users")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _expected_headers(app) -> list[str]:
    """The header row as the zh catalog gives it (English msgids while it is not compiled)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return [gettext(m) for m in HEADER_MSGIDS]


def _read_xlsx(data: bytes) -> tuple[str, list[list]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        sheet = workbook.worksheets[0]
        return sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _check_k0101_export(app, api, job_id: str) -> None:
    """The finished directory export of K0101: the job status, then the xlsx itself."""
    body = api.get(f"/api/v1/jobs/{job_id}").json
    assert body["status"] == "finished", body
    assert body["rows"] == 2 and body["total"] == 2 and body["progress"] == 1.0  # K0101, E0101001
    assert body["has_output"] is True and body["error"] is None

    resp = api.get(f"/api/v1/jobs/{job_id}/output")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "K0101-" in resp.headers["Content-Disposition"]
    title, rows = _read_xlsx(resp.data)
    assert title == "工会名录"
    header, data = rows[0], rows[1:]
    assert header == _expected_headers(app)
    if ZH_CATALOG.exists():
        assert all(CJK.search(h) for h in header), header
    assert [r[0] for r in data] == ["K0101", "E0101001"]  # only K0101's subtree, in path order
    by_code = {r[0]: r for r in data}
    assert by_code["K0101"][3] == "C01" and by_code["E0101001"][3] == "K0101"  # parent
    assert by_code["K0101"][5] == 1 and by_code["E0101001"][5] == 1  # one user each
    assert all(CJK.search(r[2]) for r in data)  # level names in Chinese


def _enqueue_out_of_scope(app) -> str:
    """An export started for K0101 but asking for K0201: under K0101's scope the job cannot see
    K0201, so it fails (proving it did not run with a wider scope)."""
    from hardship.core.db import db
    from tenants.jobs import export_directory
    from tenants.scoping import get_tenant

    with system(app):
        k0101, k0201 = get_tenant("K0101"), get_tenant("K0201")
        run = export_directory.enqueue(k0101, k0201.id)
        job_id = run.id
        db.session.commit()
    return job_id


def _job_row(app, job_id: str) -> dict:
    from hardship.core.db import db
    from hardship.jobs.models import Job

    with system(app):
        row = db.session.scalar(sa.select(Job).where(Job.id == job_id))
        return {"status": row.status, "error": row.error, "started_at": row.started_at,
                "finished_at": row.finished_at, "result": dict(row.result or {}),
                "has_output": row.output_name is not None}


# --- inline (no REDIS_URL) ------------------------------------------------------------------


def test_inline_export_runs_in_the_request(app, tree, api_as):
    assert app.config["REDIS_URL"] is None
    api = api_as("k0101_all")
    resp = api.post("/api/v1/tenants/K0101/exports")
    assert resp.status_code == 202, resp.json
    job_id = resp.json["job"]
    # the job runs once the request's transaction commits, before the response: no worker ran it
    assert resp.json["status"] == "queued"
    _check_k0101_export(app, api, job_id)
    # an ancestor's user sees it too ...
    assert api_as("c01_all").get(f"/api/v1/jobs/{job_id}").json["status"] == "finished"
    # ... a sibling subtree's user does not know it exists
    for user in ("k0102_all", "c02_all", "e0101001_all"):
        other = api_as(user)
        assert other.get(f"/api/v1/jobs/{job_id}").status_code == 404, user
        assert other.get(f"/api/v1/jobs/{job_id}/output").status_code == 404, user
    # nor can one start an export of a subtree outside one's own
    assert api_as("k0102_all").post("/api/v1/tenants/K0101/exports").status_code == 404
    # an export is audited in the tenant
    with system(app):
        from hardship.audit.models import AuditEvent
        from hardship.core.db import db

        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "tenant.export_directory")).all()
        assert [e.detail for e in events] == [{"job": job_id, "rows": 2}]


def test_a_job_that_cannot_be_queued_fails_without_undoing_the_request(app, tree, api_as):
    """Redis down when the request commits: the request's work is saved, so the answer is its success, and
    the job is recorded as failed (not left queued for ever, not a 500 saying nothing was saved)."""
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    api = api_as("k0101_all")
    resp = api.post("/api/v1/tenants/K0101/exports")
    assert resp.status_code == 202, resp.json
    app.config["REDIS_URL"] = None
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
    assert job["status"] == "failed" and job["error"], job  # the cause is in the server log, not shown
    with system(app):
        from hardship.audit.models import AuditEvent
        from hardship.core.db import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "tenant.export_directory")) == 0


def test_unknown_job_is_404(app, tree, api_as):
    api = api_as("p01_all")
    assert api.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/api/v1/jobs/not-a-uuid/output").status_code == 404


def test_inline_failing_job_records_failure(app, tree, api_as):
    job_id = _enqueue_out_of_scope(app)
    row = _job_row(app, job_id)
    assert row["status"] == "failed"
    assert "tenant not in scope" in row["error"] and "LookupError" in row["error"]
    assert row["finished_at"] is not None and not row["has_output"]
    body = api_as("k0101_all").get(f"/api/v1/jobs/{job_id}").json
    # the client learns that it failed, not the traceback (which stays in the database and the log)
    assert body["status"] == "failed" and body["error"] and "LookupError" not in body["error"]


# --- RQ with a real worker process ----------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def rq_app(app):
    """The app with ``REDIS_URL`` set; the test's RQ queues are deleted afterwards."""
    from redis import Redis
    from rq import Queue

    from hardship.core.jobs import QUEUES

    app.config["REDIS_URL"] = REDIS_URL
    redis = Redis.from_url(REDIS_URL)
    queues = [Queue(TEST_CONFIG["RQ_QUEUE_PREFIX"] + q, connection=redis) for q in QUEUES]
    for q in queues:
        q.delete(delete_jobs=True)
    try:
        yield app, queues
    finally:
        for q in queues:
            q.delete(delete_jobs=True)
        redis.close()


def worker_env() -> dict:
    """The environment of a worker process started as in production, on the tests' database and queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PYTEST_"))}
    env.update({
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "HARDSHIP_INSTANCE": os.environ["HARDSHIP_INSTANCE"],
        "RQ_QUEUE_PREFIX": TEST_CONFIG["RQ_QUEUE_PREFIX"],
        "SECRET_KEY": TEST_CONFIG["SECRET_KEY"],
        "PII_KEYS": TEST_CONFIG["PII_KEYS"],
        "ARGON2_PROFILE": "fast",
    })
    return env


def _run_worker(timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "hardship", "worker", "--burst"], cwd=REPO,
                          env=worker_env(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_worker_runs_queued_jobs_in_scope(rq_app, tree, api_as):
    app, queues = rq_app
    reports = next(q for q in queues if q.name.endswith("reports"))
    api = api_as("k0101_all")

    resp = api.post("/api/v1/tenants/K0101/exports")
    assert resp.status_code == 202, resp.json
    good = resp.json["job"]
    assert resp.json["status"] == "queued"
    bad = _enqueue_out_of_scope(app)

    # on the queue, nothing has run yet
    assert reports.count == 2 and set(reports.job_ids) == {good, bad}
    body = api.get(f"/api/v1/jobs/{good}").json
    assert body["status"] == "queued" and body["progress"] == 0.0 and body["has_output"] is False
    assert _job_row(app, good)["started_at"] is None

    proc = _run_worker()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert reports.count == 0

    _check_k0101_export(app, api, good)
    assert api_as("k0102_all").get(f"/api/v1/jobs/{good}").status_code == 404

    row = _job_row(app, bad)
    assert row["status"] == "failed", row
    assert "tenant not in scope" in row["error"] and "LookupError" in row["error"]
    assert row["started_at"] is not None and row["finished_at"] is not None


def test_worker_cli_errors(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "worker", "--burst"])
    assert result.exit_code == 2 and "REDIS_URL is not set" in result.output
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # never contacted: the queue names are checked first
    result = runner.invoke(args=["hardship", "worker", "--queues", "default,nope", "--burst"])
    assert result.exit_code == 2 and "unknown queues ['nope']" in result.output


def test_only_the_starter_downloads_a_jobs_file(app, tree, api_as, factory):
    """Others of the subtree see the job's status but not its file (it may hold personal data)."""
    factory.user("C01", roles=("reviewer",), username="c01_rev")
    started = api_as("k0101_all").post("/api/v1/tenants/K0101/exports").json["job"]
    assert api_as("k0101_all").get(f"/api/v1/jobs/{started}/output").status_code == 200
    assert api_as("c01_rev").get(f"/api/v1/jobs/{started}").status_code == 200
    assert api_as("c01_rev").get(f"/api/v1/jobs/{started}/output").status_code == 403
