"""Core pages: the audit log and background jobs of a tenant."""

from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core.api import audit_page
from hardship.core.db import db
from hardship.core.jobs import Job
from hardship.web import tenant_blueprint
from tenants.scoping import get_owned, subtree_filter

bp = tenant_blueprint("core_ui", __name__)


@bp.route("/audit")
def audit():
    require(current_user, "audit.read")
    try:
        page = max(1, min(100000, int(request.args.get("page", 1))))
    except ValueError:
        page = 1
    action = request.args.get("action") or None
    events = audit_page(g.tenant, action, page)
    return render_template("core/audit.html", events=events, page=page, action=action or "")


@bp.route("/jobs")
def jobs():
    require(current_user, "jobs.read")
    rows = db.session.scalars(select(Job).where(subtree_filter(Job, g.tenant.path))
                              .order_by(Job.created_at.desc()).limit(100)).all()
    return render_template("core/jobs.html", jobs=rows)


@bp.route("/jobs/<job_id>")
def job(job_id):
    row = get_owned(Job, job_id, g.tenant)
    if request.args.get("format") == "json":
        return jsonify(row.to_dict())
    return render_template("core/job.html", job=row)


@bp.route("/jobs/<job_id>/output")
def job_output(job_id):
    return get_owned(Job, job_id, g.tenant).output_response(current_user)
