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

from hardship.core.db import adopt, db, driver_error
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


def subtree_filter(model=Tenant, path: str | None = None):
    """The WHERE clause restricting ``model`` to the subtree at ``path`` (default: the scope)."""
    path = path or current_scope()
    if model is Tenant:
        return path_range(Tenant.path, path)
    return model.tenant_id.in_(select(Tenant.id).where(path_range(Tenant.path, path)))


_TENANTS = Tenant.__table__
_GET_TENANT = select(_TENANTS).where(_TENANTS.c.code == sa.bindparam("code"),
                                     _TENANTS.c.path >= sa.bindparam("low"), _TENANTS.c.path < sa.bindparam("high"))


def get_tenant(code: str) -> Tenant:
    """The tenant ``code`` if it is in scope, else :class:`NotFound` (same as absent).

    Read with a Core statement that carries the subtree filter itself (every request resolves one or two
    tenants this way; the ORM's loading and the safety net's criteria cost more than the query)."""
    path = current_scope()
    if path == NOTHING:
        raise NotFound()
    code = str(code or "").upper()
    root = g.get("scope_tenant") if has_app_context() else None
    if root is not None and root.path == path and root.code == code:
        return root  # the caller's own union, read with the caller in this request (hardship.accounts.auth)
    row = first_in_scope(_GET_TENANT, {"code": code, "low": path, "high": path + PATH_END})
    if row is None:
        raise NotFound()
    return adopt(Tenant, row)


_SET_SCOPE = "select set_config('app.tenant_path', %s, true)"
#: per statement: its text for psycopg, its result keys, and (after its first execution) each column's result
#: processor, made with the type the server reported (the column types' own conversions, e.g. UTC timestamps)
_RAW: dict = {}


def first_in_scope(stmt, params: dict) -> dict | None:
    """The first row of the Core SELECT ``stmt`` (plain parameter values, no expanding ones) as a dict,
    read on the session's connection in the current scope, or ``None``.

    On PostgreSQL it runs on the DBAPI connection without SQLAlchemy's execution machinery (the hot
    look-ups: the bearer token of every API request, a union by code), with the scope brought to the
    transaction in the fewest round trips: a new transaction's ``BEGIN`` and scope in one
    (:func:`_begin_in_scope`), then the statement; in an open transaction whose scope changed, the
    ``set_config`` and the statement together (psycopg's pipeline mode; psycopg itself would wait for a
    ``BEGIN`` of its own before sending anything after it, so a new transaction is not begun that way).
    Elsewhere it is an ordinary execution."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        row = conn.execute(stmt, params).mappings().first()
        return None if row is None else dict(row)
    found = _RAW.get(stmt)
    if found is None:
        found = _RAW[stmt] = [str(stmt.compile(dialect=conn.dialect)), list(stmt.selected_columns.keys()), None]
    sql, keys, processors = found
    raw = conn.connection.dbapi_connection
    info, path = conn.info, current_scope()
    try:
        if info.get(_SCOPED) and info.get(_APPLIED) != path:
            if _begin_in_scope(raw, path):
                info[_APPLIED] = path
                cursor = raw.execute(sql, params)
            else:
                with raw.pipeline():
                    raw.execute(_SET_SCOPE, (path,))
                    cursor = raw.execute(sql, params)
                info[_APPLIED] = path
        else:
            cursor = raw.execute(sql, params)
        row = cursor.fetchone()
    except raw.Error as exc:
        raise driver_error(conn, exc, sql, params) from exc
    if processors is None:
        processors = found[2] = [
            column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, described.type_code)
            for column, described in zip(stmt.selected_columns, cursor.description, strict=True)]
    if row is None:
        return None
    return {key: value if process is None else process(value)
            for key, value, process in zip(keys, row, processors, strict=True)}


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


def _set_in_transaction(info: dict, dbapi_connection) -> None:
    if info.get(_SCOPED):
        path = current_scope()
        if info.get(_APPLIED) != path:
            if not _begin_in_scope(dbapi_connection, path):
                dbapi_connection.execute(_SET_SCOPE, (path,))
            info[_APPLIED] = path


def _begin_in_scope(dbapi_connection, path: str) -> bool:
    """Begin the transaction and set its scope in one round trip: ``BEGIN; SELECT set_config(...)`` as one
    simple query, instead of psycopg's own ``BEGIN`` and then the ``set_config`` (every request's first
    statement pays this). Only where psycopg would send a plain ``BEGIN`` (no transaction yet, not in
    autocommit or pipeline mode, no isolation level or access mode of its own); ``False`` otherwise, and
    the caller sets the scope with a statement of its own. psycopg reads the transaction's state from the
    connection (libpq), so it sees the transaction begun and does not begin another."""
    import psycopg
    from psycopg import pq

    pgconn = dbapi_connection.pgconn
    if (dbapi_connection.autocommit or pgconn.transaction_status != pq.TransactionStatus.IDLE
            or pgconn.pipeline_status != pq.PipelineStatus.OFF or dbapi_connection.isolation_level is not None
            or dbapi_connection.read_only is not None or dbapi_connection.deferrable is not None):
        return False
    literal = pq.Escaping(pgconn).escape_literal(path.encode())
    result = pgconn.exec_(b"BEGIN; SELECT set_config('app.tenant_path', " + literal + b", true)")
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise psycopg.errors.error_from_result(result, encoding=dbapi_connection.info.encoding)
    return True


def transaction_ended(conn) -> None:
    """``conn``'s transaction was ended behind SQLAlchemy's back (a COMMIT sent on the DBAPI connection):
    the scope must be set again before the next statement, which runs in a new transaction."""
    conn.info.pop(_APPLIED, None)


def apply_scope(conn) -> None:
    """Bring the scope to ``conn``'s open transaction now, for code about to use its DBAPI connection
    directly (which the hook on SQLAlchemy's statements does not see)."""
    if conn.dialect.name == "postgresql":
        _set_in_transaction(conn.info, conn.connection.dbapi_connection)


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
        statement (``set_config(..., true)`` lasts until the transaction ends)."""
        if not statement.startswith(_CONTROL):
            _set_in_transaction(conn.info, cursor.connection)

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
