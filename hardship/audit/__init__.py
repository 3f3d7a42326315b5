"""The audit log: who did what, when, in which tenant, to which record.

Every operation that changes state calls :func:`record` in the same transaction, so an
action and its audit entry commit or roll back together. Rows are never updated or deleted
(on PostgreSQL the runtime role has no UPDATE/DELETE grant on this table).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from hardship.audit.models import AuditEvent
from hardship.core.db import db, utcnow


def values(action: str, tenant, obj=None, object_type=None, object_id=None, detail=None, user=None) -> dict:
    """The columns of an audit row (but its time): for :func:`record`, :func:`write` and statements that
    insert it themselves."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    return {
        "tenant_id": tenant.id,
        "user_id": getattr(user, "id", None),
        "username": getattr(user, "username", None),
        "action": action,
        "object_type": object_type or (type(obj).__name__ if obj is not None else "tenant"),
        "object_id": str(object_id if object_id is not None else getattr(obj, "id", "") or "") or None,
        "detail": detail or {},
        "ip": request.remote_addr if has_request_context() else None,
    }


def record(action: str, tenant, obj=None, *, object_type: str | None = None, object_id=None,
           detail: dict | None = None, user=None) -> AuditEvent:
    """Add an audit entry to the current transaction (the caller commits)."""
    event = AuditEvent(**values(action, tenant, obj, object_type, object_id, detail, user))
    db.session.add(event)
    return event


_INSERT = sa.insert(AuditEvent.__table__)


def write(action: str, tenant, obj=None, *, object_type: str | None = None, object_id=None,
          detail: dict | None = None, user=None) -> None:
    """:func:`record`, written at once with a Core insert: for hot paths (ledger postings) that write
    their rows that way. The caller has checked that ``tenant`` is in scope; the row still commits or
    rolls back with the transaction."""
    row = values(action, tenant, obj, object_type, object_id, detail, user)
    db.session.connection().execute(_INSERT, {**row, "at": utcnow()})
