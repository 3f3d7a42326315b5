"""One owner of the transaction: the request, the CLI command or the job runner commits; operations and
job code never do. Each test runs work inside a transaction it then rolls back, and counts every
commit any connection made meanwhile."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from hardship.core.db import db
from tests.conftest import PASSWORD, system


@contextmanager
def counted_commits():
    commits: list = []

    def on_commit(conn):
        commits.append(conn)

    event.listen(Engine, "commit", on_commit)
    try:
        yield commits
    finally:
        event.remove(Engine, "commit", on_commit)


def _counts() -> dict[str, int]:
    from hardship.accounts.models import ApiToken, User
    from hardship.archives.importing.models import ImportUpload
    from hardship.archives.models import Household
    from hardship.audit.models import AuditEvent
    from hardship.jobs.models import Job

    return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (User, ApiToken, AuditEvent, Job, ImportUpload, Household)}


def test_accounts_operations_never_commit(app, tree):
    from hardship.accounts import operations as ops
    from hardship.core.errors import Unauthorized
    from tenants.scoping import get_tenant, system_scope

    with system(app):
        before = _counts()
        with counted_commits() as commits:
            user = ops.create_user(get_tenant("K0101"), "new_clerk", PASSWORD, ["clerk"])
            db.session.flush()
            ops.update_user(user, display_name="新办事员", roles=["clerk", "auditor"])
            _token, row = ops.issue_token(user)
            db.session.flush()
            ops.revoke_token(row)
            ops.end_sessions(user)
            with pytest.raises(Unauthorized):  # a refused login is recorded, for its caller to commit
                ops.authenticate("new_clerk", "wrong password")
            assert ops.authenticate("new_clerk", PASSWORD).username == "new_clerk"
            db.session.rollback()
        assert commits == []
        with system_scope():  # authenticate scoped the context to the user's union
            assert _counts() == before


def test_an_import_job_commits_only_at_the_runners_checkpoints(app, tree, monkeypatch):
    from hardship.archives.importing import job as importer
    from hardship.archives.models import Household
    from hardship.jobs.models import Job
    from tenants.scoping import get_tenant
    from tests.archives.test_import import build_sheet, to_csv

    checkpoints: list[float] = []
    monkeypatch.setattr(Job, "report", lambda run, progress, total=None, **result: checkpoints.append(progress))
    monkeypatch.setattr(importer, "BATCH_SIZE", 10)
    with system(app):
        before = _counts()
        with counted_commits() as commits:
            run = importer.start_household_import(get_tenant("K0101"), "a.csv", to_csv(build_sheet(40)))
            result = importer.run_import(run, run.args[0])
            landed = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
            assert result["imported"] == landed > 0 and len(checkpoints) >= 4
            db.session.rollback()  # the job was never started: it starts when the caller commits
        assert commits == []
        assert _counts() == before


def test_a_job_starts_only_when_its_callers_transaction_commits(app, tree):
    from hardship.jobs.models import Job
    from tenants.jobs import export_directory
    from tenants.scoping import get_tenant

    with system(app):
        k0101 = get_tenant("K0101")
        export_directory.enqueue(k0101, k0101.id)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
        job_id = export_directory.enqueue(k0101, k0101.id).id
        assert db.session.scalar(sa.select(Job.status).where(Job.id == job_id)) == "queued"  # flushed, not run
        db.session.commit()  # inline: it runs now, in its own transactions
        assert db.session.scalar(sa.select(Job.status).where(Job.id == job_id)) == "finished"


def test_a_page_commits_when_its_view_returns_and_rolls_back_when_it_raises(app, tree):
    from hardship import audit
    from hardship.audit.models import AuditEvent
    from hardship.web import transactional
    from tenants.scoping import get_tenant, system_scope

    def write_then(outcome):
        audit.record("test.page", get_tenant("K0101"), object_type="test", object_id=outcome)
        if outcome == "raise":
            raise RuntimeError("the view failed")
        return outcome

    with app.test_request_context(), system_scope():
        with pytest.raises(RuntimeError):
            transactional(write_then)("raise")
        assert transactional(write_then)("return") == "return"
        db.session.rollback()  # whatever the wrapper left uncommitted goes now
        kept = db.session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "test.page")).all()
    assert kept == ["return"]


def test_every_page_runs_in_the_requests_transaction(app):
    from hardship.web import transactional

    pages = [e for e in app.view_functions if e != "static" and e.split(".")[0] != "api"]
    assert "accounts_ui.login" in pages and "jobs_ui.job" in pages
    wrapped = transactional(lambda: None).__code__
    assert [e for e in pages if app.view_functions[e].__code__ is not wrapped] == []
