"""Ledger operations: the only code that changes the ledger (the UI, the API, the CLI, the demo and the
aid module call these).

Every posting goes through :func:`_post`, which

1. takes the write lock where the database needs it (SQLite: ``BEGIN IMMEDIATE``, so concurrent
   postings queue instead of failing half-way with "database is locked"; PostgreSQL locks rows);
2. honours the idempotency key: the same key (per posting union) with the same request returns the
   first transaction and posts nothing; with a different request it is a 409;
3. writes the immutable transaction, its entries (which sum to zero) and the audit event, and only
   then changes the lots it touches, in the order of their key (union id, source, fiscal year: one
   fixed order for every posting and for the disbursement planner's locks, so concurrent postings never
   deadlock; last, so a lot's row lock is held only until the commit), each as one conditional
   ``UPDATE ... SET balance = balance + :delta WHERE <the lot> AND balance + :delta >= 0``: if no row
   matches there is not enough money, the transaction is rolled back and nothing is written (the CHECK
   ``balance >= 0`` backs it up).

On PostgreSQL a posting inside the poster's scope is one statement (:func:`_rows_statement_pg`: its
rows, then one plain conditional update per lot inside a migration's function), sent with the COMMIT in
one round trip when the caller lets it commit; on SQLite, and for the rows a return
writes in the parent's scope, one statement per row (:func:`_write_each`).

Scope: a posting touches its union and, for an allocation, a direct child: both inside the poster's
subtree. A return to the parent (and the reversal of one) also writes the *parent's* lot and entry,
which lie outside a county user's subtree; exactly those writes run under the parent's scope
(:func:`_side`), after the relation was checked. Nothing here uses the system scope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hardship import audit
from hardship.accounts.operations import require
from hardship.core.db import adopt, connection_lost, db, driver_error, utcnow
from hardship.core.errors import Conflict, Forbidden, NotFound, OutcomeUnknown, ValidationFailed
from hardship.core.idcard import FieldError
from hardship.core.money import MAX_FEN, format_fen, parse_fen
from hardship.funds.models import (
    EXTERNAL,
    INFLOWS,
    KINDS,
    OUTFLOWS,
    PURPOSES,
    SOURCES,
    FundEntry,
    FundLot,
    FundTransaction,
)
from tenants.models import Tenant
from tenants.scoping import SYSTEM, apply_scope, current_scope, scope, subtree_filter, transaction_ended

FIRST_YEAR = 2000
MAX_KEY = 100
DESTINATIONS = {"finance": _l("Back to finance"), "parent": _l("Back to the parent union")}


@dataclass(frozen=True)
class Posted:
    """What a posting operation returns: the transaction, and whether it was already posted earlier
    with the same idempotency key (then nothing new was written)."""

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


# ---------------------------------------------------------------- input (one parser for UI, API, CLI)

def _required_text(errors: dict, name: str, value, limit: int, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[name] = [_l("Required.")]
    elif len(text) > limit:
        errors[name] = [_l("At most %(n)d characters.", n=limit)]
    return text


def _parse_date(errors: dict, name: str, value, today: date) -> date | None:
    if value in (None, ""):
        errors[name] = [_l("Required.")]
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = [_l("A date like 2026-03-01.")]
        return None
    if day > today:
        errors[name] = [_l("The date cannot be in the future.")]
    elif day.year < FIRST_YEAR:
        errors[name] = [_l("Not before %(year)d.", year=FIRST_YEAR)]
    return day


def _parse_amount(errors: dict, value) -> int | None:
    try:
        return parse_fen(value)
    except FieldError as exc:
        errors["amount"] = [exc.message]
        return None


def _parse_year(errors: dict, value, on: date | None, today: date) -> int | None:
    if isinstance(value, bool) or value in (None, ""):
        errors["fiscal_year"] = [_l("Required.")]
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) != 4:
        errors["fiscal_year"] = [_l("A four-digit year, e.g. 2026.")]
        return None
    year = int(text)
    latest = (on or today).year + 1  # next year's funds are often issued in advance (提前下达)
    if not FIRST_YEAR <= year <= latest:
        errors["fiscal_year"] = [_l("From %(low)d to %(high)d.", low=FIRST_YEAR, high=latest)]
        return None
    return year


def _parse_source(errors: dict, value) -> str | None:
    if value not in SOURCES:
        errors["source"] = [_l("Choose one of: %(choices)s.", choices=", ".join(SOURCES))]
        return None
    return value


def parse_posting(data: dict, kind: str, today: date | None = None) -> dict:
    """Validate a receipt, allocation or return; every problem at once, keyed by field."""
    today = today or date.today()
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"_schema": [_l("Must be an object.")]})
    errors: dict = {}
    clean = {
        "source": _parse_source(errors, data.get("source")),
        "amount": _parse_amount(errors, data.get("amount")),
        "document_no": _required_text(errors, "document_no", data.get("document_no"), 100),
        "date": _parse_date(errors, "date", data.get("date"), today),
        "note": _required_text(errors, "note", data.get("note"), 500, required=False),
    }
    clean["fiscal_year"] = _parse_year(errors, data.get("fiscal_year"), clean["date"], today)
    if kind == "allocation":
        purpose = data.get("purpose") or None
        if purpose is not None and purpose not in PURPOSES:
            errors["purpose"] = [_l("Choose one of: %(choices)s.", choices=", ".join(PURPOSES))]
        clean["purpose"] = purpose
    if kind == "return":
        to = data.get("to")
        if to not in DESTINATIONS:
            errors["to"] = [_l("Choose one of: %(choices)s.", choices=", ".join(DESTINATIONS))]
        clean["to"] = to
    if errors:
        raise ValidationFailed(fields=errors)
    return clean


def _json_value(value):
    """Dates and times in a posting's JSON (ISO 8601, which PostgreSQL reads back exactly): its request
    fingerprint and its statement's parameters."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def _request_hash(kind: str, **values) -> str:
    """A fingerprint of the normalised request: the same key must come with the same posting."""
    raw = json.dumps({"kind": kind, **values}, sort_keys=True, ensure_ascii=False, default=_json_value)
    return hashlib.sha256(raw.encode()).hexdigest()


# ---------------------------------------------------------------- locking, scope, idempotency

def _begin_write() -> None:
    """Take the write lock for a posting.

    SQLite has one writer at a time; a transaction that starts as a reader (``BEGIN DEFERRED``, which
    pysqlite issues before the first write) and then writes can fail at once with "database is locked"
    when another writer got there first. ``BEGIN IMMEDIATE`` takes the write lock up front, so
    concurrent postings wait (the busy timeout) and then run one after the other. pysqlite begins a
    transaction only before a write, so inside a request that has only read so far the connection is
    not in a transaction yet and this starts it; after an earlier write in the same request the lock
    is already held. On PostgreSQL row locks do the work and nothing happens here.
    """
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _side(tenant: Tenant, parent_side: Tenant | None) -> Iterator[None]:
    """Run one write (or read) of ``tenant``'s ledger rows.

    Inside the current scope nothing changes. The one union outside it a posting may touch is
    ``parent_side``: the parent of the posting union, for a return to the parent and its reversal;
    the caller has checked that relation. That write runs under the parent's own scope, a deliberate
    and narrow widening (the ORM safety net, the flush guard and PostgreSQL row-level security all
    refuse it otherwise). Anything else is absent.
    """
    path = current_scope()
    if path == SYSTEM or tenant.path.startswith(path):
        yield
    elif parent_side is not None and tenant.id == parent_side.id:
        with scope(parent_side.path):
            yield
    else:
        raise NotFound()


def parent_of(tenant: Tenant) -> Tenant | None:
    """The parent union of ``tenant``, read under the parent's scope: a deliberate, read-only widening
    for returns to the parent (the parent is above a county user's subtree)."""
    if tenant.parent_id is None:
        return None
    codes = tenant.ancestor_codes
    parent_path = "/" + "/".join(codes) + "/"
    with scope(parent_path):
        parent = db.session.scalar(select(Tenant).where(Tenant.id == tenant.parent_id))
    if parent is None or parent.path != parent_path:
        raise NotFound()
    return parent


def check_idempotency_key(key) -> str | None:
    """``None`` or a key of 1 to 100 printable characters."""
    if key is None:
        return None
    key = str(key).strip()
    if not key or len(key) > MAX_KEY or any(ord(c) < 32 for c in key):
        raise ValidationFailed(fields={"idempotency_key": [_l("1 to %(n)d printable characters.", n=MAX_KEY)]})
    return key


def _earlier(poster_id: int, key: str | None, request_hash: str) -> FundTransaction | None:
    """The transaction posted earlier with ``key`` by the same union, if any (409 if it was another posting)."""
    if key is None:
        return None
    found = db.session.connection().execute(_EARLIER, {"poster": poster_id, "key": key}).first()
    if found is None:
        return None
    tx = db.session.get(FundTransaction, found.id)
    if tx is None:  # outside the scope: the key is taken all the same
        raise Conflict(_l("Already used for another posting."),
                       fields={"idempotency_key": [_l("Already used for another posting.")]})
    if found.request_hash != request_hash:
        raise Conflict(_l("This Idempotency-Key was already used for another posting (%(kind)s %(doc)s of %(on)s); "
                          "use a new key for a new posting.", kind=str(KINDS.get(tx.kind, tx.kind)),
                          doc=tx.document_no, on=tx.posted_on.isoformat()),
                       fields={"idempotency_key": [_l("Already used for another posting.")]}, transaction=tx.id)
    return tx


# ---------------------------------------------------------------- the posting engine

def _lot_label(union_name: str, source: str, year: int) -> str:
    return f"{union_name} · {SOURCES.get(source, source)} · {year}"


def _insufficient(union_name: str, source: str, year: int, wanted: int, balance: int, lot_id=None) -> Conflict:
    message = _l("Not enough money: the balance of %(lot)s is %(balance)s yuan; %(amount)s yuan cannot be "
                 "taken from it.", lot=_lot_label(union_name, source, year), balance=format_fen(balance),
                 amount=format_fen(wanted))
    return Conflict(message, fields={"amount": [_l("More than the balance (%(balance)s).",
                                                    balance=format_fen(balance))]},
                    balance=format_fen(balance), lot=lot_id)


def _ensure_lot(tenant: Tenant, source: str, year: int) -> int:
    """The id of the lot, created (race-free, without locking it) when it does not exist yet."""
    where = (FundLot.tenant_id == tenant.id, FundLot.source == source, FundLot.fiscal_year == year)
    lot_id = db.session.scalar(select(FundLot.id).where(*where))
    if lot_id is None:
        dialect = db.session.connection().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        db.session.execute(dialect_insert(FundLot).values(tenant_id=tenant.id, source=source, fiscal_year=year)
                           .on_conflict_do_nothing(index_elements=["tenant_id", "source", "fiscal_year"]))
        lot_id = db.session.scalar(select(FundLot.id).where(*where))
    return lot_id


# The posting engine's statements are Core statements on the table objects, built once and run on the
# session's connection: per posting they cost a fraction of ORM statements, and a lot's row lock is held
# for less time. They bypass the ORM safety net on purpose: every row they touch belongs to a union
# checked against the scope by :func:`_side` (and on PostgreSQL row-level security still applies).
_LOTS, _TXS, _ENTRIES = FundLot.__table__, FundTransaction.__table__, FundEntry.__table__
_FIND_LOTS = (select(_LOTS.c.id, _LOTS.c.tenant_id, _LOTS.c.source, _LOTS.c.fiscal_year)
              .where(_LOTS.c.tenant_id.in_(sa.bindparam("tenants", expanding=True)),
                     _LOTS.c.source.in_(sa.bindparam("sources", expanding=True)),
                     _LOTS.c.fiscal_year.in_(sa.bindparam("years", expanding=True))))
_EARLIER = select(_TXS.c.id, _TXS.c.request_hash).where(_TXS.c.poster_tenant_id == sa.bindparam("poster"),
                                                         _TXS.c.idempotency_key == sa.bindparam("key"))
_INSERT_ENTRIES = sa.insert(_ENTRIES)
_LOT_UPDATES: dict[tuple, sa.Update] = {}


def _lot_update(categories: tuple[str, ...], debit: bool) -> sa.Update:
    """``UPDATE fund_lots SET balance = balance + :delta, <category> = <category> +/- :<category>
    WHERE id = :lot [AND balance >= :needed]``, one statement per shape, built once."""
    shape = (categories, debit)
    stmt = _LOT_UPDATES.get(shape)
    if stmt is None:
        values = {"balance": _LOTS.c.balance + sa.bindparam("delta", type_=sa.BigInteger)}
        for category in categories:
            column, amount = _LOTS.c[category], sa.bindparam(f"c_{category}", type_=sa.BigInteger)
            values[category] = column + amount if category in INFLOWS else column - amount
        stmt = sa.update(_LOTS).where(_LOTS.c.id == sa.bindparam("lot")).values(**values)
        if debit:
            stmt = stmt.where(_LOTS.c.balance >= sa.bindparam("needed", type_=sa.BigInteger))
        stmt = _LOT_UPDATES[shape] = stmt
    return stmt


def _apply_to_lot(lot_id: int, changes: dict[str, int]) -> bool:
    """Change one lot's balance and running totals; a debit only if the balance covers it."""
    delta = sum(changes.values())
    categories = tuple(sorted(changes))
    params = {"lot": lot_id, "delta": delta, **{f"c_{c}": changes[c] for c in categories}}
    if delta < 0:
        params["needed"] = -delta
    result = db.session.connection().execute(_lot_update(categories, delta < 0), params)
    return result.rowcount == 1


def _post(kind: str, *, owner_id: int, poster: Tenant, actor, key: str | None, request_hash: str,
          header: dict, legs: Callable[[], list[Leg]], parent_side: Tenant | None = None,
          legs_read: bool = True, commit: bool = False) -> Posted:
    """Write one balanced transaction (see the module docstring).

    An idempotency key is looked up before ``legs`` runs when ``legs`` reads the database (a replayed
    reversal or disbursement must not be planned again, it may no longer fit); for the other postings
    the transaction's insert finds it (``ON CONFLICT DO NOTHING``), one round trip fewer.

    All or nothing: once writing has started, any failure (not enough money, a concurrent request with
    the same key) rolls back the database transaction before the error is raised, so no part of a
    posting can ever be committed; the caller's earlier work in the same transaction goes with it (the
    API, the pages and the aid module treat a failed posting as a failed request anyway). No savepoint:
    under contention on one lot a subtransaction's row locks made every waiter markedly slower.

    ``commit``: the posting is all the caller's transaction holds, and it commits it, with the posting's
    last statement where it can (the API and the pages; see :func:`_write_pg`). The caller must not have
    written anything else in that transaction: when a credited lot has to be created first, the COMMIT
    sent with the first attempt ends the transaction before the posting is made (pending ORM changes are
    refused; earlier flushed writes are the caller's to avoid).
    """
    if commit:
        session = db.session()
        if session.in_nested_transaction():
            raise RuntimeError("commit=True inside a savepoint would commit the outer transaction")
        if session.new or session.dirty or session.deleted:  # the posting must be all the transaction holds
            raise RuntimeError("commit=True with other changes pending: they would be committed on their own "
                               "when a lot has to be created first")
    _begin_write()
    if legs_read:
        earlier = _earlier(poster.id, key, request_hash)
        if earlier is not None:
            return Posted(earlier, True)
    planned = legs()
    try:
        written = _write(kind, owner_id, poster, actor, key, request_hash, header, planned, parent_side, commit)
    except IntegrityError:
        db.session.rollback()  # a row changed under the posting (the ledger's own races end in ON CONFLICT)
        raise Conflict(_l("The same posting is being made by another request at this moment; repeat this one "
                          "to get its result.")) from None
    except BaseException:
        db.session.rollback()
        raise
    if written is None:  # the key was taken (by an earlier or concurrent posting) or the reversal was made
        earlier = _earlier(poster.id, key, request_hash)
        if earlier is not None:
            return Posted(earlier, True)
        if header.get("reverses_id") is not None:
            raise Conflict(_l("This transaction has already been reversed."))
        raise Conflict(_l("The same posting is being made by another request at this moment; repeat this one "
                          "to get its result."))
    return written


def _resolve_lots(planned: list[Leg], parent_side: Tenant | None) -> list[Leg]:
    """The legs with their lot ids: lots named by source and year are found (one query per scope) or
    created (a credit to a new lot), in a fixed order and before anything is written or locked."""
    conn = db.session.connection()
    resolved = list(planned)
    unresolved = [i for i, leg in enumerate(planned) if leg.account is None and leg.lot_id is None]
    for group in _by_side(unresolved, planned, parent_side):
        with _side(planned[group[0]].tenant, parent_side):
            found = {(t, src, y): lot_id for lot_id, t, src, y in conn.execute(_FIND_LOTS, {
                "tenants": sorted({planned[i].tenant.id for i in group}),
                "sources": sorted({planned[i].source for i in group}),
                "years": sorted({planned[i].fiscal_year for i in group})})}
            for i in sorted(group, key=lambda i: (planned[i].tenant.id, planned[i].source, planned[i].fiscal_year)):
                leg = planned[i]
                lot_id = found.get((leg.tenant.id, leg.source, leg.fiscal_year))
                if lot_id is None and leg.amount < 0:
                    raise _insufficient(leg.tenant.name, leg.source, leg.fiscal_year, -leg.amount, 0)
                if lot_id is None:
                    lot_id = _ensure_lot(leg.tenant, leg.source, leg.fiscal_year)
                resolved[i] = replace(leg, lot_id=lot_id)
    return resolved


#: what a posting's statement raises when a debit is short (``hardship_change_lots``, a migration's function)
SHORT = "hardship: not enough money in a lot"
_TX_COLUMNS = ("tenant_id", "kind", "document_no", "posted_on", "source", "fiscal_year", "amount", "from_tenant_id",
               "to_tenant_id", "destination", "purpose", "note", "reference", "reverses_id", "poster_tenant_id",
               "posted_by_id", "posted_by", "idempotency_key", "request_hash", "created_at")
_AUDIT_COLUMNS = ("at", "tenant_id", "user_id", "username", "action", "object_type", "detail", "ip")
_TX_KEYS, _AUDIT_KEYS = frozenset(_TX_COLUMNS), frozenset(_AUDIT_COLUMNS)
_ROWS_PG: dict = {}


def _rows_statement_pg(dialect) -> tuple[sa.TextClause, str]:
    """PostgreSQL: a whole posting as one statement (and its text for psycopg).

    Its four parameters are JSON documents (one string each: binding them costs the driver a fraction of
    forty typed values): ``tx`` (the transaction's columns), ``legs`` (each leg's union, source, year or
    outside account, category, amount and position ``n``), ``audit`` (the audit event's columns, its
    ``detail`` kept as written) and ``changes`` (each lot's change, see :func:`_lot_changes`).

    1. ``found``: each leg's lot, looked up by union, source and fiscal year (a lot is exactly that), one
       sub-select per leg: as a join, the planner read the lots of every union in the scope through the
       policy's id list (a thousand index probes for a city) instead of the lots' key;
    2. ``tx``: the transaction, only if every lot exists (else the result's ``missing`` counts those that
       do not, and nothing at all is written), and nothing either when its idempotency key or its
       reversal is taken (``ON CONFLICT DO NOTHING``: the result's ``id`` is then null);
    3. its entries and its audit event, from the transaction's row;
    4. the lots' changes, in the lock order, by ``hardship_change_lots`` (a migration's function; it runs
       as the owner and checks each lot's union against the scope itself, as the lots' policy would), when
       the transaction was written: each a plain single-row conditional ``UPDATE`` of its own, so a
       posting that waited for a busy lot rechecks just that row when it gets it; a short debit raises
       :data:`SHORT`, which fails the statement and the transaction. The function's argument reads the
       entries' and the audit event's ``RETURNING``: PostgreSQL runs a data-modifying ``WITH`` that the
       main query does not read only after it, and so after the lots were locked; read, they are
       inserted first, and the lots are locked last (only the foreign-key checks at the statement's end
       run after them).

    The result: ``id``, ``lots`` (each leg's lot id, null for an outside account) and ``missing``."""
    built = _ROWS_PG.get(dialect.name)
    if built is not None:
        return built
    sql = f"""WITH leg AS (
  SELECT * FROM json_to_recordset(CAST(:legs AS json)) AS e(tenant_id integer, source varchar, fiscal_year integer,
                                                            account varchar, category varchar, amount bigint, n integer)
), found AS (
  SELECT leg.*, (SELECT l.id FROM fund_lots AS l WHERE leg.account IS NULL AND l.tenant_id = leg.tenant_id
                 AND l.source = leg.source AND l.fiscal_year = leg.fiscal_year) AS lot_id FROM leg
), missing AS (
  SELECT count(*) AS n FROM found WHERE account IS NULL AND lot_id IS NULL
), tx AS (
  INSERT INTO fund_transactions ({", ".join(_TX_COLUMNS)})
  SELECT {", ".join(_TX_COLUMNS)} FROM json_populate_record(NULL::fund_transactions, CAST(:tx AS json))
  WHERE (SELECT n FROM missing) = 0
  ON CONFLICT DO NOTHING
  RETURNING id
), entries AS (
  INSERT INTO fund_entries (transaction_id, tenant_id, lot_id, account, category, amount)
  SELECT tx.id, f.tenant_id, f.lot_id, f.account, f.category, f.amount FROM tx, found AS f ORDER BY f.n
  RETURNING 1
), audit AS (
  INSERT INTO audit_events ({", ".join(_AUDIT_COLUMNS)}, object_id)
  SELECT {", ".join("a." + c for c in _AUDIT_COLUMNS)}, CAST(tx.id AS varchar)
  FROM tx, json_populate_record(NULL::audit_events, CAST(:audit AS json)) AS a
  RETURNING 1
)
SELECT (SELECT id FROM tx) AS id, (SELECT array_agg(lot_id ORDER BY n) FROM found) AS lots,
       (SELECT n FROM missing) AS missing,
       hardship_change_lots((SELECT id FROM tx WHERE (SELECT count(*) FROM entries) + (SELECT count(*) FROM audit) > 0),
                            CAST(:changes AS json)) AS changed"""
    stmt = sa.text(sql)
    built = _ROWS_PG[dialect.name] = (stmt, str(stmt.compile(dialect=dialect)))
    return built


def _lot_changes(legs: list[Leg]) -> list[tuple[Leg, dict]]:
    """Per lot of ``legs``, in the lock order (union id, source, fiscal year): one of its legs, and its
    change: ``tenant``, ``source``, ``year``, ``delta`` (the balance's change) and each running total's
    amount (the signed sum of its entries of that category), as ``hardship_change_lots`` takes them."""
    per_lot: dict[tuple, tuple[Leg, dict]] = {}
    for leg in legs:
        if leg.account is None:
            key = (leg.tenant.id, leg.source, leg.fiscal_year)
            _first, change = per_lot.setdefault(key, (leg, {
                "tenant": key[0], "source": key[1], "year": key[2], "delta": 0,
                **dict.fromkeys((*INFLOWS, *OUTFLOWS), 0)}))
            change["delta"] += leg.amount
            change[leg.category] += leg.amount
    return [per_lot[key] for key in sorted(per_lot)]


_INSERT_TX_NEW: dict[str, sa.Insert] = {}


def _insert_tx(conn, values: dict) -> int | None:
    """The transaction's row alone (``None`` when its key or its reversal is taken)."""
    stmt = _INSERT_TX_NEW.get(conn.dialect.name)
    if stmt is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        stmt = _INSERT_TX_NEW[conn.dialect.name] = (dialect_insert(_TXS).on_conflict_do_nothing()
                                                    .returning(_TXS.c.id))
    return conn.execute(stmt, values).scalar()


def _write(kind, owner_id, poster, actor, key, request_hash, header, planned: list[Leg], parent_side,
           commit: bool = False):
    """The rows of one posting: transaction, entries and audit event, then the lots changed (see
    :func:`_write_pg` and :func:`_write_each`). ``None`` when the transaction's insert met its key (nothing
    written)."""
    if sum(leg.amount for leg in planned) != 0 or any(leg.amount == 0 for leg in planned):
        raise RuntimeError(f"unbalanced posting {kind}: {planned}")
    lot_keys = {(leg.source, leg.fiscal_year) for leg in planned if leg.account is None}
    if header.get("source") is None and len(lot_keys) == 1 and None not in next(iter(lot_keys)):
        header = {**header, "source": next(iter(lot_keys))[0], "fiscal_year": next(iter(lot_keys))[1]}
    tenants = {leg.tenant.id: leg.tenant for leg in planned}
    values = {"tenant_id": owner_id, "kind": kind, "poster_tenant_id": poster.id,
              "posted_by_id": getattr(actor, "id", None), "posted_by": getattr(actor, "username", None),
              "idempotency_key": key, "request_hash": request_hash if key else None, "source": None,
              "fiscal_year": None, "from_tenant_id": None, "to_tenant_id": None, "destination": None,
              "purpose": None, "note": "", "reference": None, "reverses_id": None, "created_at": utcnow(), **header}
    # a lot is its union, source and fiscal year: the audit event names it so (its id is not known yet)
    detail = {"document_no": values["document_no"], "date": values["posted_on"].isoformat(),
              "amount": format_fen(values["amount"]), "source": values["source"],
              "fiscal_year": values["fiscal_year"], "reverses": values["reverses_id"],
              "entries": [{"tenant": leg.tenant.code, "source": None if leg.account else leg.source,
                           "fiscal_year": None if leg.account else leg.fiscal_year, "account": leg.account,
                           "category": leg.category, "amount": format_fen(leg.amount)} for leg in planned]}
    conn = db.session.connection()
    path = current_scope()
    # read now: a commit below expires them
    labels = {t.id: (t.code, t.name) for t in tenants.values()}
    seen = {t.id for t in tenants.values() if path == SYSTEM or t.path.startswith(path)}
    owners = [leg.tenant.id for leg in planned]
    if conn.dialect.name == "postgresql" and (
            path == SYSTEM or all(leg.tenant.path.startswith(path) for leg in planned)):
        tx_id, lot_ids, missing = _write_pg(values, planned, detail, poster, actor, kind, commit)
        if missing:  # a credit to a lot that does not exist yet: create it, then post (nothing was written)
            _resolve_lots(planned, parent_side)
            tx_id, lot_ids, missing = _write_pg(values, planned, detail, poster, actor, kind, commit)
            if missing:
                raise RuntimeError("a lot just created is missing")
        resolved = planned if tx_id is None else [replace(leg, lot_id=lot_id)
                                                  for leg, lot_id in zip(planned, lot_ids, strict=True)]
    else:  # SQLite, and postings that write the parent's rows under its scope: one statement each
        resolved = _resolve_lots(planned, parent_side)
        tx_id = _write_each(conn, values, resolved, detail, poster, actor, kind, parent_side)
        if commit and tx_id is not None:
            db.session.commit()
    if tx_id is None:
        return None
    # what the poster may see of it (a county does not see its parent's lot), for the response
    visible = [{"tenant": labels[owner][0], "lot": leg.lot_id, "source": leg.source if leg.lot_id else None,
                "fiscal_year": leg.fiscal_year if leg.lot_id else None, "account": leg.account,
                "category": leg.category, "amount": format_fen(leg.amount)}
               for leg, owner in zip(resolved, owners, strict=True) if owner in seen]
    # the row as an ORM object without reading it back: persistent in the session like a loaded one
    tx = adopt(FundTransaction, {"id": tx_id, **values})
    return Posted(tx, False, visible, labels)


_LOT_BY_KEY = select(_LOTS.c.id, _LOTS.c.balance).where(_LOTS.c.tenant_id == sa.bindparam("tenant"),
                                                         _LOTS.c.source == sa.bindparam("source"),
                                                         _LOTS.c.fiscal_year == sa.bindparam("year"))


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
        with nullcontext() if path == SYSTEM or tenant_path.startswith(path) else scope(tenant_path):
            lot = conn.execute(_LOT_BY_KEY, {"tenant": tenant_id, "source": source, "year": year}).first()
        if lot is None or lot.balance < amount:
            return _insufficient(name, source, year, amount, lot.balance if lot else 0, lot.id if lot else None)
    return Conflict(_l("A balance changed while this posting was made; nothing was posted. Repeat it."))


def _write_pg(values, legs, detail, poster, actor, kind, commit) -> tuple:
    """PostgreSQL, every row inside the scope: the whole posting as one statement (:func:`_rows_statement_pg`:
    its rows, then each lot's change in the lock order). Returns the new transaction's id (``None`` when
    its key or its reversal was taken), each leg's lot id and how many of its lots do not exist yet (then
    nothing was written).

    With ``commit`` the statement and the ``COMMIT`` go to the server together (psycopg's pipeline mode on
    the session's own connection; the session may have no changes pending, see :func:`_post`): one round
    trip, and a lot's row lock is held only while the server works, never while this process waits for its
    turn on a busy CPU, which is what kept concurrent postings on one lot queueing behind each other. The
    session is committed right after, to follow (nothing is left for it to send). When a lot was missing,
    that COMMIT ended a transaction the posting wrote nothing in."""
    event = audit.values(f"funds.{kind}", poster, object_type="FundTransaction", detail=detail, user=actor)
    event["at"] = values["created_at"]
    # json_populate_record makes a key that is missing NULL: every column must be given (None where empty)
    if not (_TX_KEYS <= values.keys() and _AUDIT_KEYS <= event.keys()):
        raise RuntimeError(f"posting without {sorted((_TX_KEYS - values.keys()) | (_AUDIT_KEYS - event.keys()))}")
    params = {"tx": json.dumps(values, ensure_ascii=False, default=_json_value),
              "audit": json.dumps(event, ensure_ascii=False, default=_json_value),
              "legs": json.dumps([{"tenant_id": leg.tenant.id, "source": None if leg.account else leg.source,
                                   "fiscal_year": None if leg.account else leg.fiscal_year, "account": leg.account,
                                   "category": leg.category, "amount": leg.amount, "n": n}
                                  for n, leg in enumerate(legs)], ensure_ascii=False),
              "changes": json.dumps([change for _leg, change in _lot_changes(legs)], ensure_ascii=False)}
    conn = db.session.connection()
    stmt, sql = _rows_statement_pg(conn.dialect)
    try:
        if commit:
            raw = conn.connection.dbapi_connection
            try:
                with raw.pipeline():
                    apply_scope(conn)
                    cursor = raw.execute(sql, params)
                    raw.execute("COMMIT")
                row = cursor.fetchone()
            except raw.Error as exc:  # psycopg's own (SQLAlchemy does not wrap the pipeline)
                if connection_lost(conn, exc):  # lost with the COMMIT on its way: it may have been carried out
                    db.session.rollback()
                    raise OutcomeUnknown() from exc
                raise driver_error(conn, exc, sql, params) from exc
            transaction_ended(conn)
            db.session.commit()
        else:
            row = conn.execute(stmt, params).one()
    except sa.exc.DBAPIError as exc:
        debits = _debits(legs)
        db.session.rollback()
        if SHORT in str(exc.orig):  # a debit was short: nothing of the posting was kept
            raise _short_lot(debits) from None
        raise
    return row[0], row[1], row[2]


def _write_each(conn, values, resolved, detail, poster, actor, kind, parent_side) -> int | None:
    """One statement at a time, each scope's rows written in that scope; the lots last, in the lock order
    (union id, source, fiscal year), debits only if the balance covers them."""
    tx_id = _insert_tx(conn, values)
    if tx_id is None:
        return None
    for group in _by_side(range(len(resolved)), resolved, parent_side):
        with _side(resolved[group[0]].tenant, parent_side):
            conn.execute(_INSERT_ENTRIES, [
                {"transaction_id": tx_id, "tenant_id": resolved[i].tenant.id, "lot_id": resolved[i].lot_id,
                 "account": resolved[i].account, "category": resolved[i].category,
                 "amount": resolved[i].amount} for i in group])
    audit.write(f"funds.{kind}", poster, object_type="FundTransaction", object_id=tx_id, detail=detail, user=actor)
    for leg, change in _lot_changes(resolved):
        with _side(leg.tenant, parent_side):
            changed = _apply_to_lot(leg.lot_id, {c: change[c] for c in (*INFLOWS, *OUTFLOWS) if change[c]})
        if not changed:
            debits = _debits(resolved)
            db.session.rollback()
            raise _short_lot(debits)
    return tx_id


def _by_side(indexes, legs: list[Leg], parent_side: Tenant | None) -> list[list[int]]:
    """``indexes`` split into those inside the current scope and those of ``parent_side`` (never empty lists)."""
    inside, parent = [], []
    for i in indexes:
        (parent if parent_side is not None and legs[i].tenant.id == parent_side.id else inside).append(i)
    return [g for g in (inside, parent) if g]


def _posting_union(actor, tenant: Tenant, message) -> None:
    """Postings are made by the union whose money it is (the command line may post anywhere)."""
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(message)


# ---------------------------------------------------------------- receipts, allocations, returns

def post_receipt(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None,
                 today: date | None = None, commit: bool = False) -> Posted:
    """Receipt (入账): money enters the tree at ``tenant`` from outside (finance, donors, the union's own funds)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Receipts are posted by the finance officer of the receiving union."))
    key = check_idempotency_key(idempotency_key)
    clean = parse_posting(data, "receipt", today)
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = _request_hash("receipt", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "to_tenant_id": tenant.id, "note": clean["note"]}
    return _post("receipt", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                 legs_read=False,
                 commit=commit, header=header, legs=lambda: [
                     Leg(tenant, amount, "received", source, year),
                     Leg(tenant, -amount, EXTERNAL, account=f"outside:{source}")])


def allocate_funds(parent: Tenant, child: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None,
                   today: date | None = None, commit: bool = False) -> Posted:
    """Allocation (下拨): ``parent`` moves money from its lot to a direct child's lot of the same source and
    fiscal year, optionally earmarked for a program type."""
    require(actor, "funds.post")
    _posting_union(actor, parent, _l("Allocations are posted by the finance officer of the allocating union."))
    key = check_idempotency_key(idempotency_key)
    clean = parse_posting(data, "allocation", today)
    if child.parent_id != parent.id:
        raise ValidationFailed(fields={"to": [_l("%(child)s is not a direct child of %(parent)s; allocations go one "
                                                 "level down.", child=child.name, parent=parent.name)]})
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = _request_hash("allocation", parent=parent.code, child=child.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": parent.id, "to_tenant_id": child.id,
              "purpose": clean["purpose"], "note": clean["note"]}
    return _post("allocation", owner_id=child.id, poster=parent, actor=actor, key=key, request_hash=digest,
                 legs_read=False,
                 commit=commit, header=header, legs=lambda: [
                     Leg(parent, -amount, "allocated_out", source, year),
                     Leg(child, amount, "allocated_in", source, year)])


def return_funds(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None,
                 today: date | None = None, commit: bool = False) -> Posted:
    """Return (退回): money leaves the tree back to finance (``to="finance"``) or goes back up to the parent's
    lot of the same source and year (``to="parent"``)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Returns are posted by the finance officer of the returning union."))
    key = check_idempotency_key(idempotency_key)
    clean = parse_posting(data, "return", today)
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    parent = None
    if clean["to"] == "parent":
        parent = parent_of(tenant)
        if parent is None:
            raise ValidationFailed(fields={"to": [_l("%(union)s has no parent union; return to finance.",
                                                     union=tenant.name)]})
    digest = _request_hash("return", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": tenant.id,
              "to_tenant_id": parent.id if parent else None,
              "destination": clean["to"], "note": clean["note"]}

    def legs():
        out = Leg(tenant, -amount, "returned_out", source, year)
        if parent is None:
            return [out, Leg(tenant, amount, EXTERNAL, account=f"outside:{source}")]
        return [out, Leg(parent, amount, "returned_in", source, year)]

    return _post("return", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                 legs_read=False,
                 commit=commit, header=header, legs=legs, parent_side=parent)


# ---------------------------------------------------------------- reversals

def require_ledger_reader(actor) -> None:
    """The transaction list is read by those who read the ledger and by approvers, who reverse postings."""
    if actor is not None and not (actor.can("funds.read") or actor.can("funds.reverse")):
        raise Forbidden()


def reversal_of(tx: FundTransaction) -> FundTransaction | None:
    return db.session.scalar(select(FundTransaction).where(FundTransaction.reverses_id == tx.id,
                                                           subtree_filter(FundTransaction)))


def may_reverse(user, tx: FundTransaction, reversed_by: int | None = None, known: bool = False) -> bool:
    """Whether ``user`` may reverse ``tx`` now (for the UI's links): an approver of the posting union.
    ``known``: the caller already read ``reversed_by`` (the id of the reversal, if any) for a whole page."""
    if not (user is not None and user.can("funds.reverse") and user.tenant_id == tx.poster_tenant_id
            and tx.kind not in ("reversal", "disbursement")):
        return False
    return reversed_by is None if known else reversal_of(tx) is None


def reverse_transaction(tx: FundTransaction, data: dict, actor=None, *, idempotency_key: str | None = None,
                        today: date | None = None, allow_disbursement: bool = False, commit: bool = False) -> Posted:
    """Reversal (冲销): a new transaction whose entries undo ``tx``'s, with its own document number and date.

    Posted by an approver of the union that posted ``tx``. A reversal cannot be reversed, a transaction
    is reversed at most once, and money is only taken back if the lot still holds it (the reversal of an
    allocation never overdraws the child). Disbursements are reversed through the aid module
    (``allow_disbursement``), which keeps its batches in step.
    """
    require(actor, "funds.reverse")
    if actor is not None and actor.tenant_id != tx.poster_tenant_id:
        raise Forbidden(_l("A posting is reversed by an approver of the union that posted it."))
    key = check_idempotency_key(idempotency_key)
    today = today or date.today()
    errors: dict = {}
    document_no = _required_text(errors, "document_no", (data or {}).get("document_no"), 100)
    on = _parse_date(errors, "date", (data or {}).get("date"), today)
    note = _required_text(errors, "note", (data or {}).get("note"), 500, required=False)
    if on is not None and "date" not in errors and on < tx.posted_on:
        errors["date"] = [_l("Not before the date of the posting it reverses (%(d)s).", d=tx.posted_on.isoformat())]
    if errors:
        raise ValidationFailed(fields=errors)
    poster = db.session.scalar(select(Tenant).where(Tenant.id == tx.poster_tenant_id))
    if poster is None:
        raise NotFound()
    digest = _request_hash("reversal", transaction=tx.id, document_no=document_no, date=on, note=note)
    _begin_write()
    earlier = _earlier(poster.id, key, digest)
    if earlier is not None:
        return Posted(earlier, True)
    if tx.kind == "reversal":
        raise Conflict(_l("A reversal cannot be reversed; post the transaction again instead."))
    if tx.kind == "disbursement" and not allow_disbursement:
        raise Conflict(_l("Disbursements are corrected in their aid batch, not here."))
    done = reversal_of(tx)
    if done is not None:
        raise Conflict(_l("This transaction has already been reversed (%(doc)s of %(on)s).", doc=done.document_no,
                          on=done.posted_on.isoformat()), reversal=done.id)
    parent_side = None
    if tx.to_tenant_id is not None and tx.to_tenant_id == poster.parent_id:
        parent_side = parent_of(poster)  # the reversal of a return to the parent takes it back from the parent

    def legs():
        with _side(parent_side or poster, parent_side):
            rows = db.session.execute(select(FundEntry, FundLot.source, FundLot.fiscal_year)
                                      .outerjoin(FundLot, FundLot.id == FundEntry.lot_id)
                                      .where(FundEntry.transaction_id == tx.id).order_by(FundEntry.id)).all()
            ids = {e.tenant_id for e, _s, _y in rows}
            tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)))}
        if sum(e.amount for e, _s, _y in rows) != 0 or set(tenants) != ids:
            raise NotFound()
        return [Leg(tenants[e.tenant_id], -e.amount, e.category, source, year, lot_id=e.lot_id, account=e.account)
                for e, source, year in rows]

    header = {"document_no": document_no, "posted_on": on, "source": tx.source, "fiscal_year": tx.fiscal_year,
              "amount": tx.amount, "from_tenant_id": tx.to_tenant_id, "to_tenant_id": tx.from_tenant_id,
              "destination": tx.destination, "purpose": tx.purpose, "reference": tx.reference, "note": note,
              "reverses_id": tx.id}
    return _post("reversal", owner_id=tx.tenant_id, poster=poster, actor=actor, key=key, request_hash=digest,
                 commit=commit, header=header, legs=legs, parent_side=parent_side)


# ---------------------------------------------------------------- disbursements (called by the aid module)

def _candidate_lots(tenant: Tenant, sources, lot_id: int | None):
    stmt = select(FundLot).where(FundLot.tenant_id == tenant.id)
    if lot_id is not None:
        stmt = stmt.where(FundLot.id == lot_id)
    else:
        stmt = stmt.where(FundLot.source.in_(list(sources)), FundLot.balance > 0)
    stmt = stmt.order_by(FundLot.tenant_id, FundLot.source, FundLot.fiscal_year).execution_options(
        populate_existing=True)
    if db.session.connection().dialect.name == "postgresql":
        # lock the candidates (in the postings' lock order) so the plan holds until commit; NO KEY UPDATE, as
        # an UPDATE takes, so the foreign-key checks of concurrent entries (KEY SHARE) do not wait on it
        stmt = stmt.with_for_update(key_share=True)
    return db.session.scalars(stmt).all()


def plan_disbursement(tenant: Tenant, amount: int, sources, *, lot_id: int | None = None) -> list[tuple[FundLot, int]]:
    """Which lots pay ``amount`` (fen): the named lot, or the oldest fiscal year first among ``sources``
    (SPEC 4.5; within a year, in the order of ``sources``). 409 when the money is not there."""
    sources = [s for s in dict.fromkeys(sources or ()) if s in SOURCES]
    if lot_id is None and not sources:
        raise ValidationFailed(fields={"sources": [_l("Name at least one fund source.")]})
    lots = _candidate_lots(tenant, sources, lot_id)
    if lot_id is not None:
        if not lots:
            raise ValidationFailed(fields={"lot": [_l("Not a fund lot of %(union)s.", union=tenant.name)]})
        lot = lots[0]
        if sources and lot.source not in sources:
            raise ValidationFailed(fields={"lot": [_l("This lot's source is not allowed here; allowed: %(s)s.",
                                                      s=", ".join(sources))]})
        if lot.balance < amount:
            raise _insufficient(tenant.name, lot.source, lot.fiscal_year, amount, lot.balance, lot.id)
        return [(lot, amount)]
    order = {s: i for i, s in enumerate(sources)}
    lots = sorted(lots, key=lambda lot: (lot.fiscal_year, order[lot.source], lot.id))
    available = sum(lot.balance for lot in lots)
    if available < amount:
        raise Conflict(_l("Not enough money: %(union)s holds %(balance)s yuan of the allowed sources "
                          "(%(sources)s); %(amount)s yuan are needed.", union=tenant.name,
                          balance=format_fen(available), sources=", ".join(sources), amount=format_fen(amount)),
                       fields={"amount": [_l("More than the balance (%(balance)s).", balance=format_fen(available))]},
                       balance=format_fen(available))
    plan, rest = [], amount
    for lot in lots:
        if rest == 0:
            break
        part = min(rest, lot.balance)
        plan.append((lot, part))
        rest -= part
    return plan


def disburse(tenant: Tenant, amount, *, sources, document_no: str, on, actor=None, lot_id: int | None = None,
             reference: str | None = None, purpose: str | None = None, note: str = "",
             idempotency_key: str | None = None, today: date | None = None) -> Posted:
    """Disbursement (发放): pay ``amount`` (fen, or a decimal string of yuan) of aid from ``tenant``'s lots,
    chosen by :func:`plan_disbursement`; one transaction, one debit per lot. ``reference`` names what it
    pays (``batch:5``). The caller (the aid module) has checked the batch; this checks the money."""
    require(actor, "aid.pay")
    key = check_idempotency_key(idempotency_key)
    today = today or date.today()
    errors: dict = {}
    if isinstance(amount, int) and not isinstance(amount, bool):
        fen = amount  # already fen: the same limits as a parsed amount
        if fen <= 0:
            errors["amount"] = [_l("Must be more than zero.")]
        elif fen > MAX_FEN:
            errors["amount"] = [_l("At most %(max)s yuan in one entry.", max=format_fen(MAX_FEN))]
    else:
        fen = _parse_amount(errors, amount)
    document_no = _required_text(errors, "document_no", document_no, 100)
    day = _parse_date(errors, "date", on, today)
    note = _required_text(errors, "note", note, 500, required=False)
    if purpose is not None and purpose not in PURPOSES:
        errors["purpose"] = [_l("Choose one of: %(choices)s.", choices=", ".join(PURPOSES))]
    if reference is not None and len(str(reference)) > 64:
        errors["reference"] = [_l("At most %(n)d characters.", n=64)]
    if errors:
        raise ValidationFailed(fields=errors)
    sources = list(sources or ())
    digest = _request_hash("disbursement", tenant=tenant.code, amount=fen, sources=sources, lot=lot_id,
                           document_no=document_no, date=day, reference=reference, purpose=purpose, note=note)
    def legs():
        plan = plan_disbursement(tenant, fen, sources, lot_id=lot_id)
        out = []
        for lot, part in plan:
            out.append(Leg(tenant, -part, "disbursed", lot.source, lot.fiscal_year, lot.id))
            out.append(Leg(tenant, part, EXTERNAL, account=f"aid:{lot.source}"))
        return out

    header = {"document_no": document_no, "posted_on": day, "amount": fen, "from_tenant_id": tenant.id,
              "destination": "recipients", "purpose": purpose, "reference": reference, "note": note}
    # the transaction records one source and year when all its lots share them
    return _post("disbursement", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                 header=header, legs=legs)
