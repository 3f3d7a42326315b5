"""The goods stock's operations: the only code that changes it (the UI, the API, the command line, the demo
and the aid module call these). They receive clean values (loaded through :mod:`hardship.goods.schemas`),
enforce the rules and never commit: the request, the command or the job that owns the transaction does.

A stock changes only through :func:`_change_stock`, one conditional update
``UPDATE goods_items SET stock = stock + :delta WHERE id = :item AND stock + :delta >= 0 RETURNING stock``
(never read-then-write): no row means not enough in stock, and the caller's transaction is rolled back by its
owner; ``CHECK (stock >= 0)`` backs it up. Every change writes a :class:`GoodsMovement` and an audit event.
A purchase is paid from one fund lot of the union by the ledger's disbursement
(:func:`hardship.funds.operations.disburse`, the one money path), before the stock changes.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from hardship import audit
from hardship.accounts.operations import require
from hardship.core.db import db, utcnow
from hardship.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hardship.core.money import MAX_FEN, format_fen
from hardship.funds import operations as funds
from hardship.funds.ledger import begin_write, insufficient
from hardship.funds.models import FundLot
from hardship.goods.models import GOODS_SOURCES, GoodsItem, GoodsMovement
from tenants.models import Tenant

_ITEMS = GoodsItem.__table__
_DELTA = sa.bindparam("delta", type_=sa.BigInteger)
#: the one writer of a stock: never below zero, under any concurrency
_CHANGE_STOCK = (sa.update(_ITEMS)
                 .where(_ITEMS.c.id == sa.bindparam("item"), _ITEMS.c.tenant_id == sa.bindparam("tenant"),
                        _ITEMS.c.stock + _DELTA >= 0)
                 .values(stock=_ITEMS.c.stock + _DELTA)
                 .returning(_ITEMS.c.stock))


def require_manager(actor, tenant: Tenant, capability: str = "goods.manage") -> None:
    """A union's own staff change its stock (the command line may anywhere): 403 otherwise."""
    require(actor, capability)
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(_l("Goods are recorded by the union that keeps them."))


def tenant_of(item: GoodsItem) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == item.tenant_id))
    if tenant is None:
        raise NotFound()
    return tenant


def short_of_stock(item: GoodsItem, quantity: int, stock: int) -> Conflict:
    message = _l("Not enough in stock: %(name)s has %(stock)d %(unit)s; %(quantity)d %(unit)s cannot be handed "
                 "out.", name=item.name, stock=stock, unit=item.unit, quantity=quantity)
    return Conflict(message, fields={"quantity": [_l("More than the stock (%(stock)d %(unit)s).", stock=stock,
                                                     unit=item.unit)]}, stock=stock)


def _value(item: GoodsItem, quantity: int) -> int:
    value = abs(quantity) * item.unit_value
    if value > MAX_FEN:
        raise ValidationFailed(fields={"quantity": [_l("Worth more than %(max)s yuan at once.",
                                                       max=format_fen(MAX_FEN, grouped=True))]})
    return value if quantity > 0 else -value


def _change_stock(item: GoodsItem, delta: int) -> int | None:
    """Add ``delta`` (signed) to the stock if it stays at or above zero; the new stock, or ``None``."""
    begin_write()  # SQLite: writers queue for the lock instead of failing (PostgreSQL locks the row)
    stock = db.session.connection().execute(_CHANGE_STOCK, {"item": item.id, "tenant": item.tenant_id,
                                                            "delta": delta}).scalar()
    if stock is not None:
        set_committed_value(item, "stock", stock)
    return stock


def _current_stock(item: GoodsItem) -> int:
    return db.session.scalar(select(GoodsItem.stock).where(GoodsItem.id == item.id)) or 0


def _movement(item: GoodsItem, kind: str, quantity: int, stock_after: int, actor, *, day: date | None,
              document_no: str = "", note: str = "", reference: str | None = None,
              transaction_id: int | None = None) -> GoodsMovement:
    movement = GoodsMovement(tenant_id=item.tenant_id, item_id=item.id, kind=kind, quantity=quantity,
                             value=_value(item, quantity), stock_after=stock_after,
                             occurred_on=day or date.today(), document_no=document_no, note=note,
                             reference=reference, transaction_id=transaction_id,
                             created_by_id=getattr(actor, "id", None), created_by=getattr(actor, "username", None),
                             created_at=utcnow())
    db.session.add(movement)
    db.session.flush()
    audit.record(f"goods.{kind}", tenant_of(item), movement, detail={
        "item": item.name, "quantity": quantity, "unit": item.unit, "value": format_fen(movement.value),
        "stock": stock_after, "document_no": document_no or None, "reference": reference, "note": note or None},
        user=actor)
    return movement


# ---------------------------------------------------------------- items

def create_item(tenant: Tenant, data: dict, actor=None) -> GoodsItem:
    """A new goods item of ``tenant`` (a loaded :class:`~hardship.goods.schemas.GoodsItemIn`), stock 0."""
    require_manager(actor, tenant)
    item = GoodsItem(tenant_id=tenant.id, name=data["name"], unit=data["unit"], unit_value=data["unit_value"],
                     source=data["source"], stock=0, note=data.get("note", ""),
                     created_by_id=getattr(actor, "id", None), created_at=utcnow())
    db.session.add(item)
    db.session.flush()
    audit.record("goods.create", tenant, item, detail={
        "item": item.name, "unit": item.unit, "unit_value": format_fen(item.unit_value), "source": item.source},
        user=actor)
    return item


# ---------------------------------------------------------------- receipts

def _receipt_kind(item: GoodsItem, data: dict) -> str:
    kind = data.get("kind") or item.source
    if kind != item.source:
        raise ValidationFailed(fields={"kind": [_l("%(name)s is recorded as %(source)s; record the other kind as "
                                                   "an item of its own.", name=item.name,
                                                   source=GOODS_SOURCES[item.source])]})
    return kind


def receive(item: GoodsItem, data: dict, actor=None, *, idempotency_key: str | None = None) -> GoodsMovement:
    """Goods entering the stock (a loaded :class:`~hardship.goods.schemas.GoodsReceiptIn`): a donation, or a
    purchase (:func:`purchase`) as the item's source says."""
    if _receipt_kind(item, data) == "purchase":
        return purchase(item, data, actor, idempotency_key=idempotency_key)
    return receive_donation(item, data, actor)


def receive_donation(item: GoodsItem, data: dict, actor=None) -> GoodsMovement:
    """A donation received: the stock grows; no money moves."""
    tenant = tenant_of(item)
    require_manager(actor, tenant)
    if _receipt_kind(item, {**data, "kind": data.get("kind") or "donation"}) != "donation":
        raise ValidationFailed(fields={"kind": [_l("Not a donation.")]})
    quantity = data["quantity"]
    _value(item, quantity)
    stock = _change_stock(item, quantity)
    if stock is None:  # the item is outside the scope (the update found no row)
        raise NotFound()
    return _movement(item, "donation", quantity, stock, actor, day=data["date"],
                     document_no=data.get("document_no") or "", note=data.get("note") or "")


def _lot_of(tenant: Tenant, data: dict, value: int) -> FundLot:
    """The union's lot that pays a purchase: by id (another union's lot is absent: 404) or by source and
    fiscal year (a lot that does not exist has nothing to pay with: 409)."""
    if data.get("lot") is not None:
        lot = db.session.scalar(select(FundLot).where(FundLot.id == data["lot"], FundLot.tenant_id == tenant.id))
        if lot is None:
            raise NotFound()
        return lot
    missing = {name: [_l("Required for a purchase (or name the lot).")]
               for name in ("source", "fiscal_year") if data.get(name) is None}
    if missing:
        raise ValidationFailed(fields=missing)
    lot = db.session.scalar(select(FundLot).where(FundLot.tenant_id == tenant.id, FundLot.source == data["source"],
                                                  FundLot.fiscal_year == data["fiscal_year"]))
    if lot is None:
        raise insufficient(tenant.name, data["source"], data["fiscal_year"], value, 0)
    return lot


def purchase(item: GoodsItem, data: dict, actor=None, *, idempotency_key: str | None = None) -> GoodsMovement:
    """A purchase: ``quantity x unit value`` is paid from one lot of the union by the ledger's disbursement
    (reference ``goods:<item>``), then the stock grows. Not enough money: 409 and nothing is written. The
    same ``idempotency_key`` again returns the first purchase's movement and writes nothing."""
    tenant = tenant_of(item)
    require(actor, "goods.read")
    require_manager(actor, tenant, "aid.pay")
    if _receipt_kind(item, {**data, "kind": data.get("kind") or "purchase"}) != "purchase":
        raise ValidationFailed(fields={"kind": [_l("Not a purchase.")]})
    if not data.get("document_no"):
        raise ValidationFailed(fields={"document_no": [_l("Required for a purchase.")]})
    quantity = data["quantity"]
    value = _value(item, quantity)
    lot = _lot_of(tenant, data, value)
    posted = funds.disburse(tenant, {
        "amount": value, "sources": [lot.source], "lot": lot.id, "document_no": data["document_no"],
        "date": data["date"], "reference": f"goods:{item.id}", "purpose": None,
        "note": data.get("note") or str(_l("Purchase of %(quantity)d %(unit)s %(name)s", quantity=quantity,
                                           unit=item.unit, name=item.name))[:500],
    }, actor, idempotency_key=idempotency_key)
    if posted.replayed:
        earlier = db.session.scalar(select(GoodsMovement).where(GoodsMovement.transaction_id == posted.transaction.id))
        if earlier is None or earlier.item_id != item.id:
            raise Conflict(_l("This Idempotency-Key was already used for another posting; use a new key."),
                           fields={"idempotency_key": [_l("Already used for another posting.")]})
        return earlier
    stock = _change_stock(item, quantity)
    if stock is None:
        raise NotFound()
    return _movement(item, "purchase", quantity, stock, actor, day=data["date"], document_no=data["document_no"],
                     note=data.get("note") or "", transaction_id=posted.transaction.id)


# ---------------------------------------------------------------- hand-outs and corrections

def hand_out(tenant: Tenant, goods_item: GoodsItem, quantity: int, *, reference: str, actor=None,
             day: date | None = None, note: str = "") -> int:
    """Hand ``quantity`` units of ``goods_item`` (of ``tenant``) out for ``reference`` (e.g. an aid batch's
    item, ``batch_item:41``); returns their value in fen (quantity x unit value: 物资折款). Not enough in stock:
    a 409 naming the stock, and the caller's transaction writes nothing. The aid module calls this when a batch
    with goods is paid, inside the payment's transaction."""
    return -hand_out_movement(tenant, goods_item, quantity, reference=reference, actor=actor, day=day,
                              note=note).value


def hand_out_movement(tenant: Tenant, goods_item: GoodsItem, quantity: int, *, reference: str, actor=None,
                      day: date | None = None, note: str = "") -> GoodsMovement:
    """:func:`hand_out`, returning the movement it wrote (for the API's answer)."""
    if goods_item.tenant_id != tenant.id:
        raise NotFound()
    # the clerk hands goods out; the finance officer pays a batch whose items carry goods
    require_manager(actor, tenant, "aid.pay" if actor is not None and actor.can("aid.pay")
                    and not actor.can("goods.manage") else "goods.manage")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationFailed(fields={"quantity": [_l("Must be more than zero.")]})
    _value(goods_item, quantity)
    stock = _change_stock(goods_item, -quantity)
    if stock is None:
        raise short_of_stock(goods_item, quantity, _current_stock(goods_item))
    return _movement(goods_item, "hand_out", -quantity, stock, actor, day=day, note=note, reference=reference)


def correct_stock(item: GoodsItem, data: dict, actor=None) -> GoodsMovement:
    """A correction (盘点) with its reason: the stock changes by ``quantity`` (signed), never below zero."""
    tenant = tenant_of(item)
    require_manager(actor, tenant)
    quantity = data["quantity"]
    _value(item, quantity)
    stock = _change_stock(item, quantity)
    if stock is None:
        current = _current_stock(item)
        raise Conflict(_l("The stock of %(name)s is %(stock)d %(unit)s; it cannot go below zero.", name=item.name,
                          stock=current, unit=item.unit),
                       fields={"quantity": [_l("More than the stock (%(stock)d %(unit)s).", stock=current,
                                                unit=item.unit)]}, stock=current)
    return _movement(item, "correction", quantity, stock, actor, day=data.get("date"), note=data["reason"])
