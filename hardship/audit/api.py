"""The audit log's API resource."""

from flask_login import current_user
from marshmallow import fields
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.api import BaseSchema, between, load_query, route
from hardship.audit.models import AuditEvent
from hardship.core.db import page_of
from hardship.core.fields import Text
from tenants.models import Tenant
from tenants.scoping import get_tenant, subtree_filter


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
    stmt = (select(AuditEvent, Tenant.code).join(Tenant, Tenant.id == AuditEvent.tenant_id)
            .where(subtree_filter(AuditEvent, tenant.path)).order_by(AuditEvent.id.desc()))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    rows, _total = page_of(stmt, page, per_page, count=False)
    return [{"id": e.id, "at": e.at, "tenant": code, "username": e.username, "action": e.action,
             "object_type": e.object_type, "object_id": e.object_id, "detail": e.detail}
            for e, code in rows]


@route("/audit", tags=["audit"], query=AuditQuery, response=AuditPage)
def list_audit():
    """The audit log of a tenant's subtree (auditors)."""
    args = load_query(AuditQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "audit.read")
    return {"events": audit_page(tenant, args["action"], args["page"]), "page": args["page"]}
