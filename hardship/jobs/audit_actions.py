"""What the audit log calls the jobs' actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.audit.registry import action, record, text
from hardship.core.db import db
from hardship.jobs.models import Job


def _jobs(keys: list[str], viewer_code: str) -> dict:
    rows = db.session.execute(select(Job.id, Job.output_name).where(Job.id.in_(keys))).all()
    return {i: (name or i[:8], url_for("jobs_ui.job", tenant_code=viewer_code, job_id=i)) for i, name in rows}


record("Job", _l("Background job"), _jobs)
action("job.download", _l("Job result downloaded"), file=text(_l("File")))
