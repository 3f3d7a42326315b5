"""Reading the audit log: one filtered query and its rows in the reader's words (the page, the API and the
export share them)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import false, select

from hardship.accounts.models import User
from hardship.audit import registry
from hardship.audit.models import AuditEvent
from hardship.core.db import db, page_of
from hardship.core.errors import NotFound
from tenants.models import Tenant
from tenants.scoping import get_tenant, subtree_filter

PER_PAGE = 50
EXPORT_LIMIT = 50_000
#: the dates an auditor types are China's days
CHINA = timezone(timedelta(hours=8))


def events_query(tenant, *, action=None, user=None, union=None, date_from=None, date_to=None,
                 record_type=None, record_id=None):
    """Events of ``tenant``'s subtree matching the filters, newest first. ``union`` narrows to one union
    of the subtree (404 outside it); ``action`` is a code or part of a name."""
    stmt = (select(AuditEvent, Tenant.code, Tenant.name).join(Tenant, Tenant.id == AuditEvent.tenant_id)
            .where(subtree_filter(AuditEvent, tenant.path)).order_by(AuditEvent.id.desc()))
    if action:
        codes = registry.actions_matching(action)
        stmt = stmt.where(AuditEvent.action.in_(codes) if codes else false())
    if user:
        stmt = stmt.where(AuditEvent.username == user)
    if union:
        below = get_tenant(union)
        if not below.path.startswith(tenant.path):
            raise NotFound()
        stmt = stmt.where(AuditEvent.tenant_id == below.id)
    if date_from:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(date_from, time(), CHINA))
    if date_to:
        stmt = stmt.where(AuditEvent.at < datetime.combine(date_to + timedelta(days=1), time(), CHINA))
    if record_type:
        stmt = stmt.where(AuditEvent.object_type == record_type)
    if record_id:
        stmt = stmt.where(AuditEvent.object_id == record_id)
    return stmt


def readable(rows, viewer, reader=None) -> list[dict]:
    """``rows`` of :func:`events_query` as the log shows them to the user ``reader``: names, not codes, details
    masked as the reader may see them (``registry.shown_detail``)."""
    labels = registry.describe([(e.object_type, e.object_id) for e, _code, _name in rows], viewer.code)
    out = []
    for e, code, name in rows:
        label, url = labels.get((e.object_type, e.object_id), (None, None))
        detail = registry.shown_detail(e.action, e.detail, reader, e.tenant_id)
        if label is None and e.object_id:
            label = f"#{e.object_id}"
        out.append({"id": e.id, "at": e.at, "tenant": code, "tenant_name": name, "username": e.username,
                    "action": e.action, "action_label": registry.action_label(e.action),
                    "object_type": e.object_type, "object_id": e.object_id,
                    "record_kind": registry.record_label(e.object_type), "record_label": label, "record_url": url,
                    "detail": detail, "detail_fields": registry.detail_fields(e.action, detail)})
    return out


def audit_page(tenant, filters: dict, page: int = 1, reader=None) -> list[dict]:
    rows, _total = page_of(events_query(tenant, **filters), page, PER_PAGE, count=False)
    return readable(rows, tenant, reader)


def usernames(tenant) -> list[str]:
    """The user names of ``tenant``'s subtree, for the filter's list."""
    return list(db.session.scalars(select(User.username).where(subtree_filter(User, tenant.path))
                                   .order_by(User.username)))
