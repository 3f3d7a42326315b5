"""A job whose process is killed: its heartbeat expires and the sweep marks it failed, keeping the rows it had
committed and dropping its stored upload (a real RQ worker process, SIGKILLed half-way through an import)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hardship.archives.importing.models import ImportUpload
from hardship.archives.models import Household
from hardship.core.db import db, utcnow
from hardship.jobs.models import Job
from tests.archives import test_import
from tests.archives.test_import import build_sheet, count, to_xlsx, upload
from tests.conftest import TEST_CONFIG, system, worker_env
from tests.jobs.test_jobs import REPO

REDIS_URL = os.environ.get("REDIS_URL")
county = test_import.county  # the fixture: clerks on the tree, people archived before the import
STOPPED = ("The process running this job stopped before the job finished, at %(progress)s%%; what it had reported "
           "done is kept. Start it again: nothing already done is repeated.")

#: the worker command, stalling (for ever) after the import's first committed batch, as a killed worker would
STALLING_WORKER = """
import pathlib, sys, time
from hardship.archives.importing import job

marker = pathlib.Path(sys.argv[1])

def stall(batch_number):
    marker.write_text(str(batch_number))
    time.sleep(600)

job._checkpoint = stall
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "hardship", "worker", "--queues", "imports", "--burst"]
main()
"""


def _job(app, job_id: str) -> Job:
    with system(app):
        row = db.session.scalar(sa.select(Job).where(Job.id == job_id))
        db.session.expunge(row)
        return row


def _content_kept(app) -> list[bool]:
    with system(app):
        return [c is not None for c in db.session.scalars(sa.select(ImportUpload.content_enc).order_by(ImportUpload.id))]


def _wait_for(path, proc, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, (path.parent / "worker.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the worker never reached its first batch"
        time.sleep(0.05)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_a_killed_worker_s_job_is_swept(committed, app, county, api_as, tmp_path):
    from redis import Redis
    from rq import Queue

    app.config.update(REDIS_URL=REDIS_URL, JOB_HEARTBEAT_SECONDS=1)
    queue = Queue(TEST_CONFIG["RQ_QUEUE_PREFIX"] + "imports", connection=Redis.from_url(REDIS_URL))
    queue.delete(delete_jobs=True)
    env = {**worker_env(), "JOB_HEARTBEAT_SECONDS": "1"}
    try:
        sheet = build_sheet(2000)  # four batches of 500 rows
        api = api_as("k_clerk")
        started = upload(api, to_xlsx(sheet), "名单.xlsx")
        assert started.status_code == 202, started.json
        job_id = started.json["job"]
        marker = tmp_path / "first-batch"
        log = tmp_path / "worker.log"
        with log.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-c", STALLING_WORKER, str(marker)], cwd=REPO, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
            try:
                _wait_for(marker, proc)
                time.sleep(1.5)  # longer than the heartbeat's life: it is kept alive while the process lives
                result = app.test_cli_runner().invoke(args=["hardship", "jobs", "sweep"])
                assert result.exit_code == 0 and "0 jobs marked as failed" in result.output, result.output
                row = _job(app, job_id)
                assert row.status == "started" and row.progress == 0.25, (row.status, row.progress)
            finally:
                proc.send_signal(signal.SIGKILL)  # the worker dies as an OOM kill or a power cut kills it
                proc.wait(timeout=30)
        landed = count(app, Household, Household.import_key.is_not(None))
        first_batch = sheet.valid_rows_among(range(2, 502))
        assert landed == first_batch == row.result["imported"]
        assert _content_kept(app) == [True]

        # dead: still "running" at 25 % until its heartbeat has expired and something sweeps
        time.sleep(1.5)
        assert _job(app, job_id).status == "started"
        result = app.test_cli_runner().invoke(args=["hardship", "jobs", "sweep"])
        assert result.exit_code == 0 and f"job {job_id}" in result.output and "1 jobs" in result.output, result.output

        row = _job(app, job_id)
        assert row.status == "failed" and row.finished_at is not None and "WorkerLost" in row.error
        assert row.result["imported"] == landed and count(app, Household, Household.import_key.is_not(None)) == landed
        assert _content_kept(app) == [False]  # the encrypted upload is deleted
        body = api.get(f"/api/v1/jobs/{job_id}").json
        message = test_import.gettext_in(app, "zh_Hans_CN", STOPPED, progress=25)
        assert body["status"] == "failed" and body["error"] == message and body["imported"] == landed, body
        assert "25%" in message

        # a second sweep finds nothing; the file imported again completes the import without duplicates
        assert "0 jobs marked" in app.test_cli_runner().invoke(args=["hardship", "jobs", "sweep"]).output
    finally:
        queue.delete(delete_jobs=True)
        app.config["REDIS_URL"] = None


def _running_imports(app, minutes_ago: list[int]) -> list[str]:
    """Import jobs recorded as running (started ``minutes_ago``), each with its stored upload."""
    from hardship.archives.jobs import import_households
    from hardship.core import crypto
    from tenants.scoping import get_tenant

    with system(app):
        tenant = get_tenant("K0101")
        uploads = [ImportUpload(tenant_id=tenant.id, kind="households", filename=f"{n}.xlsx", size=1, sha256="0" * 64,
                                locale="zh_Hans_CN", content_enc=crypto.encrypt_bytes(b"x", "import_uploads.content"))
                   for n in range(len(minutes_ago))]
        db.session.add_all(uploads)
        db.session.flush()
        jobs = []
        for n, minutes in enumerate(minutes_ago):
            row = Job(id=f"00000000-0000-0000-0000-00000000000{n}", tenant_id=tenant.id, name=import_households.job_name,
                      queue="imports", args=[uploads[n].id], status="started", progress=0.5,
                      result={"imported": 7}, started_at=utcnow() - timedelta(minutes=minutes))
            db.session.add(row)
            jobs.append(row.id)
        db.session.commit()
    return jobs


def test_sweep_without_redis_marks_jobs_started_before_the_timeout(app, county, api_as, client, login):
    """Without Redis (inline jobs) there is no heartbeat: a job still "running" after ``JOB_TIMEOUT`` is dead."""
    from flask_babel import force_locale

    from hardship.core.jobs import sweep

    jobs = _running_imports(app, [120, 5])  # one started two hours ago, one five minutes ago
    with app.app_context(), force_locale("zh_Hans_CN"):
        assert sweep() == [jobs[0]]
    assert [_job(app, j).status for j in jobs] == ["failed", "started"]
    assert _content_kept(app) == [False, True]
    login("k0101_all")
    page = client.get(f"/t/K0101/jobs/{jobs[0]}").get_data(as_text=True)
    assert test_import.gettext_in(app, "zh_Hans_CN", STOPPED, progress=50) in page


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_a_worker_sweeps_when_it_starts(rq_worker, app, county):
    """A job recorded as running without a heartbeat (its worker died) is failed by the next worker to start."""
    jobs = _running_imports(app, [1])
    proc = rq_worker()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = _job(app, jobs[0])
    assert row.status == "failed" and row.result["stopped"] is True and row.result["imported"] == 7
    assert _content_kept(app) == [False]
