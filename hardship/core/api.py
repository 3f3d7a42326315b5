"""Core API resources: the OpenAPI document, background jobs and the audit log."""

from flask import jsonify
from flask_login import current_user
from marshmallow import fields, validate
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.api import BaseSchema, api, between, load_query, route
from hardship.core.audit import AuditEvent
from hardship.core.db import db
from hardship.core.fields import Text
from hardship.core.jobs import Job
from tenants.scoping import get_owned, get_tenant, subtree_filter


@api.route("/openapi.json")
def openapi_json():
    from hardship.api.openapi import build_spec

    return jsonify(build_spec())


class StartedJob(BaseSchema):
    """A background job just started: poll ``/jobs/{id}``."""

    job = fields.String(required=True, metadata={"description": "the job's id"})
    status = fields.String(required=True)


class RejectedRow(BaseSchema):
    row = fields.Integer(required=True)
    field = fields.String(required=True)
    column = fields.String(required=True)
    message = fields.String(required=True)


class JobOut(BaseSchema):
    """A job's status and progress; a finished job adds its result (an import: ``imported``, ``rejected``, ...;
    an export: ``rows``); a refused one, ``refused``."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    queue = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["queued", "started", "finished", "failed"]))
    progress = fields.Float(required=True)
    total = fields.Integer(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    has_output = fields.Boolean(required=True)
    created_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    finished_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    refused = fields.String(metadata={"description": "why a job was refused (e.g. a file that cannot be imported)"})
    rows = fields.Integer(metadata={"description": "rows read (an import) or written (an export)"})
    file = fields.String(metadata={"description": "the imported file's name"})
    imported = fields.Integer()
    already_imported = fields.Integer()
    rejected_rows = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedRow), metadata={"description": "the first rejected rows' verdicts"})
    rejected_complete = fields.Boolean(metadata={"description": "whether ``rejected`` lists every verdict"})
    ignored_columns = fields.List(fields.String())


@route("/jobs/<job_id>", tags=["jobs"], response=JobOut)
def get_job(job_id):
    """Status, progress and result of a background job of your subtree."""
    return get_owned(Job, job_id).to_dict()


@route("/jobs/<job_id>/output", tags=["jobs"])
def get_job_output(job_id):
    """The file a finished job produced (xlsx)."""
    return get_owned(Job, job_id).output_response(current_user)


class AuditQuery(BaseSchema):
    tenant = Text(required=True, max_length=32)
    action = Text(max_length=64)
    page = fields.Integer(load_default=1, validate=between(1, 100000))


class AuditOut(BaseSchema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    tenant = fields.String(required=True)
    username = fields.String(required=True, allow_none=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True, allow_none=True)
    detail = fields.Dict(required=True, allow_none=True)


class AuditPage(BaseSchema):
    events = fields.List(fields.Nested(AuditOut), required=True)
    page = fields.Integer(required=True)


def audit_page(tenant, action=None, page=1, per_page=50):
    """Audit events of ``tenant``'s subtree, newest first (shared by the UI and the API)."""
    from tenants.models import Tenant

    stmt = (select(AuditEvent, Tenant.code).join(Tenant, Tenant.id == AuditEvent.tenant_id)
            .where(subtree_filter(AuditEvent, tenant.path)).order_by(AuditEvent.id.desc())
            .limit(per_page).offset((page - 1) * per_page))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return [{"id": e.id, "at": e.at, "tenant": code, "username": e.username, "action": e.action,
             "object_type": e.object_type, "object_id": e.object_id, "detail": e.detail}
            for e, code in db.session.execute(stmt)]


@route("/audit", tags=["audit"], query=AuditQuery, response=AuditPage)
def list_audit():
    """The audit log of a tenant's subtree (auditors)."""
    args = load_query(AuditQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "audit.read")
    return {"events": audit_page(tenant, args["action"], args["page"]), "page": args["page"]}
