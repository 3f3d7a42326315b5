"""The pages of a tenant's background jobs."""

from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core.db import db
from hardship.jobs.models import Job
from hardship.web import tenant_blueprint
from tenants.scoping import get_owned, subtree_filter

bp = tenant_blueprint("jobs_ui", __name__)


@bp.route("/jobs")
def jobs():
    require(current_user, "jobs.read")
    rows = db.session.scalars(select(Job).where(subtree_filter(Job, g.tenant.path))
                              .order_by(Job.created_at.desc()).limit(100)).all()
    return render_template("jobs/list.html", jobs=rows)


@bp.route("/jobs/<job_id>")
def job(job_id):
    row = get_owned(Job, job_id, g.tenant)
    if request.args.get("format") == "json":
        return jsonify(row.to_dict())
    return render_template("jobs/job.html", job=row)


@bp.route("/jobs/<job_id>/output")
def job_output(job_id):
    return get_owned(Job, job_id, g.tenant).output_response(current_user)
