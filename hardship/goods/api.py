"""Goods stock API (SPEC 5.7, 8.3, appendix A): items, receipts (donations and purchases), hand-outs,
corrections, movements and the stock export.

A purchase is a ledger posting: it needs the header ``Idempotency-Key`` (repeating it returns the first
purchase and writes nothing); a donation, a hand-out and a correction take none.
"""

from __future__ import annotations

from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import json_object, load_body, load_query, route
from hardship.core.downloads import xlsx_download
from hardship.funds.api import idempotency_key
from hardship.goods import exports, queries
from hardship.goods import operations as ops
from hardship.goods.models import GoodsItem
from hardship.goods.schemas import (
    GoodsCorrectionIn,
    GoodsHandOutIn,
    GoodsItemIn,
    GoodsItemOut,
    GoodsListOut,
    GoodsMovementOut,
    GoodsMovementPage,
    GoodsMovementQuery,
    GoodsQuery,
    GoodsReceiptIn,
)
from tenants.scoping import get_owned, get_tenant

#: the header of a purchase (documented in the OpenAPI document)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Required for a purchase (a ledger posting): a retry with the same key and body returns the "
                   "first purchase; the same key with another body is a 409.",
}


def _item(goods_id) -> tuple[GoodsItem, object]:
    item = get_owned(GoodsItem, goods_id)
    return item, ops.tenant_of(item)


@route("/goods", tags=["goods"], query=GoodsQuery, response=GoodsListOut)
def list_goods():
    """The goods stock of a union (``subtree=1``: and of the unions below it), with its value."""
    args = load_query(GoodsQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "goods.read")
    return queries.stock_list(tenant, subtree=args["subtree"])


@route("/goods/stock.xlsx", tags=["goods"], query=GoodsQuery)
def export_goods():
    """The goods stock as xlsx (Chinese headers)."""
    args = load_query(GoodsQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "goods.read")
    return xlsx_download(*exports.stock_export(tenant, subtree=args["subtree"]))


@route("/goods", ["POST"], body=GoodsItemIn, response=GoodsItemOut, status=201, tags=["goods"])
def create_goods_item():
    """A new goods item of a union (stock 0)."""
    value = json_object().get("tenant")
    tenant = get_tenant(value if isinstance(value, str) else "")
    require(current_user, "goods.manage")
    data = load_body(GoodsItemIn)
    item = ops.create_item(tenant, data, actor=current_user)
    return queries.item_dict(item, tenant), 201


@route("/goods/<int:goods_id>", tags=["goods"], response=GoodsItemOut)
def get_goods_item(goods_id):
    """One goods item with its stock."""
    item, tenant = _item(goods_id)
    require(current_user, "goods.read")
    return queries.item_dict(item, tenant)


@route("/goods/<int:goods_id>/receipts", ["POST"], body=GoodsReceiptIn, response=GoodsMovementOut, status=201,
       tags=["goods"], responses={409: None}, headers=(IDEMPOTENCY_HEADER,))
def receive_goods(goods_id):
    """Goods received: a donation, or a purchase paid from a fund lot of the union through the ledger
    (``quantity x unit_value`` debits the lot; needs ``Idempotency-Key``)."""
    item, _tenant = _item(goods_id)
    require(current_user, "goods.read")
    data = load_body(GoodsReceiptIn)
    key = None
    if (data.get("kind") or item.source) == "purchase":
        key = idempotency_key()
    return queries.movement_dict(ops.receive(item, data, actor=current_user, idempotency_key=key)), 201


@route("/goods/<int:goods_id>/handouts", ["POST"], body=GoodsHandOutIn, response=GoodsMovementOut, status=201,
       tags=["goods"], responses={409: None})
def hand_out_goods(goods_id):
    """Goods handed out (for an aid batch's item, named by ``reference``); never more than the stock (409)."""
    item, tenant = _item(goods_id)
    require(current_user, "goods.manage")
    data = load_body(GoodsHandOutIn)
    movement = ops.hand_out_movement(tenant, item, data["quantity"], reference=data["reference"],
                                     actor=current_user, day=data["date"], note=data["note"])
    return queries.movement_dict(movement), 201


@route("/goods/<int:goods_id>/corrections", ["POST"], body=GoodsCorrectionIn, response=GoodsMovementOut, status=201,
       tags=["goods"], responses={409: None})
def correct_goods(goods_id):
    """A correction of the stock with its reason (e.g. ``-3``: three bags spoiled); never below zero (409)."""
    item, _tenant = _item(goods_id)
    require(current_user, "goods.manage")
    data = load_body(GoodsCorrectionIn)
    return queries.movement_dict(ops.correct_stock(item, data, actor=current_user)), 201


@route("/goods/<int:goods_id>/movements", tags=["goods"], query=GoodsMovementQuery, response=GoodsMovementPage)
def list_goods_movements(goods_id):
    """The item's movements, newest first, 50 a page."""
    item, tenant = _item(goods_id)
    require(current_user, "goods.read")
    args = load_query(GoodsMovementQuery)
    rows, total = queries.movements(item, args["page"])
    return {"item": queries.item_dict(item, tenant), "page": args["page"], "per_page": queries.PER_PAGE,
            "total": total, "movements": [queries.movement_dict(m) for m in rows]}

