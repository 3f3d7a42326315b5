"""Aid programs (帮扶项目), their batches (发放批次) and items, the batches' history, and the claims that
make "no duplicate aid" (不重复救助, SPEC 5.3) a database constraint.

* An :class:`AidProgram` belongs to the union that runs it and is visible to that union's whole subtree
  (an enterprise sees its county's campaign): besides ``tenant_id`` it keeps ``tenant_path``, the owner's
  path, and its row-level security policy lets a scope below the owner read it.
* An :class:`AidBatch` is prepared by a union of the program's subtree (``tenant_id``); its
  :class:`AidBatchEvent` rows are its history, append-only like ``household_events``.
* An :class:`AidItem` is one recipient: an archived household (``household_id``) or a named
  non-archived person (name, encrypted ID number and phone bound to the item's ``row_key``, and the
  archive's blind index of the ID number). Money is fen; goods (SPEC 5.7, 物资) are a ``goods_item_id`` of the
  paying union's stock and a whole ``quantity`` beside ``amount`` (which may then be zero), with their value
  ``goods_value`` (quantity x unit value, fen) kept on the item: it counts toward the standard and the
  program's totals as 物资折款, and is read without reaching into the paying union's stock.
* An :class:`AidClaim` is the fact "this person is aided under this key" with one UNIQUE index on
  ``(claim_key, person_index)``: the key ``p:<program id>`` (once per program) and, for ``living`` and
  ``emergency`` programs, ``y:<year>:relief`` (once a year across all such programs; a head's recorded
  override leaves that one out). It has no ``tenant_id`` on purpose: the rule holds across the whole
  deployment, so the table is outside row-level security (it holds only blind indexes, an item id and the
  holding union's name, which is what a refusal may name).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.crypto import new_row_key
from hardship.core.db import UTCDateTime, db, utcnow
from hardship.funds.models import PURPOSES
from tenants.models import TenantOwned

#: program types (SPEC 5.1): the ledger's purposes
PROGRAM_TYPES = PURPOSES
#: types limited to once a year per person across all programs of these types (SPEC 5.3)
YEARLY_TYPES = ("living", "emergency")

#: beneficiary kinds and their standards (SPEC 5.1)
KINDS = {
    "archived": _l("Archived hardship household"),
    "model_worker": _l("Model worker in hardship"),
    "frontline": _l("Frontline worker"),
    "non_archived": _l("Non-archived person"),
}
#: kinds paid to an archived household (the others are named persons)
HOUSEHOLD_KINDS = ("archived", "model_worker")

BATCH_STATUSES = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "rejected": _l("Rejected"),
}
#: statuses in which a batch's items may change
EDITABLE = ("draft", "rejected")

ITEM_STATUSES = {"pending": _l("Pending"), "paid": _l("Paid"), "received": _l("Received by the recipient")}


class AidProgram(TenantOwned, db.Model):
    __tablename__ = "aid_programs"
    __table_args__ = (
        sa.CheckConstraint("approval_threshold > 0", name="threshold_positive"),
        sa.Index("ix_aid_programs_tenant_year", "tenant_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the owner's path, so that the unions below it may read the program (its row-level security)
    tenant_path: Mapped[str] = mapped_column(sa.String(1024))
    type: Mapped[str] = mapped_column(sa.String(16))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    name: Mapped[str] = mapped_column(sa.String(100))
    starts_on: Mapped[date | None] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    #: allowed fund sources, in the order the payment draws on them within a fiscal year
    sources: Mapped[list] = mapped_column(sa.JSON)
    #: ``[{"kind", "min", "max", "max_with_head"}]`` in fen (``None``: no bound)
    standards: Mapped[list] = mapped_column(sa.JSON)
    allow_non_archived: Mapped[bool] = mapped_column(default=False)
    approval_threshold: Mapped[int] = mapped_column(sa.BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def standard(self, kind: str) -> dict | None:
        return next((s for s in self.standards or () if s.get("kind") == kind), None)


class AidBatch(TenantOwned, db.Model):
    __tablename__ = "aid_batches"
    __table_args__ = (sa.Index("ix_aid_batches_program_status", "program_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_programs.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    head_approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    transaction_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("fund_transactions.id"))
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AidBatchEvent(TenantOwned, db.Model):
    """One step of a batch's history (who, when, what, why); append-only."""

    __tablename__ = "aid_batch_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_batches.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class AidItem(TenantOwned, db.Model):
    """One recipient of a batch: an archived household or a named person, with the amount in fen."""

    __tablename__ = "aid_items"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("(household_id IS NULL) <> (id_enc IS NULL)", name="household_or_person"),
        sa.CheckConstraint("(goods_item_id IS NULL) = (quantity IS NULL) AND (quantity IS NULL) = (goods_value IS NULL)",
                           name="goods_complete"),
        sa.CheckConstraint("quantity IS NULL OR (quantity > 0 AND goods_value > 0)", name="goods_positive"),
        sa.Index("ix_aid_items_program_index", "program_id", "id_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_batches.id"), index=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_programs.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    #: what the row's encrypted values are bound to (``hardship.core.crypto``)
    row_key: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_row_key)
    #: the recipient's name (a household's head)
    name: Mapped[str] = mapped_column(sa.String(50))
    id_enc: Mapped[str | None] = mapped_column(sa.Text)
    #: the archive's blind index of the recipient's ID number (``crypto.blind_index``)
    id_index: Mapped[str] = mapped_column(sa.String(64))
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    #: goods handed out with (or instead of) the cash: an item of the paying union's stock, whole units
    goods_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("goods_items.id"))
    quantity: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: quantity x the unit value when proposed (fen): 物资折款
    goods_value: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: at or above the threshold (or above the standard without the head): needs the head's approval
    needs_head: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    signed_by: Mapped[str | None] = mapped_column(sa.String(50))
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AidClaim(db.Model):
    """A person aided under a key (see the module docstring); deployment-wide, outside row-level security."""

    __tablename__ = "aid_claims"
    __table_args__ = (sa.UniqueConstraint("claim_key", "person_index"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    claim_key: Mapped[str] = mapped_column(sa.String(40))
    person_index: Mapped[str] = mapped_column(sa.String(64))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_items.id"), index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AidVisit(TenantOwned, db.Model):
    """A follow-up visit (回访) to a recipient of an item (SPEC 5.6); relief (解困) may be recorded from it on the
    household (``hardship.archives``)."""

    __tablename__ = "aid_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_items.id"), index=True)
    visited_on: Mapped[date] = mapped_column(sa.Date)
    visitors: Mapped[list] = mapped_column(sa.JSON)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    relieved: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
