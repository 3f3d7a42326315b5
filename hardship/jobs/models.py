"""The record of each background job: status, progress, result and output file, in its tenant."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship import audit
from hardship.core import jobs
from hardship.core.db import UTCDateTime, db, utcnow
from hardship.core.downloads import xlsx_download
from hardship.core.errors import Forbidden, NotFound
from tenants.models import TenantOwned


@jobs.records
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
        """A checkpoint of the runner (:func:`hardship.core.jobs.checkpoint`): progress and the work it
        reports are committed together."""
        jobs.checkpoint(self, progress, total, **result)

    @property
    def label(self) -> str:
        return jobs.label_of(self.name)

    @property
    def status_label(self) -> str:
        return str(jobs.STATUS_LABELS.get(self.status, self.status))

    @property
    def stopped_message(self) -> str | None:
        """Why a job that was running has failed when its process stopped (:func:`hardship.core.jobs.sweep`)."""
        if not (self.result or {}).get("stopped"):
            return None
        return str(_l("The process running this job stopped before the job finished, at %(progress)s%%; what it "
                      "had reported done is kept. Start it again: nothing already done is repeated.",
                      progress=round((self.progress or 0.0) * 100)))

    def output_response(self, user):
        """The file this job produced, as a download for the user who started the job (others of the
        subtree see the job's status, not its file, which may hold personal data); audited in the
        request's transaction."""
        if self.output is None:
            raise NotFound()
        if user is not None and user.id != self.user_id:
            raise Forbidden(_l("Only the person who started this job can download its file."))
        if user is not None:
            audit.record("job.download", user.tenant, self, user=user, detail={"file": self.output_name})
        return xlsx_download(self.output, self.output_name or "export.xlsx")

    def to_dict(self) -> dict:
        # a refusal's message is meant for people; a crash's traceback stays in the database and the log
        error = (self.result or {}).get("refused") or self.stopped_message or (
            str(_l("The job failed; see the server log.")) if self.error else None)
        return {"id": self.id, "name": self.name.rsplit(".", 1)[-1], "queue": self.queue, "status": self.status,
                "progress": self.progress, "total": self.total, **(self.result or {}),
                "error": error, "has_output": self.output_name is not None,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}
