"""The audit log's page and its export."""

from __future__ import annotations

from datetime import date

from flask import g, render_template, request
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.audit import exports, queries, registry
from hardship.audit.api import FILTERS
from hardship.audit.schemas import AuditQuery
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.web import tenant_blueprint

bp = tenant_blueprint("audit_ui", __name__)


def _filters() -> tuple[dict, int, dict]:
    """The page's filters loaded through the API's schema; a refused one is shown as an error and ignored."""
    given = {k: v for k, v in request.args.to_dict().items() if v != ""}
    given["tenant"] = g.tenant.code
    errors = {}
    try:
        args = load_data(AuditQuery, given)
    except ValidationFailed as exc:
        errors = exc.fields
        args = load_data(AuditQuery, {k: v for k, v in given.items() if k not in exc.fields})
    return {k: args[k] for k in FILTERS}, args["page"], errors


@bp.route("/audit")
def audit():
    require(current_user, "audit.read")
    filters, page, errors = _filters()
    events = queries.audit_page(g.tenant, filters, page, current_user)
    args = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    actions = sorted(((code, str(a.label)) for code, a in registry.ACTIONS.items()), key=lambda item: item[1])
    return render_template("audit/log.html", events=events, page=page, filters=args, errors=errors,
                           per_page=queries.PER_PAGE, actions=actions, users=queries.usernames(g.tenant))


@bp.route("/audit/export.xlsx")
def export():
    require(current_user, "audit.read")
    filters, _page, _errors = _filters()
    return xlsx_download(*exports.audit_export(g.tenant, filters, user=current_user))
