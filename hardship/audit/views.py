"""The audit log's page."""

from __future__ import annotations

from flask import g, render_template, request
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.audit.api import audit_page
from hardship.web import tenant_blueprint

bp = tenant_blueprint("audit_ui", __name__)


@bp.route("/audit")
def audit():
    require(current_user, "audit.read")
    try:
        page = max(1, min(100000, int(request.args.get("page", 1))))
    except ValueError:
        page = 1
    action = request.args.get("action") or None
    events = audit_page(g.tenant, action, page)
    return render_template("audit/log.html", events=events, page=page, action=action or "")
