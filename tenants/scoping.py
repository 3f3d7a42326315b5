"""Subtree scoping: the one place that decides which tenant rows a request may see.

Three layers (STYLE "From Redash"):

1. every query helper here filters by the subtree (``subtree_filter``, ``get_tenant``,
   ``get_owned``);
2. an ORM safety net (``do_orm_execute`` + ``with_loader_criteria``) adds the same filter to
   every ORM SELECT/UPDATE/DELETE of ``Tenant`` and ``TenantOwned`` rows, so a helper that
   forgets still cannot leak;
3. on PostgreSQL, row-level security policies read ``app.tenant_path``, which is set with
   ``set_config(..., true)`` at the start of every transaction: a pooled connection never
   carries another request's scope, and no scope means no rows.

The scope is a tenant path (``/P01/C01/``); ``SYSTEM`` (``/``) matches every tenant and is
used only by the CLI, login look-ups and deliberate, documented widenings.
"""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, with_loader_criteria

from hardship.core.db import TenantOwned, db
from hardship.core.errors import NotFound
from tenants.models import Tenant

SYSTEM = "/"
#: a path that matches nothing: the scope when none was set
NOTHING = "//"

_fallback_scope: dict = {"path": None}


def current_scope() -> str:
    if has_app_context():
        return g.get("_tenant_scope") or NOTHING
    return _fallback_scope["path"] or NOTHING


def _apply_to_open_transaction(path: str) -> None:
    conn = db.session().connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select set_config('app.tenant_path', :p, true)"), {"p": path})


def set_scope(path: str | None) -> None:
    """Make ``path`` (a tenant path, ``SYSTEM`` or ``None``) the scope of this context."""
    path = path or NOTHING
    if has_app_context() and g.get("_tenant_scope") == path:
        return  # unchanged: no round trip to the database
    if has_app_context():
        g._tenant_scope = path
    else:
        _fallback_scope["path"] = path
    if has_app_context():
        session = db.session()
        if session.in_transaction():
            _apply_to_open_transaction(path)


@contextmanager
def scope(path: str | None):
    """Run a block under another scope and restore the previous one afterwards."""
    previous = current_scope()
    set_scope(path)
    try:
        yield
    finally:
        set_scope(previous)


def system_scope():
    return scope(SYSTEM)


#: sorts above every character a code or path may hold (A-Z 0-9 - /)
PATH_END = "~"


def path_range(column, path: str):
    """``column`` lies in the subtree at ``path``: an index range, not LIKE (see tenants.models)."""
    return sa.and_(column >= path, column < path + PATH_END)


def subtree_filter(model=Tenant, path: str | None = None):
    """The WHERE clause restricting ``model`` to the subtree at ``path`` (default: the scope)."""
    path = path or current_scope()
    if model is Tenant:
        return path_range(Tenant.path, path)
    return model.tenant_id.in_(select(Tenant.id).where(path_range(Tenant.path, path)))


def get_tenant(code: str) -> Tenant:
    """The tenant ``code`` if it is in scope, else :class:`NotFound` (same as absent)."""
    tenant = db.session.scalar(
        select(Tenant).where(Tenant.code == (code or "").upper(), subtree_filter(Tenant))
    )
    if tenant is None:
        raise NotFound()
    return tenant


def get_owned(model, record_id, tenant: Tenant | None = None):
    """A tenant-owned record by id, inside the scope (and under ``tenant`` when given), else 404."""
    id_type = model.__table__.c.id.type
    if isinstance(id_type, sa.Integer):
        try:
            record_id = int(record_id)
        except (TypeError, ValueError):
            raise NotFound() from None
        # the column's range (PostgreSQL INTEGER is 32-bit; a larger value fails in the database)
        bits = 63 if isinstance(id_type, sa.BigInteger) else 15 if isinstance(id_type, sa.SmallInteger) else 31
        if not -(2**bits) <= record_id < 2**bits:
            raise NotFound()
    stmt = select(model).where(model.id == record_id, subtree_filter(model))
    if tenant is not None:
        stmt = stmt.where(subtree_filter(model, tenant.path))
    record = db.session.scalar(stmt)
    if record is None:
        raise NotFound()
    return record


_installed = False


def init_app(app) -> None:
    """Install the safety net and the per-transaction PostgreSQL scope (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "do_orm_execute")
    def _add_scope_criteria(state):
        if not (state.is_select or state.is_update or state.is_delete):
            return
        if state.execution_options.get("include_all_tenants"):
            return
        path = current_scope()
        if path == SYSTEM:
            return
        low, high = path, path + PATH_END
        state.statement = state.statement.options(
            with_loader_criteria(Tenant, lambda cls: sa.and_(cls.path >= low, cls.path < high),
                                 include_aliases=True),
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id.in_(
                    select(Tenant.id).where(Tenant.path >= low, Tenant.path < high)),
                include_aliases=True,
            ),
        )

    @event.listens_for(Session, "before_flush")
    def _guard_writes(session, _flush_context, _instances):
        """Refuse to write a tenant row outside the scope (the ORM net covers reads; flushes of
        objects loaded elsewhere do not pass through ``do_orm_execute``)."""
        path = current_scope()
        if path == SYSTEM:
            return
        tenant_ids = set()
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Tenant):
                if not (obj.path or "").startswith(path):
                    raise NotFound()
            elif isinstance(obj, TenantOwned) and obj.tenant_id is not None:
                tenant_ids.add(obj.tenant_id)
        if tenant_ids:
            with session.no_autoflush:
                allowed = set(session.scalars(select(Tenant.id).where(Tenant.id.in_(tenant_ids),
                                                                      path_range(Tenant.path, path))))
            if tenant_ids - allowed:
                raise NotFound()

    @event.listens_for(Session, "after_begin")
    def _set_transaction_scope(session, transaction, connection):
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("select set_config('app.tenant_path', :p, true)"), {"p": current_scope()}
            )
