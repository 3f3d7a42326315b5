"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, inline otherwise.

A job function is declared with :func:`job` and takes the :class:`Job` row followed by plain
ids (never ORM objects)::

    @job("imports")
    def import_households(job, upload_id): ...

    run = import_households.enqueue(tenant, upload_id, user=current_user)

``enqueue`` commits the job row (the worker must see it), then pushes its id to the named
queue. The worker (``flask --app wsgi hardship worker``) reloads the row, re-establishes the
tenant scope of the tenant the job was started for, runs the function, and records status,
progress, result and any output file on the row, so ``GET /api/v1/jobs/{id}`` reads the same
thing whether the job ran inline or on a worker, and only inside the tenant's subtree.
"""

from __future__ import annotations

import traceback
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.db import TenantOwned, UTCDateTime, db, utcnow
from hardship.core.errors import AppError

QUEUES = ("default", "imports", "reports")
_REGISTRY: dict[str, tuple] = {}


class Job(TenantOwned, db.Model):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    queue: Mapped[str] = mapped_column(sa.String(32))
    args: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    total: Mapped[int | None] = mapped_column()
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    output: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    output_name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def report(self, progress: float, total: int | None = None, **result) -> None:
        """Record progress (0..1) and commit it, so that readers see it while the job runs."""
        self.progress = max(0.0, min(1.0, progress))
        if total is not None:
            self.total = total
        if result:
            self.result = {**(self.result or {}), **result}
        db.session.commit()

    @property
    def label(self) -> str:
        return str(_LABELS.get(self.name, self.name.rsplit(".", 1)[-1]))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    def output_response(self, user):
        """The file this job produced, as a download for the user who started the job (others of the
        subtree see the job's status, not its file, which may hold personal data); audited."""
        from hardship.core import audit
        from hardship.core.downloads import xlsx_download
        from hardship.core.errors import Forbidden, NotFound

        if self.output is None:
            raise NotFound()
        if user is not None and user.id != self.user_id:
            raise Forbidden(_l("Only the person who started this job can download its file."))
        if user is not None:
            audit.record("job.download", user.tenant, self, user=user, detail={"file": self.output_name})
            db.session.commit()
        return xlsx_download(self.output, self.output_name or "export.xlsx")

    def to_dict(self) -> dict:
        # a refusal's message is meant for people; a crash's traceback stays in the database and the log
        error = (self.result or {}).get("refused") or (str(_l("The job failed; see the server log.")) if self.error
                                                       else None)
        return {"id": self.id, "name": self.name.rsplit(".", 1)[-1], "queue": self.queue, "status": self.status,
                "progress": self.progress, "total": self.total, **(self.result or {}),
                "error": error, "has_output": self.output_name is not None,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


#: what people read for each status
STATUS_LABELS = {"queued": _l("Queued"), "started": _l("Running"), "finished": _l("Finished"), "failed": _l("Failed")}
_LABELS: dict[str, object] = {}


def job(queue: str = "default", label=None):
    """Declare a background job on one of :data:`QUEUES`; ``label`` is its name for people."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorator(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        _REGISTRY[name] = (fn, queue)
        _LABELS[name] = label or fn.__name__
        fn.job_name = name
        fn.enqueue = lambda tenant, *args, user=None: enqueue(name, tenant, *args, user=user)
        fn.run_inline = lambda tenant, *args, user=None: enqueue(name, tenant, *args, user=user, inline=True)
        return fn

    return decorator


def queue_name(queue: str) -> str:
    return current_app.config.get("RQ_QUEUE_PREFIX", "") + queue


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def enqueue(name: str, tenant, *args, user=None, inline: bool = False) -> Job:
    """Record a job and queue it (``inline``, or without ``REDIS_URL``: run it now, in this process)."""
    fn, queue = _REGISTRY[name]
    row = Job(id=str(uuid.uuid4()), tenant_id=tenant.id, user_id=getattr(user, "id", None), name=name,
              queue=queue, args=list(args))
    db.session.add(row)
    db.session.commit()
    if current_app.config.get("REDIS_URL") and not inline:
        from rq import Queue

        Queue(queue_name(queue), connection=redis_connection()).enqueue_call(
            "hardship.core.jobs.execute", args=(row.id,), job_id=row.id,
            timeout=current_app.config.get("JOB_TIMEOUT", 3600), result_ttl=3600, failure_ttl=86400,
        )
    else:
        execute(row.id)
        db.session.expire(row)  # it ran in another session: reload its status and result on access
    return row


def execute(job_id: str) -> None:
    """Run one job in a fresh application context: the RQ entry point, also called inline."""
    from flask import has_app_context

    app = current_app._get_current_object() if has_app_context() else _worker_app()
    with app.app_context():
        _execute(job_id)


def _execute(job_id: str) -> None:
    from tenants.models import Tenant
    from tenants.scoping import scope, system_scope

    with system_scope():
        row = db.session.scalar(select(Job).where(Job.id == job_id))
        if row is None:
            return
        tenant_path = db.session.scalar(select(Tenant.path).where(Tenant.id == row.tenant_id))
        fn, _queue = _REGISTRY[row.name]  # before the commit expires ``row`` (unreadable outside the scope)
        db.session.commit()
    with scope(tenant_path):
        row = db.session.scalar(select(Job).where(Job.id == job_id))
        row.status, row.started_at, row.error = "started", utcnow(), None
        db.session.commit()
        try:
            result = fn(row, *row.args)
            if isinstance(result, dict):
                row.result = {**(row.result or {}), **result}
            row.status, row.progress, row.finished_at = "finished", 1.0, utcnow()
            db.session.commit()
        except AppError as exc:
            # a refusal people can act on (e.g. a file that cannot be imported): its message is the job's error
            db.session.rollback()
            current_app.logger.info("job %s refused: %s", job_id, exc.message)
            row = db.session.scalar(select(Job).where(Job.id == job_id))
            row.status, row.finished_at = "failed", utcnow()
            row.error = f"{type(exc).__name__}: {exc.message}"
            row.result = {**(row.result or {}), "refused": str(exc.message)}
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("job %s failed", job_id)
            row = db.session.scalar(select(Job).where(Job.id == job_id))
            row.status, row.finished_at = "failed", utcnow()
            row.error = traceback.format_exc(limit=3)[-2000:]
            db.session.commit()


_app = None


def _worker_app():
    global _app
    if _app is None:
        from hardship.app import create_app

        _app = create_app()
    return _app


def set_worker_app(app) -> None:
    global _app
    _app = app


def run_worker(queues=QUEUES, burst: bool = False) -> None:
    from rq import SimpleWorker

    set_worker_app(current_app._get_current_object())
    names = [queue_name(q) for q in queues]
    worker = SimpleWorker(names, connection=redis_connection())
    worker.work(burst=burst)
