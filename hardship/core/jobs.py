"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, inline otherwise.

A job function is declared with :func:`job` and takes the job's record followed by plain ids
(never ORM objects)::

    @job("imports")
    def import_households(run, upload_id): ...

    run = import_households.enqueue(tenant, upload_id, user=current_user)

This module is the job runner; it knows nothing of tenants. The record's model registers itself
with :func:`records` (``hardship.jobs.models``), and the layer that owns isolation registers with
:func:`scope_restorer` how a job gets back the scope of the tenant it was started for (``tenants``).

Transactions: ``enqueue`` only adds the record to the caller's transaction; the job is queued (or,
inline, run) once that transaction commits, so it never starts on work the caller rolled back. The
runner owns the job's own transactions: it commits the start, the end, and each checkpoint
(:func:`checkpoint`); a failure rolls back to the last checkpoint and is recorded.

A job that dies with its process (a worker killed, a machine restarted) cannot record its own end. While a
job runs with ``REDIS_URL`` set, a thread of its process keeps a Redis key alive (its *heartbeat*, expiring
after ``JOB_HEARTBEAT_SECONDS``); :func:`sweep` marks failed every job recorded as running whose heartbeat
is gone (without Redis: that started more than ``JOB_TIMEOUT`` ago), keeping what its checkpoints committed
and calling its ``on_failure`` (an import drops its stored file). Workers sweep when they start and at each
of their maintenance rounds; ``flask --app wsgi hardship jobs sweep`` does it by hand.
"""

from __future__ import annotations

import threading
import traceback
import uuid
from contextlib import AbstractContextManager
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from hardship.core.db import db, utcnow
from hardship.core.errors import AppError

QUEUES = ("default", "imports", "reports")
_REGISTRY: dict[str, tuple] = {}
_LABELS: dict[str, object] = {}
_HOOKS: dict = {"model": None, "scope": None, "all": None}
#: ``Session.info`` key of the jobs a transaction started: queued or run when it commits
_PENDING = "hardship.jobs.pending"

#: what people read for each status
STATUS_LABELS = {"queued": _l("Queued"), "started": _l("Running"), "finished": _l("Finished"), "failed": _l("Failed")}


def records(model):
    """Class decorator: ``model`` (id, tenant_id, user_id, name, queue, args, status, progress, total,
    result, error, started_at, finished_at) is where jobs are recorded."""
    _HOOKS["model"] = model
    return model


def scope_restorer(fn):
    """Register ``fn(tenant_id)``, a context manager under which a job of that tenant runs."""
    _HOOKS["scope"] = fn
    return fn


def every_tenant(fn):
    """Register ``fn()``, a context manager under which the runner sees the jobs of every tenant (to sweep)."""
    _HOOKS["all"] = fn
    return fn


def _hook(name: str):
    if _HOOKS[name] is None:  # fail closed: a job never runs without its record and its tenant's scope
        raise RuntimeError(f"no job {name} registered: create the app (it imports hardship.jobs and tenants)")
    return _HOOKS[name]


def job(queue: str = "default", label=None, on_failure=None):
    """Declare a background job on one of :data:`QUEUES`; ``label`` is its name for people;
    ``on_failure(run, *args)`` runs after a failure's rollback, in the transaction that records it."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorator(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        _REGISTRY[name] = (fn, queue, on_failure)
        _LABELS[name] = label or fn.__name__
        fn.job_name = name
        fn.enqueue = lambda tenant, *args, user=None: enqueue(name, tenant, *args, user=user)
        fn.run_inline = lambda tenant, *args, user=None: enqueue(name, tenant, *args, user=user, inline=True)
        return fn

    return decorator


def label_of(name: str) -> str:
    return str(_LABELS.get(name, name.rsplit(".", 1)[-1]))


def queue_name(queue: str) -> str:
    return current_app.config.get("RQ_QUEUE_PREFIX", "") + queue


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def enqueue(name: str, tenant, *args, user=None, inline: bool = False):
    """Record a job in the caller's transaction; when it commits, the job is queued (``inline``, or
    without ``REDIS_URL``: run at once, in this process, before ``commit()`` returns)."""
    _fn, queue, _on_failure = _REGISTRY[name]
    row = _hook("model")(id=str(uuid.uuid4()), tenant_id=tenant.id, user_id=getattr(user, "id", None), name=name,
                         queue=queue, args=list(args), status="queued", progress=0.0, result={})
    db.session.add(row)
    db.session.info.setdefault(_PENDING, []).append((row.id, tenant.id, queue, inline))
    return row


@event.listens_for(Session, "after_commit")
def _start_committed(session) -> None:
    """Start the jobs of a transaction that has just committed. Its work is saved whatever happens here, so
    a job that cannot be started (Redis down) is logged and recorded as failed, never raised: the caller
    would answer "nothing was saved" about a commit that went through."""
    if session.in_nested_transaction():  # a savepoint: the jobs wait for the transaction itself
        return
    for job_id, tenant_id, queue, inline in session.info.pop(_PENDING, ()):
        try:
            if current_app.config.get("REDIS_URL") and not inline:
                from rq import Queue

                Queue(queue_name(queue), connection=redis_connection()).enqueue_call(
                    "hardship.core.jobs.execute", args=(job_id, tenant_id), job_id=job_id,
                    timeout=current_app.config.get("JOB_TIMEOUT", 3600), result_ttl=3600, failure_ttl=86400,
                )
            else:
                execute(job_id, tenant_id)
        except Exception:
            current_app.logger.exception("job %s could not be started", job_id)
            _record_unstarted(job_id, tenant_id, traceback.format_exc(limit=1)[-2000:])


def _record_unstarted(job_id: str, tenant_id: int, error: str) -> None:
    """Mark a committed job that could not be started as failed, in a transaction of its own."""
    try:
        with current_app.app_context(), _hook("scope")(tenant_id):
            model = _hook("model")
            row = db.session.scalar(select(model).where(model.id == job_id))
            if row is not None and row.status == "queued":
                row.status, row.finished_at, row.error = "failed", utcnow(), error
                db.session.commit()
    except Exception:
        current_app.logger.exception("job %s: its failure to start could not be recorded", job_id)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session, transaction) -> None:
    if transaction.parent is None:  # rolled back or closed (a commit has taken them already)
        session.info.pop(_PENDING, None)


def checkpoint(run, progress: float, total: int | None = None, **result) -> None:
    """Record ``run``'s progress (0..1) and commit the job's transaction.

    Progress is committed together with the work it reports, in the job's own transaction: a reader
    sees it while the job runs, and what was reported done stays done if the job dies afterwards (a
    re-run resumes from there). Job code calls this; it never commits by itself."""
    run.progress = max(0.0, min(1.0, progress))
    if total is not None:
        run.total = total
    if result:
        run.result = {**(run.result or {}), **result}
    db.session.commit()


def execute(job_id: str, tenant_id: int) -> None:
    """Run one job in a fresh application context: the RQ entry point, also called inline."""
    from flask import has_app_context

    app = current_app._get_current_object() if has_app_context() else _worker_app()
    with app.app_context():
        _execute(job_id, tenant_id)


def _execute(job_id: str, tenant_id: int) -> None:
    model = _hook("model")
    restore: AbstractContextManager = _hook("scope")(tenant_id)
    with restore:
        row = db.session.scalar(select(model).where(model.id == job_id, model.tenant_id == tenant_id))
        if row is None:
            db.session.rollback()
            return
        fn, _queue, on_failure = _REGISTRY[row.name]
        args = list(row.args)
        with _Heartbeat(job_id):  # beating before the start is committed: a running job always has one
            row.status, row.started_at, row.error = "started", utcnow(), None
            db.session.commit()
            try:
                result = fn(row, *args)
                if isinstance(result, dict):
                    row.result = {**(row.result or {}), **result}
                row.status, row.progress, row.finished_at = "finished", 1.0, utcnow()
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                row = db.session.scalar(select(model).where(model.id == job_id))
                if isinstance(exc, AppError):
                    # a refusal people can act on (e.g. a file that cannot be imported): its message is the job's error
                    current_app.logger.info("job %s refused: %s", job_id, exc.message)
                    row.error = f"{type(exc).__name__}: {exc.message}"
                    row.result = {**(row.result or {}), "refused": str(exc.message)}
                else:
                    current_app.logger.exception("job %s failed", job_id)
                    row.error = traceback.format_exc(limit=3)[-2000:]
                row.status, row.finished_at = "failed", utcnow()
                if on_failure is not None:
                    on_failure(row, *args)
                db.session.commit()


# ---------------------------------------------------------------- heartbeats and the sweep

def _heartbeat_key(job_id: str) -> str:
    return f"{queue_name('')}hardship:heartbeat:{job_id}"


def _heartbeat_seconds() -> float:
    return float(current_app.config.get("JOB_HEARTBEAT_SECONDS", 60))


class _Heartbeat:
    """While a job runs (with ``REDIS_URL``), a key that expires after ``JOB_HEARTBEAT_SECONDS`` unless a thread
    of the job's process refreshes it, three times as often: a process that is killed stops refreshing it."""

    def __init__(self, job_id: str):
        self.key, self.ttl = _heartbeat_key(job_id), _heartbeat_seconds()
        self.redis = redis_connection() if current_app.config.get("REDIS_URL") else None
        self.done = threading.Event()
        self.logger = current_app.logger
        self.thread = threading.Thread(target=self._keep, name=f"heartbeat {job_id}", daemon=True)

    def beat(self) -> None:
        try:
            self.redis.set(self.key, "1", px=max(1, int(self.ttl * 1000)))
        except Exception:  # Redis unreachable for a moment: the next beat tries again
            self.logger.warning("job heartbeat %s could not be written", self.key, exc_info=True)

    def _keep(self) -> None:
        while not self.done.wait(self.ttl / 3):
            self.beat()

    def __enter__(self):
        if self.redis is not None:
            self.beat()
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.redis is None:
            return
        self.done.set()
        self.thread.join()
        try:
            self.redis.delete(self.key)
        except Exception:
            self.logger.warning("job heartbeat %s could not be deleted", self.key, exc_info=True)
        self.redis.close()


def _alive(redis, job_id: str, started_at) -> bool:
    if redis is not None:
        return bool(redis.exists(_heartbeat_key(job_id)))
    limit = timedelta(seconds=current_app.config.get("JOB_TIMEOUT", 3600))
    return started_at is not None and started_at > utcnow() - limit


def sweep() -> list[str]:
    """Mark as failed every job recorded as running whose process is gone (its heartbeat expired; without
    Redis: started more than ``JOB_TIMEOUT`` ago), each in a transaction of its own under its tenant's scope,
    with what its checkpoints committed kept and its ``on_failure`` called (an import drops its file).
    Returns the ids of the jobs marked."""
    model = _hook("model")
    with _hook("all")():
        running = db.session.execute(select(model.id, model.tenant_id, model.started_at)
                                     .where(model.status == "started")).all()
        db.session.rollback()
    if not running:
        return []
    redis = redis_connection() if current_app.config.get("REDIS_URL") else None
    try:
        gone = [(job_id, tenant_id) for job_id, tenant_id, started_at in running
                if not _alive(redis, job_id, started_at)]
    finally:
        if redis is not None:
            redis.close()
    swept = []
    for job_id, tenant_id in gone:
        with _hook("scope")(tenant_id):
            row = db.session.scalar(select(model).where(model.id == job_id).with_for_update())
            if row is None or row.status != "started":  # it ended meanwhile
                db.session.rollback()
                continue
            _fn, _queue, on_failure = _REGISTRY.get(row.name, (None, None, None))
            row.status, row.finished_at = "failed", utcnow()
            row.error = f"WorkerLost: the heartbeat of the process running it expired (started at {row.started_at})"
            row.result = {**(row.result or {}), "stopped": True}  # the job's page says so, in its reader's words
            if on_failure is not None:
                on_failure(row, *list(row.args))
            db.session.commit()
            current_app.logger.warning("job %s: its process stopped; marked as failed", job_id)
            swept.append(job_id)
    return swept


_app = None


def _worker_app():
    if _app is None:  # the core does not build the app: the worker command hands it over
        raise RuntimeError("no app for jobs: run the worker with `flask --app wsgi hardship worker`")
    return _app


def set_worker_app(app) -> None:
    global _app
    _app = app


def run_worker(queues=QUEUES, burst: bool = False) -> None:
    """Work the queues (RQ); sweep the jobs of dead processes when starting and at each maintenance round."""
    from rq import SimpleWorker

    class Worker(SimpleWorker):
        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            _sweep_logged()

    set_worker_app(current_app._get_current_object())
    names = [queue_name(q) for q in queues]
    interval = max(1, int(current_app.config.get("JOB_HEARTBEAT_SECONDS", 60) * 2))
    worker = Worker(names, connection=redis_connection(), maintenance_interval=interval)
    _sweep_logged()
    worker.work(burst=burst)


def _sweep_logged() -> None:
    try:
        sweep()
    except Exception:  # the database unreachable for a moment: the next round sweeps
        db.session.rollback()
        current_app.logger.exception("sweeping the jobs of stopped processes failed")
