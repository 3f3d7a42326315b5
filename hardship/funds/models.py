"""The special-fund ledger (SPEC 4): balance lots, immutable transactions and their entries.

* A :class:`FundLot` is the money of one union from one source of one fiscal year (SPEC 4.2). It
  carries its running balance and running totals per category (received, allocated in/out, returned
  in/out, disbursed), so balances of a whole subtree are read without summing the ledger. Lots are
  the only ledger rows ever updated, and only by the conditional updates in ``operations``; the
  CHECK keeps a balance from going below zero under any concurrency.
* A :class:`FundTransaction` is one posting (receipt, allocation, return, disbursement, reversal)
  with its document number (文号) and date. Its :class:`FundEntry` rows sum to zero: each entry
  changes one lot, or one "outside world" account (``outside:<source>`` for money from or back to
  finance, ``aid:<source>`` for aid paid to people). Both tables are append-only (on PostgreSQL the
  runtime role has no UPDATE/DELETE on them); a correction is a reversal that references the
  transaction it undoes.

A transaction belongs (``tenant_id``) to the lowest union it touches (the child of an allocation or
of a return to the parent), so both parties see it; the union that posted it is
``poster_tenant_id``, and an idempotency key is unique per posting union.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned

#: fund sources (SPEC 4.2), in the order people list them
SOURCES = {
    "central_finance": _l("Central finance"),
    "provincial_finance": _l("Provincial finance"),
    "upper_union": _l("Allocated by the upper union"),
    "local_matching": _l("Local matching funds"),
    "own_funds": _l("Own union funds"),
    "donation": _l("Donations"),
}
#: sources whose money "comes from above" and so must be matched locally (SPEC 4.7)
MATCHED_SOURCES = ("central_finance", "provincial_finance", "upper_union")

#: program types of SPEC 5.1: what an allocation may be earmarked for
PURPOSES = {
    "warmth": _l("Warmth campaign"),
    "education": _l("Education aid"),
    "medical": _l("Medical aid"),
    "living": _l("Living aid"),
    "emergency": _l("Emergency aid"),
    "model_worker": _l("Model workers in hardship"),
    "frontline": _l("Frontline workers"),
    "migrant": _l("Migrant workers"),
}

KINDS = {
    "receipt": _l("Receipt"),
    "allocation": _l("Allocation"),
    "return": _l("Return"),
    "disbursement": _l("Disbursement"),
    "reversal": _l("Reversal"),
}

#: entry categories that add to a lot, and those that take from it; each is a running total on the lot (a
#: column of that name), and this list is the one every user of the totals derives from (the ledger's update,
#: reconcile, the balances)
INFLOWS = ("received", "allocated_in", "returned_in")
OUTFLOWS = ("allocated_out", "disbursed", "returned_out")
RUNNING_TOTALS = INFLOWS + OUTFLOWS


def running_total_change(category: str, entries: int) -> int:
    """What entries of ``category`` summing to ``entries`` (signed fen) add to the lot's running total of that
    name: an inflow's entries are credits, an outflow's are debits and its total counts them positive."""
    return entries if category in INFLOWS else -entries
#: the category of an entry on an outside-world account
EXTERNAL = "external"

AGING = {"ok": _l("OK"), "warning": _l("Warning"), "overdue": _l("Overdue")}


def _fen() -> sa.BigInteger:
    return sa.BigInteger()


class FundLot(TenantOwned, db.Model):
    """The money of one union, from one source, of one fiscal year; balances in fen."""

    __tablename__ = "fund_lots"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "source", "fiscal_year"),
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
        sa.Index("ix_fund_lots_year", "fiscal_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(24))
    fiscal_year: Mapped[int] = mapped_column()
    balance: Mapped[int] = mapped_column(_fen(), default=0)
    received: Mapped[int] = mapped_column(_fen(), default=0)
    allocated_in: Mapped[int] = mapped_column(_fen(), default=0)
    returned_in: Mapped[int] = mapped_column(_fen(), default=0)
    allocated_out: Mapped[int] = mapped_column(_fen(), default=0)
    disbursed: Mapped[int] = mapped_column(_fen(), default=0)
    returned_out: Mapped[int] = mapped_column(_fen(), default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def inflow(self) -> int:
        return sum(getattr(self, name) for name in INFLOWS)

    @property
    def consumed(self) -> int:
        return sum(getattr(self, name) for name in OUTFLOWS)


class FundTransaction(TenantOwned, db.Model):
    """One posting; never changed or deleted (corrections are reversals)."""

    __tablename__ = "fund_transactions"
    __table_args__ = (
        sa.UniqueConstraint("poster_tenant_id", "idempotency_key"),
        sa.UniqueConstraint("reverses_id"),
        sa.Index("ix_fund_transactions_tenant_posted_on", "tenant_id", "posted_on"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    document_no: Mapped[str] = mapped_column(sa.String(100), index=True)
    posted_on: Mapped[date] = mapped_column(sa.Date)
    #: the lot's source and year when the posting touches one source and year (all but some disbursements)
    source: Mapped[str | None] = mapped_column(sa.String(24))
    fiscal_year: Mapped[int | None] = mapped_column()
    amount: Mapped[int] = mapped_column(_fen())
    from_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    to_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    #: ``finance`` | ``parent`` for returns, ``recipients`` for disbursements
    destination: Mapped[str | None] = mapped_column(sa.String(16))
    #: an allocation's earmark: a program type of SPEC 5.1
    purpose: Mapped[str | None] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: what the posting pays for, e.g. an aid batch (``batch:5``)
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_transactions.id"))
    poster_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    posted_by: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    request_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FundEntry(TenantOwned, db.Model):
    """One leg of a transaction: a signed amount on a lot (``lot_id``) or on an outside account."""

    __tablename__ = "fund_entries"
    __table_args__ = (
        sa.CheckConstraint("(lot_id IS NULL) <> (account IS NULL)", name="lot_or_account"),
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("fund_transactions.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_lots.id"), index=True)
    account: Mapped[str | None] = mapped_column(sa.String(40))
    category: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[int] = mapped_column(_fen())
