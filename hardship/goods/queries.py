"""Reads of the goods stock shared by the pages, the API, the export and the command line."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import select

from hardship.core.db import db, page_of
from hardship.core.money import format_fen
from hardship.goods.models import GoodsItem, GoodsMovement
from tenants.models import Tenant
from tenants.scoping import subtree_filter

PER_PAGE = 50


def items(tenant: Tenant, *, subtree: bool = False) -> list[tuple[GoodsItem, Tenant]]:
    """The goods items of ``tenant`` (and of the unions below it), with their union, by union and name."""
    stmt = select(GoodsItem, Tenant).join(Tenant, Tenant.id == GoodsItem.tenant_id)
    stmt = stmt.where(subtree_filter(GoodsItem, tenant.path)) if subtree else stmt.where(GoodsItem.tenant_id == tenant.id)
    return [(item, union) for item, union in db.session.execute(stmt.order_by(Tenant.path, GoodsItem.name, GoodsItem.id))]


def item_dict(item: GoodsItem, tenant: Tenant) -> dict:
    return {"id": item.id, "tenant": tenant.code, "tenant_name": tenant.name, "name": item.name, "unit": item.unit,
            "unit_value": format_fen(item.unit_value), "source": item.source, "stock": item.stock,
            "stock_value": format_fen(item.stock_value), "note": item.note,
            "created_at": item.created_at.isoformat()}


def stock_list(tenant: Tenant, *, subtree: bool = False) -> dict:
    rows = items(tenant, subtree=subtree)
    return {"tenant": tenant.code, "subtree": subtree, "items": [item_dict(item, union) for item, union in rows],
            "total_value": format_fen(sum(item.stock_value for item, _union in rows))}


def movement_dict(movement: GoodsMovement) -> dict:
    return {"id": movement.id, "item": movement.item_id, "kind": movement.kind, "quantity": movement.quantity,
            "value": format_fen(movement.value), "stock_after": movement.stock_after,
            "date": movement.occurred_on.isoformat(), "document_no": movement.document_no, "note": movement.note,
            "reference": movement.reference, "transaction": movement.transaction_id,
            "created_by": movement.created_by, "created_at": movement.created_at.isoformat()}


def movements(item: GoodsItem, page: int = 1) -> tuple[list[GoodsMovement], int]:
    """One page of the item's movements, newest first, and how many there are."""
    stmt = select(GoodsMovement).where(GoodsMovement.item_id == item.id).order_by(GoodsMovement.id.desc())
    return page_of(stmt, page, PER_PAGE)



def flows(tenant: Tenant, start: date, end: date, *, subtree: bool = False) -> dict:
    """The goods of ``tenant`` (or, with ``subtree``, of every union of its subtree) in the days from ``start``
    to before ``end``, valued in fen from the movements (quantity x the unit value): ``received`` (donations and
    purchases), ``handed_out`` (positive), ``corrected`` (the corrections' net, signed) and ``stock``, the value in
    stock at the end (every movement dated before ``end``), so that the stock at the start plus received, minus
    handed out, plus corrected is the stock at the end."""
    owners = subtree_filter(GoodsMovement, tenant.path) if subtree else GoodsMovement.tenant_id == tenant.id
    inside = sa.and_(GoodsMovement.occurred_on >= start, GoodsMovement.occurred_on < end)

    def value(*where):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*where), GoodsMovement.value), else_=0)), 0)

    received, handed_out, corrected, stock = db.session.execute(
        select(value(inside, GoodsMovement.kind.in_(("donation", "purchase"))),
               value(inside, GoodsMovement.kind == "hand_out"), value(inside, GoodsMovement.kind == "correction"),
               sa.func.coalesce(sa.func.sum(GoodsMovement.value), 0))
        .where(owners, GoodsMovement.occurred_on < end)).one()
    return {"received": int(received), "handed_out": -int(handed_out), "corrected": int(corrected),
            "stock": int(stock)}
