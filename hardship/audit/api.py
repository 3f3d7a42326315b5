"""The audit log's API resource."""

from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_query, route
from hardship.audit.queries import audit_page
from hardship.audit.schemas import AuditPage, AuditQuery
from tenants.scoping import get_tenant

FILTERS = ("action", "user", "union", "date_from", "date_to", "record_type", "record_id")


@route("/audit", tags=["audit"], query=AuditQuery, response=AuditPage)
def list_audit():
    """The audit log of a tenant's subtree (auditors): each event with its action's name, its record's label
    and its details as labelled fields; filters by action (code or name), user, union, dates and record."""
    args = load_query(AuditQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "audit.read")
    return {"events": audit_page(tenant, {k: args[k] for k in FILTERS}, args["page"], current_user), "page": args["page"]}
