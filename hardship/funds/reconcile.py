"""Reconciliation (SPEC 4.8): recompute every lot from the ledger's entries and check every transaction.

Run by ``flask --app wsgi hardship reconcile`` under the system scope (the whole ledger). Changes
nothing: it reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import func, select

from hardship.core.db import db
from hardship.core.money import format_fen
from hardship.funds.models import (
    EXTERNAL,
    RUNNING_TOTALS,
    FundEntry,
    FundLot,
    FundTransaction,
    running_total_change,
)
from tenants.models import Tenant


@dataclass(frozen=True)
class Difference:
    """One thing that does not add up."""

    what: str
    where: str
    stored: str
    computed: str

    def __str__(self) -> str:
        return f"{self.what}: {self.where}: stored {self.stored}, computed from the entries {self.computed}"


def reconcile() -> list[Difference]:
    """Every difference between the lots and their entries, and every transaction that does not sum to zero
    (or has fewer than two entries, or an entry of another union than its lot's)."""
    found: list[Difference] = []
    sums: dict[int, dict[str, int]] = {}
    for lot_id, category, total in db.session.execute(
            select(FundEntry.lot_id, FundEntry.category, func.sum(FundEntry.amount))
            .where(FundEntry.lot_id.is_not(None)).group_by(FundEntry.lot_id, FundEntry.category)):
        sums.setdefault(lot_id, {})[category] = int(total)
    lots = db.session.execute(select(FundLot, Tenant.code).join(Tenant, Tenant.id == FundLot.tenant_id)
                              .order_by(FundLot.id)).all()
    for lot, code in lots:
        where = f"lot {lot.id} ({code} {lot.source} {lot.fiscal_year})"
        by_category = sums.pop(lot.id, {})
        unknown = set(by_category) - set(RUNNING_TOTALS)
        for category in sorted(unknown):
            found.append(Difference("entry category", where, "-", f"{category} {format_fen(by_category[category])}"))
        computed_balance = sum(by_category.values())
        if lot.balance != computed_balance:
            found.append(Difference("balance", where, format_fen(lot.balance), format_fen(computed_balance)))
        for category in RUNNING_TOTALS:
            computed = running_total_change(category, by_category.get(category, 0))
            stored = getattr(lot, category)
            if stored != computed:
                found.append(Difference(category, where, format_fen(stored), format_fen(computed)))
        if lot.balance < 0:
            found.append(Difference("negative balance", where, format_fen(lot.balance), "0.00 or more"))
    for lot_id in sorted(sums):
        found.append(Difference("entries of a missing lot", f"lot {lot_id}", "-", format_fen(sum(sums[lot_id].values()))))

    entry_sums = (select(FundEntry.transaction_id, func.sum(FundEntry.amount).label("total"),
                         func.count().label("n")).group_by(FundEntry.transaction_id).subquery())
    for tx_id, document_no, total, n in db.session.execute(
            select(FundTransaction.id, FundTransaction.document_no, entry_sums.c.total, entry_sums.c.n)
            .outerjoin(entry_sums, entry_sums.c.transaction_id == FundTransaction.id)
            .where(sa.or_(entry_sums.c.total.is_(None), entry_sums.c.total != 0, entry_sums.c.n < 2))
            .order_by(FundTransaction.id)):
        found.append(Difference("transaction does not balance", f"transaction {tx_id} ({document_no})",
                                f"{n or 0} entries", f"sum {format_fen(int(total or 0))}, expected 0.00 over 2 or more"))
    for entry_id, tx_id in db.session.execute(
            select(FundEntry.id, FundEntry.transaction_id).join(FundLot, FundLot.id == FundEntry.lot_id)
            .where(FundLot.tenant_id != FundEntry.tenant_id).order_by(FundEntry.id)):
        found.append(Difference("entry of another union than its lot", f"entry {entry_id} of transaction {tx_id}",
                                "-", "-"))
    for entry_id, tx_id in db.session.execute(
            select(FundEntry.id, FundEntry.transaction_id)
            .where(FundEntry.lot_id.is_(None), FundEntry.category != EXTERNAL).order_by(FundEntry.id)):
        found.append(Difference("outside entry with a lot category", f"entry {entry_id} of transaction {tx_id}",
                                "-", "-"))
    return found
