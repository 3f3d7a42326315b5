"""The ledger's write path: the one way a posting reaches the database, on PostgreSQL and SQLite alike.

A posting is a list of :class:`Leg`: signed amounts that sum to zero, each on a lot (the money of one union
from one source of one fiscal year, named by source and year or by id) or on an outside account
(``outside:<source>`` for finance, ``aid:<source>`` for aid paid to people). :func:`post` writes it with
Core statements on the session's connection, inside the caller's transaction; it never commits (the
request, the command or the job that owns the transaction does):

1. the write lock where the database needs one: SQLite ``BEGIN IMMEDIATE``, so concurrent postings queue
   instead of failing half-way with "database is locked" (PostgreSQL locks rows);
2. on PostgreSQL, for a posting the duplicate rule applies to, a transaction-scoped advisory lock on
   (posting union, 文号) (:func:`lock_document`), so two identical postings sent at the same instant queue
   and the second sees the first; then the idempotency key: the same key (per posting union) with the same request returns the first
   transaction and writes nothing; with another request it is a 409; then the duplicate rule
   (:func:`check_duplicate`): a second receipt, allocation or return of the union with the same 文号 and
   amount (and the same receiving union), not reversed, is a 409 naming the first one unless the caller
   confirms it is a separate posting;
3. the lots it credits are created when missing (insert-or-skip), before anything is locked;
4. the transaction, ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: the idempotency key and "a
   transaction is reversed at most once" are unique indexes, so a concurrent twin writes nothing;
5. its entries and its audit event;
6. last, per lot in the lock order (union id, source, fiscal year: the same for every posting and for the
   disbursement planner's locks, so concurrent postings never deadlock; last, so a lot's row lock is held
   only until the commit), one conditional update
   ``UPDATE fund_lots SET balance = balance + :delta, <running totals> WHERE id = :lot AND balance + :delta >= 0``.
   The running totals are :data:`~hardship.funds.models.RUNNING_TOTALS`, each moved by the entries of its
   category. No row: not enough money; the transaction is rolled back and the 409 names the lot (the CHECK
   ``balance >= 0`` backs it up). On SQLite it is :data:`_CHANGE_LOT`. On PostgreSQL the runtime role may not
   update ``fund_lots`` (``tenants.rls``), so the same update runs in ``hardship_change_lots`` (its migration,
   20261205): a ``SECURITY DEFINER`` function taking one array per parameter of :data:`_CHANGE_LOT`, by its
   name (``lot``, ``delta`` and each running total), which updates the lots in the order given, stops at the
   first that lacks the money and returns how many it changed; as it runs as the owner it applies the scope
   itself (a lot of a union outside ``hardship_scope_ids()`` is not changed). A direct update of a balance is
   refused; a test checks that the function's parameters are :data:`_CHANGE_LOT`'s.

Scope: a posting's rows lie in unions of the poster's subtree, except that a return to the parent (and its
reversal) also writes the parent's lot and entry, outside a county user's subtree: exactly those run under
the parent's own scope (:func:`union_scope`), after the caller checked the relation. Nothing here uses the
system scope; on PostgreSQL row-level security applies to every statement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from itertools import groupby

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hardship import audit
from hardship.core.db import db, insert_or_skip, utcnow
from hardship.core.errors import Conflict, NotFound, ValidationFailed
from hardship.core.money import format_fen
from hardship.funds.models import (
    KINDS,
    RUNNING_TOTALS,
    SOURCES,
    FundEntry,
    FundLot,
    FundTransaction,
    running_total_change,
)
from tenants.models import Tenant
from tenants.scoping import SYSTEM, current_scope, scope


@dataclass(frozen=True)
class Posted:
    """What a posting returns: the transaction, and whether it was already posted earlier with the same
    idempotency key (then nothing new was written)."""

    transaction: FundTransaction
    replayed: bool = False
    #: for a new posting: its entries the poster may see, and the code and name of the unions it touches
    entries: list | None = None
    labels: dict | None = None


@dataclass(frozen=True)
class Leg:
    """One entry to write: ``amount`` (signed fen) on a lot of ``tenant`` (by ``lot_id``, or by source
    and year, created on a credit) or on an outside ``account``."""

    tenant: Tenant
    amount: int
    category: str
    source: str | None = None
    fiscal_year: int | None = None
    lot_id: int | None = None
    account: str | None = None


def begin_write() -> None:
    """Take the write lock for a posting: on SQLite ``BEGIN IMMEDIATE`` unless this transaction already
    began (pysqlite begins only before a write, so after reads alone it has not; after a write the lock is
    held). On PostgreSQL row locks do the work and nothing happens here."""
    conn = db.session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def union_scope(tenant: Tenant, parent: Tenant | None) -> Iterator[None]:
    """The scope in which ``tenant``'s ledger rows are read and written: the current one when ``tenant`` is
    in it; the parent's own scope when ``tenant`` is ``parent``, the parent of the posting union for a return
    to the parent and its reversal (the caller checked that relation; the ORM safety net, the flush guard
    and row-level security refuse it otherwise); anything else is absent."""
    path = current_scope()
    if path == SYSTEM or tenant.path.startswith(path):
        yield
    elif parent is not None and tenant.id == parent.id:
        with scope(parent.path):
            yield
    else:
        raise NotFound()


def _by_scope(legs: list[Leg], parent: Tenant | None) -> list[list[Leg]]:
    """``legs`` split into those of the parent (written under its scope) and the others (never empty)."""
    mine = [leg for leg in legs if parent is None or leg.tenant.id != parent.id]
    theirs = [leg for leg in legs if parent is not None and leg.tenant.id == parent.id]
    return [group for group in (mine, theirs) if group]


MAX_KEY = 100


def check_idempotency_key(key) -> str | None:
    """``None`` or a key of 1 to 100 printable characters."""
    if key is None:
        return None
    key = str(key).strip()
    if not key or len(key) > MAX_KEY or any(ord(c) < 32 for c in key):
        raise ValidationFailed(fields={"idempotency_key": [_l("1 to %(n)d printable characters.", n=MAX_KEY)]})
    return key


def _json_value(value):
    """Dates in a posting's request fingerprint (ISO 8601)."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def request_hash(kind: str, **values) -> str:
    """A fingerprint of the normalised request: the same key must come with the same posting."""
    raw = json.dumps({"kind": kind, **values}, sort_keys=True, ensure_ascii=False, default=_json_value)
    return hashlib.sha256(raw.encode()).hexdigest()



_LOTS, _TXS, _ENTRIES = FundLot.__table__, FundTransaction.__table__, FundEntry.__table__
_EARLIER = select(_TXS.c.id, _TXS.c.request_hash).where(_TXS.c.poster_tenant_id == sa.bindparam("poster"),
                                                         _TXS.c.idempotency_key == sa.bindparam("key"))
_FIND_LOTS = (select(_LOTS.c.id, _LOTS.c.tenant_id, _LOTS.c.source, _LOTS.c.fiscal_year)
              .where(_LOTS.c.tenant_id.in_(sa.bindparam("tenants", expanding=True)),
                     _LOTS.c.source.in_(sa.bindparam("sources", expanding=True)),
                     _LOTS.c.fiscal_year.in_(sa.bindparam("years", expanding=True))))
_LOT_BY_KEY = select(_LOTS.c.id, _LOTS.c.balance).where(_LOTS.c.tenant_id == sa.bindparam("tenant"),
                                                         _LOTS.c.source == sa.bindparam("source"),
                                                         _LOTS.c.fiscal_year == sa.bindparam("year"))
_INSERT_ENTRIES = sa.insert(_ENTRIES)
_DELTA = sa.bindparam("delta", type_=sa.BigInteger)
#: the conditional update of one lot: its balance and every running total, never below zero
_CHANGE_LOT = (sa.update(_LOTS)
               .where(_LOTS.c.id == sa.bindparam("lot"), _LOTS.c.balance + _DELTA >= 0)
               .values(balance=_LOTS.c.balance + _DELTA,
                       **{name: _LOTS.c[name] + sa.bindparam(name, type_=sa.BigInteger) for name in RUNNING_TOTALS}))


#: :data:`_CHANGE_LOT` on PostgreSQL, for every lot of a run at once (see the module docstring)
_CHANGE_LOTS_PG = sa.text("SELECT hardship_change_lots(lot => CAST(:lot AS integer[]), "
                          + ", ".join(f"{name} => CAST(:{name} AS bigint[])" for name in ("delta", *RUNNING_TOTALS))
                          + ")")


def _change_lots(conn, changes: list[dict]) -> int:
    """Apply the conditional updates ``changes`` (parameters of :data:`_CHANGE_LOT`) in their order; returns how
    many lots changed (fewer than ``changes``: one lacked the money)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(_CHANGE_LOTS_PG, {name: [change[name] for change in changes]
                                              for name in ("lot", "delta", *RUNNING_TOTALS)}).scalar()
    return conn.execute(_CHANGE_LOT, changes).rowcount


@cache
def _insert_transaction(dialect: str) -> sa.Insert:
    """The transaction's ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``, built once per dialect."""
    return insert_or_skip(_TXS, dialect).returning(_TXS.c.id)


def earlier(poster_id: int, key: str | None, request_hash: str, found=False) -> FundTransaction | None:
    """The transaction posted earlier with ``key`` by the same union, if any (409 if it was another posting);
    ``found``: its row (``id``, ``request_hash``) or ``None``, when the caller has looked it up already."""
    if key is None:
        return None
    if found is False:
        found = db.session.connection().execute(_EARLIER, {"poster": poster_id, "key": key}).first()
    if found is None:
        return None
    tx = db.session.scalar(select(FundTransaction).where(FundTransaction.id == found.id))
    if tx is None:  # outside the scope: the key is taken all the same
        raise Conflict(_l("Already used for another posting."),
                       fields={"idempotency_key": [_l("Already used for another posting.")]})
    if found.request_hash != request_hash:
        raise Conflict(_l("This Idempotency-Key was already used for another posting (%(kind)s %(doc)s of %(on)s); "
                          "use a new key for a new posting.", kind=str(KINDS.get(tx.kind, tx.kind)),
                          doc=tx.document_no, on=tx.posted_on.isoformat()),
                       fields={"idempotency_key": [_l("Already used for another posting.")]}, transaction=tx.id)
    return tx


def lot_label(union_name: str, source: str, year: int) -> str:
    return f"{union_name} · {SOURCES.get(source, source)} · {year}"


def insufficient(union_name: str, source: str, year: int, wanted: int, balance: int, lot_id=None) -> Conflict:
    message = _l("Not enough money: the balance of %(lot)s is %(balance)s yuan; %(amount)s yuan cannot be "
                 "taken from it.", lot=lot_label(union_name, source, year), balance=format_fen(balance, grouped=True),
                 amount=format_fen(wanted, grouped=True))
    return Conflict(message, fields={"amount": [_l("More than the balance (%(balance)s).",
                                                    balance=format_fen(balance, grouped=True))]},
                    balance=format_fen(balance), lot=lot_id)


#: the postings the duplicate rule applies to (a reversal is reversed once; a disbursement pays a batch once)
DUPLICATE_CHECKED = ("receipt", "allocation", "return")


_TX = FundTransaction.__table__
#: the poster's posting with this idempotency key and its postings like this one (same kind, 文号, amount and
#: receiving union), in one statement: the duplicate rule as a query of its own cost a fifth of a posting's
#: time in ``make bench`` (Core, built once: the poster's own rows, so the ORM's scope criteria would only repeat
#: ``poster``); whether a posting alike was reversed is asked only when there is one (rarely)
_KEYED_OR_ALIKE = (
    select(_TX.c.id, _TX.c.request_hash, _TX.c.idempotency_key, _TX.c.document_no, _TX.c.posted_on,
           _TX.c.amount, _TX.c.kind, _TX.c.to_tenant_id)
    .where(_TX.c.poster_tenant_id == sa.bindparam("poster"),
           sa.or_(_TX.c.idempotency_key == sa.bindparam("key"),
                  sa.and_(_TX.c.document_no == sa.bindparam("document_no"), _TX.c.kind == sa.bindparam("kind"),
                          _TX.c.amount == sa.bindparam("amount"),
                          _TX.c.to_tenant_id.is_not_distinct_from(sa.bindparam("to", type_=sa.Integer)))))
    .order_by(_TX.c.id))
_REVERSED = select(_TX.c.reverses_id).where(_TX.c.reverses_id.in_(sa.bindparam("ids", expanding=True)))


def check_duplicate(kind: str, poster: Tenant, header: dict, alike: list) -> None:
    """The duplicate rule, for every entry point alike: a posting of ``poster`` of this ``kind`` with the same
    文号, amount and receiving union as one it already posted and did not reverse is refused (409, the error's
    ``duplicate_of`` is the first one's id): the usual double posting of one document. The caller passes
    ``confirm_separate`` to :func:`post` when the user confirmed it is a separate posting. ``alike``: the rows
    of ``_KEYED_OR_ALIKE`` (:func:`post` looks them up with the idempotency key)."""
    if kind not in DUPLICATE_CHECKED or not alike:
        return
    reversed_ = set(db.session.connection().execute(_REVERSED, {"ids": [row.id for row in alike]}).scalars())
    first = next((row for row in alike if row.id not in reversed_), None)
    if first is None:
        return
    message = _l("The same posting was already made: %(kind)s %(doc)s of %(on)s, %(amount)s yuan. Nothing was "
                 "posted; if this is a separate posting, confirm it and post again.",
                 kind=str(KINDS.get(kind, kind)), doc=first.document_no, on=first.posted_on.isoformat(),
                 amount=format_fen(first.amount, grouped=True))
    raise Conflict(message, fields={"confirm_separate": [_l("Confirm that this is a separate posting.")]},
                   duplicate_of=first.id)


def lock_document(poster_id: int, document_no: str | None) -> None:
    """Serialise postings of one union with one 文号 on PostgreSQL until the transaction ends: under READ
    COMMITTED two twins would each find no earlier posting and both be written; with the lock the second
    reads after the first committed. SQLite's ``BEGIN IMMEDIATE`` already serialises every posting."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql" or not document_no:
        return
    digest = hashlib.blake2b(f"{poster_id}\x1f{document_no}".encode(), digest_size=8).digest()
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})


_BUSY = _l("The same posting is being made by another request at this moment; repeat this one to get its result.")


def post(kind: str, *, owner_id: int, poster: Tenant, actor, key: str | None, request_hash: str, header: dict,
         legs: list[Leg] | Callable[[], list[Leg]], parent: Tenant | None = None,
         confirm_separate: bool = False) -> Posted:
    """Write one balanced transaction (see the module docstring). ``legs``: its entries, or a function that
    plans them from the database once the write lock is held and the idempotency key was not found (a
    replayed disbursement is not planned again: it may no longer fit). ``parent``: the parent of the
    posting union whose rows a return to the parent (or its reversal) writes. ``confirm_separate``: the user
    confirmed that a posting like an earlier one is a separate posting (:func:`check_duplicate`).

    All or nothing: once writing has started, any failure rolls back the transaction before the error is
    raised, so no part of a posting is ever committed (with the caller's earlier work in that transaction:
    a failed posting fails the request, the command or the job)."""
    begin_write()
    if kind in DUPLICATE_CHECKED and not confirm_separate:
        lock_document(poster.id, header.get("document_no"))
    rows = db.session.connection().execute(_KEYED_OR_ALIKE, {
        "poster": poster.id, "key": key, "document_no": header.get("document_no"), "kind": kind,
        "amount": header.get("amount"), "to": header.get("to_tenant_id")}).all()
    found = earlier(poster.id, key, request_hash, next((r for r in rows if key and r.idempotency_key == key), None))
    if found is not None:
        return Posted(found, True)
    if not confirm_separate:
        alike = [r for r in rows if r.document_no == header.get("document_no") and r.kind == kind
                 and r.amount == header.get("amount") and r.to_tenant_id == header.get("to_tenant_id")]
        check_duplicate(kind, poster, header, alike)
    planned = legs() if callable(legs) else legs
    if sum(leg.amount for leg in planned) != 0 or any(leg.amount == 0 for leg in planned):
        raise RuntimeError(f"unbalanced posting {kind}: {planned}")
    try:
        posted = _write(kind, owner_id, poster, actor, key, request_hash, header, planned, parent)
    except IntegrityError:  # a row changed under the posting (its own races end in ON CONFLICT)
        db.session.rollback()
        raise Conflict(_BUSY) from None
    except BaseException:
        db.session.rollback()
        raise
    if posted is None:  # the key was taken by a concurrent twin, or the transaction was just reversed
        found = earlier(poster.id, key, request_hash)
        if found is not None:
            return Posted(found, True)
        if header.get("reverses_id") is not None:
            raise Conflict(_l("This transaction has already been reversed."))
        raise Conflict(_BUSY)
    return posted


def _with_lots(planned: list[Leg], parent: Tenant | None) -> list[Leg]:
    """The legs with their lot ids: lots named by source and year are found (one query per scope) or, for a
    credit, created (insert-or-skip); nothing is locked yet."""
    conn = db.session.connection()
    ids: dict[tuple, int] = {}
    for group in _by_scope([leg for leg in planned if leg.account is None and leg.lot_id is None], parent):
        with union_scope(group[0].tenant, parent):
            keys = {(leg.tenant.id, leg.source, leg.fiscal_year): leg for leg in group}
            params = {"tenants": sorted({k[0] for k in keys}), "sources": sorted({k[1] for k in keys}),
                      "years": sorted({k[2] for k in keys})}
            ids.update({(t, s, y): i for i, t, s, y in conn.execute(_FIND_LOTS, params)})
            missing = sorted(k for k in keys if k not in ids)
            for lot_key in missing:
                leg = keys[lot_key]
                if leg.amount < 0:
                    raise insufficient(leg.tenant.name, leg.source, leg.fiscal_year, -leg.amount, 0)
                conn.execute(insert_or_skip(_LOTS, conn.dialect.name),
                             {"tenant_id": lot_key[0], "source": lot_key[1], "fiscal_year": lot_key[2]})
            if missing:
                ids.update({(t, s, y): i for i, t, s, y in conn.execute(_FIND_LOTS, params)})
    return [leg if leg.account is not None or leg.lot_id is not None
            else replace(leg, lot_id=ids[(leg.tenant.id, leg.source, leg.fiscal_year)]) for leg in planned]


def _lot_changes(legs: list[Leg]) -> list[tuple[Leg, dict]]:
    """Per lot of ``legs``, in the lock order (union id, source, fiscal year): one of its legs, and the
    parameters of its conditional update (``delta``: the balance's change, and each running total's)."""
    per_lot: dict[tuple, tuple[Leg, dict]] = {}
    for leg in legs:
        if leg.account is None:
            _first, change = per_lot.setdefault((leg.tenant.id, leg.source, leg.fiscal_year), (leg, {
                "lot": leg.lot_id, "delta": 0, **dict.fromkeys(RUNNING_TOTALS, 0)}))
            change["delta"] += leg.amount
            change[leg.category] += running_total_change(leg.category, leg.amount)
    return [per_lot[key] for key in sorted(per_lot)]


def _write(kind, owner_id, poster, actor, key, request_hash, header, planned: list[Leg],
           parent: Tenant | None) -> Posted | None:
    """The rows of one posting (steps 3 to 6 of the module docstring); ``None`` when the transaction's
    insert met its key or its reversal (nothing written)."""
    lot_keys = {(leg.source, leg.fiscal_year) for leg in planned if leg.account is None}
    if header.get("source") is None and len(lot_keys) == 1:  # one source and year: the transaction names them
        header = {**header, "source": next(iter(lot_keys))[0], "fiscal_year": next(iter(lot_keys))[1]}
    values = {"tenant_id": owner_id, "kind": kind, "poster_tenant_id": poster.id,
              "posted_by_id": getattr(actor, "id", None), "posted_by": getattr(actor, "username", None),
              "idempotency_key": key, "request_hash": request_hash if key else None, "note": "",
              "created_at": utcnow(), **header}
    path = current_scope()
    labels = {leg.tenant.id: (leg.tenant.code, leg.tenant.name) for leg in planned}
    seen = {leg.tenant.id for leg in planned if path == SYSTEM or leg.tenant.path.startswith(path)}
    # a lot is its union, source and fiscal year: the audit event names it so
    detail = {"document_no": values["document_no"], "date": values["posted_on"].isoformat(),
              "amount": format_fen(values["amount"]), "source": values.get("source"),
              "fiscal_year": values.get("fiscal_year"), "reverses": values.get("reverses_id"),
              "entries": [{"tenant": leg.tenant.code, "source": None if leg.account else leg.source,
                           "fiscal_year": None if leg.account else leg.fiscal_year, "account": leg.account,
                           "category": leg.category, "amount": format_fen(leg.amount)} for leg in planned]}
    legs = _with_lots(planned, parent)
    conn = db.session.connection()
    tx_id = conn.execute(_insert_transaction(conn.dialect.name), values).scalar()
    if tx_id is None:
        return None
    tx = FundTransaction(id=tx_id, **values)  # the row as written, for the response (not read back)
    for group in _by_scope(legs, parent):
        with union_scope(group[0].tenant, parent):
            conn.execute(_INSERT_ENTRIES, [
                {"transaction_id": tx_id, "tenant_id": leg.tenant.id, "lot_id": leg.lot_id, "account": leg.account,
                 "category": leg.category, "amount": leg.amount} for leg in group])
    audit.write(f"funds.{kind}", poster, object_type="FundTransaction", object_id=tx_id, detail=detail, user=actor)
    # in the lock order; consecutive lots of one scope sent together (one round trip), run in that order
    for _parents, run in groupby(_lot_changes(legs), key=lambda change: parent is not None
                                 and change[0].tenant.id == parent.id):
        run = list(run)
        with union_scope(run[0][0].tenant, parent):
            changed = _change_lots(conn, [params for _leg, params in run])
        if changed != len(run):
            debits = _debits(legs)
            db.session.rollback()
            raise _short_lot(debits)
    # what the poster may see of it (a county does not see its parent's lot), for the response
    visible = [{"tenant": labels[leg.tenant.id][0], "lot": leg.lot_id, "source": leg.source if leg.lot_id else None,
                "fiscal_year": leg.fiscal_year if leg.lot_id else None, "account": leg.account,
                "category": leg.category, "amount": format_fen(leg.amount)}
               for leg in legs if leg.tenant.id in seen]
    return Posted(tx, False, visible, labels)


def _debits(legs: list[Leg]) -> dict[tuple, list]:
    """Per debited lot (union id, source, year): [the union's path, its name, the amount], read before a
    rollback expires the unions, for :func:`_short_lot`."""
    debits: dict[tuple, list] = {}
    for leg in legs:
        if leg.account is None and leg.amount < 0:
            key = (leg.tenant.id, leg.source, leg.fiscal_year)
            debits.setdefault(key, [leg.tenant.path, leg.tenant.name, 0])[2] -= leg.amount
    return debits


def _short_lot(debits: dict[tuple, list]) -> Conflict:
    """The error for the first debited lot whose balance does not cover its debit (read after the rollback,
    each under its union's scope: a posting's unions were checked before it was written)."""
    conn = db.session.connection()
    path = current_scope()
    for (tenant_id, source, year), (tenant_path, name, amount) in sorted(debits.items()):
        with scope(path if path == SYSTEM or tenant_path.startswith(path) else tenant_path):
            lot = conn.execute(_LOT_BY_KEY, {"tenant": tenant_id, "source": source, "year": year}).first()
        if lot is None or lot.balance < amount:
            return insufficient(name, source, year, amount, lot.balance if lot else 0, lot.id if lot else None)
    return Conflict(_l("A balance changed while this posting was made; nothing was posted. Repeat it."))
