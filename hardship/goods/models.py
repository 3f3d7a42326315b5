"""Goods items and their movements (SPEC 5.7).

* A :class:`GoodsItem` is one kind of goods a union keeps (大米 in 袋, 煤 in 公斤, 食用油 in 桶): its unit, its value
  per unit in fen, how it enters (``donation`` or ``purchase``) and its stock. The stock is a whole number of
  units: the clerk chooses the unit so that what is handed out is whole (coal by the 公斤 or the 吨 as the
  union hands it out, rice by the 袋 or the 公斤), and a value is then exactly ``quantity x unit value`` fen,
  never rounded (a decimal quantity would need a rounding rule for every 物资折款). The stock is the only
  column ever updated, and only by the conditional update in ``operations`` (``stock + :delta >= 0``); the
  CHECK ``stock >= 0`` backs it up, so no concurrency can take it below zero.
* A :class:`GoodsMovement` is one change of a stock: received as a donation, bought (paid from a fund lot
  through the ledger: ``transaction_id``), handed out (``reference`` names what for, e.g. an aid batch item)
  or corrected with a reason. Append-only: on PostgreSQL the runtime role may not update or delete it.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned

#: how goods enter a union's stock
GOODS_SOURCES = {"donation": _l("Donated goods"), "purchase": _l("Purchased goods")}

#: what a movement is
MOVEMENT_KINDS = {
    "donation": _l("Donation received"),
    "purchase": _l("Purchase"),
    "hand_out": _l("Handed out"),
    "correction": _l("Correction"),
}

#: the largest stock or quantity of one movement (a whole number of units)
MAX_QUANTITY = 100_000_000


class GoodsItem(TenantOwned, db.Model):
    """One kind of goods of a union, with its stock (whole units)."""

    __tablename__ = "goods_items"
    __table_args__ = (
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.CheckConstraint("unit_value > 0", name="unit_value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(10))
    #: value of one unit, in fen
    unit_value: Mapped[int] = mapped_column(sa.BigInteger)
    #: ``donation`` | ``purchase``: how it enters the stock
    source: Mapped[str] = mapped_column(sa.String(16))
    stock: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def stock_value(self) -> int:
        return self.stock * self.unit_value


class GoodsMovement(TenantOwned, db.Model):
    """One change of a stock; never changed or deleted."""

    __tablename__ = "goods_movements"
    __table_args__ = (
        sa.CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        sa.Index("ix_goods_movements_item_id_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("goods_items.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: signed: what it added to the stock (a hand-out is negative)
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    #: signed value in fen: quantity x the unit value at the time
    value: Mapped[int] = mapped_column(sa.BigInteger)
    #: the stock right after it
    stock_after: Mapped[int] = mapped_column(sa.BigInteger)
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    document_no: Mapped[str] = mapped_column(sa.String(100), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: what a hand-out was for (``batch_item:41``)
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    #: the ledger's disbursement that paid a purchase
    transaction_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("fund_transactions.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
