"""Reading the ledger: balances with aging (SPEC 4.6, 4.8), matching (4.7), the transaction list, exports.

Balances read the running totals on the lots (never the whole ledger); ``reconcile`` proves those
totals equal the entries.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from hardship.core.db import among, db
from hardship.core.money import format_fen
from hardship.funds.models import (
    INFLOWS,
    MATCHED_SOURCES,
    OUTFLOWS,
    RUNNING_TOTALS,
    SOURCES,
    FundEntry,
    FundLot,
    FundTransaction,
    running_total_change,
)
from tenants import settings as tenant_settings
from tenants.models import Tenant
from tenants.scoping import current_scope, scope, subtree_filter, within

#: a balance row's name of a running total, where it differs (``returned`` is money returned *out*)
ROW_NAMES = {"returned_out": "returned"}
#: the money fields of a balance row, in the order of SPEC 4.8: the running totals, then the balance
MONEY_FIELDS = (*(ROW_NAMES.get(name, name) for name in RUNNING_TOTALS), "balance")
INFLOW_FIELDS = tuple(ROW_NAMES.get(name, name) for name in INFLOWS)
OUTFLOW_FIELDS = tuple(ROW_NAMES.get(name, name) for name in OUTFLOWS)
PER_PAGE = 50
EXPORT_LIMIT = 100_000


# ---------------------------------------------------------------- aging (SPEC 4.6)

def consumed_pct(inflow: int, consumed: int) -> float:
    """How much of what came into a lot has gone out (disbursed, allocated down or returned), in percent."""
    if inflow <= 0:
        return 0.0
    return round(consumed * 100 / inflow, 2)


def aging_status(fiscal_year: int, inflow: int, consumed: int, balance: int, rule: dict, today: date) -> str:
    """``ok``, ``warning`` or ``overdue`` for a lot of ``fiscal_year`` on ``today``.

    With the default rule a lot of year Y is ``overdue`` once Y+2 has ended with money left on it, and a
    ``warning`` once Y+1 has ended while less than 50% of it is consumed. The status is the lot's state
    today: consuming enough later clears a warning.
    """
    if balance <= 0:
        return "ok"
    if today.year > fiscal_year + int(rule["overdue_after_years"]):
        return "overdue"
    if today.year > fiscal_year + int(rule["warning_after_years"]) and \
            consumed_pct(inflow, consumed) < float(rule["warning_pct"]):
        return "warning"
    return "ok"


def _settings_of(owners, *keys: str) -> dict[str, dict[int, object]]:
    """The effective ``keys`` of each owner, ``{key: {tenant id: value}}``: two queries however many unions
    hold lots."""
    return tenant_settings.values_by_key({owner.id: owner for owner in owners}.values(), keys)


# ---------------------------------------------------------------- balances (SPEC 4.8)

def _owners(tenant_ids) -> dict[int, Tenant]:
    """The unions of these ids (read apart from their lots: see :func:`tenants.scoping.within`)."""
    return {t.id: t for t in db.session.scalars(select(Tenant).where(among(Tenant.id, sorted(set(tenant_ids))))
                                                  .execution_options(include_all_tenants=True))}


def _lots(tenant: Tenant, subtree: bool, year: int | None) -> list[tuple[FundLot, Tenant]]:
    """The lots of ``tenant`` (or its subtree) and each one's union."""
    if not subtree:
        stmt = select(FundLot).where(FundLot.tenant_id == tenant.id)
    else:
        stmt = select(FundLot).where(*within(FundLot.tenant_id, tenant.path)) \
            .execution_options(include_all_tenants=True)
    if year is not None:
        stmt = stmt.where(FundLot.fiscal_year == year)
    lots = db.session.scalars(stmt).all()
    owners = _owners(lot.tenant_id for lot in lots) if subtree else {tenant.id: tenant}
    return [(lot, owners[lot.tenant_id]) for lot in lots]


def _empty_totals() -> dict:
    return {**dict.fromkeys(MONEY_FIELDS, 0), "warning": 0, "overdue": 0}


def balances(tenant: Tenant, *, subtree: bool = False, year: int | None = None, today: date | None = None) -> dict:
    """``{"rows": [...], "totals": {...}}`` per tenant x source x fiscal year, amounts in fen.

    ``totals`` adds ``warning`` and ``overdue``: the balances of the lots in that state.
    """
    lots = _lots(tenant, subtree, year)
    return _balances(tenant, subtree, year, lots, _settings_of((owner for _lot, owner in lots), "aging")["aging"],
                     today or date.today())


def _balances(tenant: Tenant, subtree: bool, year: int | None, lots: list, rules: dict, today: date) -> dict:
    order = list(SOURCES)
    rows, totals = [], _empty_totals()
    for lot, owner in lots:
        status = aging_status(lot.fiscal_year, lot.inflow, lot.consumed, lot.balance, rules[owner.id], today)
        row = {"lot": lot.id, "tenant": owner.code, "tenant_name": owner.name, "source": lot.source,
               "fiscal_year": lot.fiscal_year, **{ROW_NAMES.get(name, name): getattr(lot, name) for name in RUNNING_TOTALS},
               "balance": lot.balance, "consumed_pct": consumed_pct(lot.inflow, lot.consumed), "aging": status}
        rows.append(row)
        for name in MONEY_FIELDS:
            totals[name] += row[name]
        if status in ("warning", "overdue"):
            totals[status] += lot.balance
    rows.sort(key=lambda r: (r["tenant"] != tenant.code, r["tenant"], r["fiscal_year"], order.index(r["source"])
                             if r["source"] in order else 99))
    totals["consumed_pct"] = consumed_pct(sum(totals[name] for name in INFLOW_FIELDS),
                                          sum(totals[name] for name in OUTFLOW_FIELDS))
    return {"tenant": tenant.code, "subtree": subtree, "year": year, "rows": rows, "totals": totals}


def format_balances(result: dict) -> dict:
    """The API shape of appendix A: money as decimal strings."""
    def money(row):
        return {k: (format_fen(v) if k in MONEY_FIELDS or k in ("warning", "overdue") else v) for k, v in row.items()}

    return {**result, "rows": [money(r) for r in result["rows"]], "totals": money(result["totals"])}


# ---------------------------------------------------------------- matching (SPEC 4.7)

def ratio_for(setting: dict, year: int) -> float:
    """The matching ratio of ``year`` from the setting ``{"default": 1.0, "2010": 0.5}``."""
    return float(setting.get(str(year), setting.get("default", 0)))


def matching(tenant: Tenant, year: int, *, subtree: bool = False) -> list[dict]:
    """Required and achieved local matching per tenant for fiscal ``year`` (amounts in fen).

    Required: the tenant's ratio for the year times the money that reached it from above in that fiscal
    year: receipts from central or provincial finance or the upper union, and allocations from its
    parent of those sources (net of reversals). Achieved: its ``local_matching`` receipts of the year.
    Summed in Python over the lots' running totals (a union holds a few lots a year).
    """
    lots = _lots(tenant, subtree, year)
    ratios = _settings_of([tenant, *(owner for _lot, owner in lots)], "matching_ratio")["matching_ratio"]
    return _matching(tenant, year, subtree, lots, ratios)


def _matching(tenant: Tenant, year: int, subtree: bool, lots: list, ratios: dict) -> list[dict]:
    sums: dict[int, list] = {}
    for lot, owner in lots:
        if lot.fiscal_year != year:
            continue
        part = sums.setdefault(owner.id, [owner, 0, 0])
        if lot.source in MATCHED_SOURCES:
            part[1] += lot.received + lot.allocated_in
        if lot.source == "local_matching":
            part[2] += lot.received
    rows = []
    for owner, above, got in sorted(sums.values(), key=lambda part: part[0].path):
        ratio = ratio_for(ratios[owner.id], year)
        required = int((Decimal(int(above)) * Decimal(str(ratio))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        rows.append({"tenant": owner.code, "tenant_name": owner.name, "year": year, "ratio": ratio,
                     "from_above": int(above), "required": required, "achieved": int(got),
                     "shortfall": max(0, required - int(got))})
    if not subtree and not rows:
        ratio = ratio_for(ratios[tenant.id], year)
        rows.append({"tenant": tenant.code, "tenant_name": tenant.name, "year": year, "ratio": ratio,
                     "from_above": 0, "required": 0, "achieved": 0, "shortfall": 0})
    return rows


def balances_and_matching(tenant: Tenant, year: int, *, subtree: bool = False,
                          today: date | None = None) -> tuple[dict, list[dict], dict[str, Tenant]]:
    """:func:`balances` of fiscal ``year`` and :func:`matching` of ``year`` from one read of the lots and of
    their unions' settings (the summary reads both for a whole province), with the unions that hold those lots
    by code."""
    lots = _lots(tenant, subtree, year)
    settings = _settings_of([tenant, *(owner for _lot, owner in lots)], "aging", "matching_ratio")
    return (_balances(tenant, subtree, year, lots, settings["aging"], today or date.today()),
            _matching(tenant, year, subtree, lots, settings["matching_ratio"]),
            {owner.code: owner for _lot, owner in lots})


def format_matching(rows: list[dict]) -> list[dict]:
    return [{k: (format_fen(v) if k in ("from_above", "required", "achieved", "shortfall") else v)
             for k, v in r.items()} for r in rows]


# ---------------------------------------------------------------- transactions

def transactions_query(tenant: Tenant, *, subtree: bool = False, kind=None, source=None, year=None,
                       date_from=None, date_to=None, document_no=None, purpose=None):
    """Transactions that touch ``tenant`` (or, with ``subtree``, any union of its subtree), newest first."""
    touched = select(FundEntry.transaction_id)
    touched = touched.where(subtree_filter(FundEntry, tenant.path)) if subtree else \
        touched.where(FundEntry.tenant_id == tenant.id)
    stmt = select(FundTransaction).where(FundTransaction.id.in_(touched))
    if kind:
        stmt = stmt.where(FundTransaction.kind == kind)
    if source:
        stmt = stmt.where(FundTransaction.source == source)
    if year:
        stmt = stmt.where(FundTransaction.fiscal_year == year)
    if date_from:
        stmt = stmt.where(FundTransaction.posted_on >= date_from)
    if date_to:
        stmt = stmt.where(FundTransaction.posted_on <= date_to)
    if document_no:
        stmt = stmt.where(FundTransaction.document_no.contains(document_no.strip(), autoescape=True))
    if purpose:
        stmt = stmt.where(FundTransaction.purpose == purpose)
    return stmt.order_by(FundTransaction.posted_on.desc(), FundTransaction.id.desc())


def counterparty_labels(ids) -> dict[int, tuple[str, str]]:
    """Code and name of the unions named on transactions the reader can see: those of its subtree, and the
    parent of its subtree's root (which allocated money to it or received its returns), read under the
    parent's own scope: a deliberate, read-only widening to that one union's code and name."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    found = {t.id: (t.code, t.name) for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)))}
    missing = ids - set(found)
    codes = current_scope().strip("/").split("/")
    if missing and len(codes) > 1:
        parent_path = "/" + "/".join(codes[:-1]) + "/"
        with scope(parent_path):
            found.update({t.id: (t.code, t.name) for t in db.session.scalars(
                select(Tenant).where(Tenant.id.in_(missing), Tenant.path == parent_path))})
    return found


def transaction_rows(transactions, tenant: Tenant, *, subtree: bool = False) -> list[dict]:
    """List rows, each with ``change``: what the transaction did to the balance of ``tenant`` (or its subtree)."""
    transactions = list(transactions)
    ids = [t.id for t in transactions]
    changes: dict[int, int] = {}
    reversed_by: dict[int, int] = {}
    if ids:
        entries = select(FundEntry.transaction_id, func.sum(FundEntry.amount)).where(
            FundEntry.transaction_id.in_(ids), FundEntry.lot_id.is_not(None))
        entries = entries.where(subtree_filter(FundEntry, tenant.path)) if subtree else \
            entries.where(FundEntry.tenant_id == tenant.id)
        changes = dict(db.session.execute(entries.group_by(FundEntry.transaction_id)).all())
        reversed_by = dict(db.session.execute(select(FundTransaction.reverses_id, FundTransaction.id)
                                              .where(FundTransaction.reverses_id.in_(ids),
                                                     subtree_filter(FundTransaction))).all())
    labels = counterparty_labels([t.from_tenant_id for t in transactions] + [t.to_tenant_id for t in transactions])
    return [transaction_dict(t, labels, change=int(changes.get(t.id, 0)), reversed_by=reversed_by.get(t.id))
            for t in transactions]


def transaction_dict(tx: FundTransaction, labels: dict | None = None, *, change: int | None = None,
                     reversed_by: int | None = None, entries: list | None = None) -> dict:
    labels = labels if labels is not None else counterparty_labels([tx.from_tenant_id, tx.to_tenant_id])

    def code(tenant_id):
        return labels.get(tenant_id, ("", ""))[0] if tenant_id else None

    def name(tenant_id):
        return labels.get(tenant_id, ("", ""))[1] if tenant_id else None

    to = code(tx.to_tenant_id) or tx.destination
    out = {
        "id": tx.id, "kind": tx.kind, "document_no": tx.document_no, "date": tx.posted_on.isoformat(),
        "source": tx.source, "fiscal_year": tx.fiscal_year, "amount": format_fen(tx.amount),
        "from": code(tx.from_tenant_id), "from_name": name(tx.from_tenant_id), "to": to,
        "to_name": name(tx.to_tenant_id), "destination": tx.destination, "purpose": tx.purpose, "note": tx.note,
        "reference": tx.reference, "reverses": tx.reverses_id, "reversed_by": reversed_by,
        "posted_by": tx.posted_by, "posted_at": tx.created_at.isoformat() if tx.created_at else None,
    }
    if change is not None:
        out["change"] = format_fen(change)
    if entries is not None:
        out["entries"] = entries
    return out


def visible_entries(tx: FundTransaction) -> list[dict]:
    """The transaction's entries the reader may see (a county does not see its parent's lot)."""
    rows = db.session.execute(
        select(FundEntry, Tenant.code, FundLot.source, FundLot.fiscal_year)
        .join(Tenant, Tenant.id == FundEntry.tenant_id).outerjoin(FundLot, FundLot.id == FundEntry.lot_id)
        .where(FundEntry.transaction_id == tx.id, subtree_filter(FundEntry)).order_by(FundEntry.id)).all()
    return [{"tenant": code, "lot": e.lot_id, "source": source, "fiscal_year": year, "account": e.account,
             "category": e.category, "amount": format_fen(e.amount)} for e, code, source, year in rows]


# ---------------------------------------------------------------- a month's statement (SPEC 6.3 monthly_funds)

#: a monthly statement's figures per source, in order
STATEMENT_FIELDS = ("opening", *RUNNING_TOTALS, "closing")


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first day of the month and the first day after it."""
    return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)


def monthly_statement(tenant: Tenant, year: int, month: int, *, subtree: bool = False) -> dict:
    """The ledger's statement of one month per source, from the entries of the lots of ``tenant`` (or, with
    ``subtree``, of every union of its subtree), every fiscal year together, by the date of their transaction
    (``posted_on``): ``{source: {field: fen}}`` with the :data:`STATEMENT_FIELDS`, every source present.

    ``opening`` is the sum of the entries dated before the month (the balance the month starts with), each
    running total what the month's entries of its category add to it (:func:`running_total_change`: the
    lots' running totals limited to the month; a reversal counts negative in its own month), ``closing`` the
    opening plus every entry of the month, which is ``opening + received + allocated_in + returned_in -
    allocated_out - disbursed - returned_out``. Allocations between two unions of the subtree appear both in
    and out, as in :func:`balances`."""
    start, end = month_bounds(year, month)
    owners = subtree_filter(FundEntry, tenant.path) if subtree else FundEntry.tenant_id == tenant.id
    before = FundTransaction.posted_on < start
    rows = db.session.execute(
        select(FundLot.source, FundEntry.category, before.label("earlier"), func.sum(FundEntry.amount))
        .join(FundTransaction, FundTransaction.id == FundEntry.transaction_id)
        .join(FundLot, FundLot.id == FundEntry.lot_id)
        .where(owners, FundEntry.lot_id.is_not(None), FundTransaction.posted_on < end)
        .group_by(FundLot.source, FundEntry.category, "earlier")).all()
    statement = {source: dict.fromkeys(STATEMENT_FIELDS, 0) for source in SOURCES}
    for source, category, earlier, amount in rows:
        row = statement.setdefault(source, dict.fromkeys(STATEMENT_FIELDS, 0))
        amount = int(amount)
        row["closing"] += amount
        if earlier:
            row["opening"] += amount
        else:
            row[category] += running_total_change(category, amount)
    return statement
