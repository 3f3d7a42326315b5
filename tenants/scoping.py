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
from functools import lru_cache

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, with_loader_criteria
from sqlalchemy.pool import Pool

from hardship.core.db import db
from hardship.core.errors import NotFound
from tenants.models import Tenant, TenantOwned

SYSTEM = "/"
#: a path that matches nothing: the scope when none was set
NOTHING = "//"

_fallback_scope: dict = {"path": None}


def current_scope() -> str:
    if has_app_context():
        return g.get("_tenant_scope") or NOTHING
    return _fallback_scope["path"] or NOTHING


def set_scope(path: str | None) -> None:
    """Make ``path`` (a tenant path, ``SYSTEM`` or ``None``) the scope of this context.

    No SQL runs here: on PostgreSQL the scope reaches the open transaction just before its next
    statement (:func:`_apply_scope`), so switching back and forth (a look-up under the system scope,
    then the user's subtree) costs one ``set_config`` at most, and restoring a scope after an error
    never touches a transaction that has already failed.
    """
    path = path or NOTHING
    if has_app_context():
        g._tenant_scope = path
    else:
        _fallback_scope["path"] = path


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


def within(column, path: str) -> tuple:
    """WHERE clauses for a big subtree: the tenant id ``column`` lies in the subtree at ``path``, and the row's
    ``tenant_id`` in the scope. The same rows as the safety net's sub-selects, but with the unions read first
    and sent as id lists (one array parameter on PostgreSQL): under row-level security the planner takes a
    province's subtree for one union and joins sub-selects row by row (a province's summary spent most of its
    time there). One list when ``column`` is the row's own ``tenant_id`` (the subtree's unions in the scope) or
    when the scope holds every union; two otherwise. Run the statement with
    ``execution_options(include_all_tenants=True)``: these are the net."""
    from hardship.core.db import among, db

    scoped = current_scope()
    subtree = select(Tenant.id).where(path_range(Tenant.path, path))
    if column.key == "tenant_id":
        return (among(column, db.session.scalars(subtree.where(path_range(Tenant.path, scoped))).all()),)
    ids = db.session.scalars(subtree).all()
    if scoped == SYSTEM:
        return (among(column, ids),)
    scope_ids = db.session.scalars(select(Tenant.id).where(path_range(Tenant.path, scoped))).all()
    return among(column, ids), among(column.table.c.tenant_id, scope_ids)


def subtree_filter(model=Tenant, path: str | None = None):
    """The WHERE clause restricting ``model`` to the subtree at ``path`` (default: the scope)."""
    path = path or current_scope()
    if model is Tenant:
        return path_range(Tenant.path, path)
    return model.tenant_id.in_(select(Tenant.id).where(path_range(Tenant.path, path)))


#: built once; it carries the subtree filter itself, so the safety net's criteria (which cost more than the
#: query, on every request) would only repeat it
_TENANT_BY_CODE = (select(Tenant).where(Tenant.code == sa.bindparam("code"), Tenant.path >= sa.bindparam("low"),
                                        Tenant.path < sa.bindparam("high"))
                   .execution_options(include_all_tenants=True))


def get_tenant(code: str) -> Tenant:
    """The tenant ``code`` if it is in scope, else :class:`NotFound` (same as absent)."""
    path = current_scope()
    if path == NOTHING:
        raise NotFound()
    code = str(code or "").upper()
    root = g.get("scope_tenant") if has_app_context() else None
    if root is not None and root.path == path and root.code == code:
        return root  # the caller's own union, read with the caller in this request (hardship.accounts.auth)
    tenant = db.session.scalar(_TENANT_BY_CODE, {"code": code, "low": path, "high": path + PATH_END})
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


@lru_cache(maxsize=4096)
def _net_options(path: str) -> tuple:
    """The safety net's loader criteria for one scope, built once per path and reused: building them
    (and analysing their lambdas) per statement cost more than the statements themselves."""
    low, high = path, path + PATH_END
    return (
        with_loader_criteria(Tenant, lambda cls: sa.and_(cls.path >= low, cls.path < high), include_aliases=True),
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id.in_(select(Tenant.id).where(Tenant.path >= low, Tenant.path < high)),
            include_aliases=True,
        ),
    )


_SET_SCOPE = "select set_config('app.tenant_path', %s, true)"
_installed = False
#: keys in a pooled connection's ``info``: its transaction belongs to a session, and the scope set in it
_SCOPED, _APPLIED = "hardship_scoped", "hardship_scope_applied"
#: savepoint statements need no scope, and one may run on a transaction that has failed (the rollback to
#: a savepoint after an error): a set_config before it would fail in turn
_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


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
        state.statement = state.statement.options(*_net_options(path))

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
    def _mark_transaction(session, transaction, connection):
        if connection.dialect.name == "postgresql":
            connection.info[_SCOPED] = True
            connection.info.pop(_APPLIED, None)

    @event.listens_for(Engine, "before_cursor_execute")
    def _apply_scope(conn, cursor, statement, parameters, context, executemany):
        """Before each statement of a session's transaction: the scope, if it changed since the last
        statement (``set_config(..., true)`` lasts until the transaction ends). Run here, an error is
        SQLAlchemy's (a lost connection is invalidated); on a cursor of its own, as the statement's may be
        a server-side one (``yield_per``), which would only declare it."""
        info = conn.info
        if info.get(_SCOPED) and not statement.startswith(_CONTROL):
            path = current_scope()
            if info.get(_APPLIED) != path:
                cursor.connection.execute(_SET_SCOPE, (path,))
                info[_APPLIED] = path

    def _forget(conn, *_args):
        if not getattr(conn, "invalidated", False):  # a dead connection's info goes with it
            conn.info.pop(_APPLIED, None)

    def _end(conn, *_args):
        if not getattr(conn, "invalidated", False):
            conn.info.pop(_APPLIED, None)
            conn.info.pop(_SCOPED, None)

    event.listen(Engine, "rollback_savepoint", _forget)  # undoes a set_config made inside the savepoint
    event.listen(Engine, "commit", _end)
    event.listen(Engine, "rollback", _end)

    @event.listens_for(Pool, "reset")
    def _reset(_dbapi_connection, record, _reset_state):
        _end(record)
