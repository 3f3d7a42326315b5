"""What the audit log calls the goods stock's actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.audit.registry import action, choice, count, money, record, text
from hardship.core.db import db
from hardship.goods.models import GOODS_SOURCES, MOVEMENT_KINDS, GoodsItem, GoodsMovement
from tenants.scoping import subtree_filter


def _numbers(keys: list[str]) -> list[int]:
    return [int(k) for k in keys if k.isdigit()]


def _items(keys: list[str], viewer_code: str) -> dict:
    rows = db.session.execute(select(GoodsItem.id, GoodsItem.name)
                              .where(GoodsItem.id.in_(_numbers(keys)), subtree_filter(GoodsItem))).all()
    return {str(i): (name, url_for("goods_ui.item", tenant_code=viewer_code, goods_id=i)) for i, name in rows}


def _movements(keys: list[str], viewer_code: str) -> dict:
    rows = db.session.execute(select(GoodsMovement.id, GoodsMovement.kind, GoodsItem.id, GoodsItem.name)
                              .join(GoodsItem, GoodsItem.id == GoodsMovement.item_id)
                              .where(GoodsMovement.id.in_(_numbers(keys)), subtree_filter(GoodsMovement))).all()
    return {str(i): (gettext("%(kind)s: %(name)s", kind=MOVEMENT_KINDS.get(kind, kind), name=name),
                     url_for("goods_ui.item", tenant_code=viewer_code, goods_id=item_id))
            for i, kind, item_id, name in rows}


record("GoodsItem", _l("Goods item"), _items)
record("GoodsMovement", _l("Goods movement"), _movements)

_MOVEMENT = {"item": text(_l("Goods")), "quantity": text(_l("Quantity")), "unit": text(_l("Unit")),
             "value": money(_l("Value")), "stock": text(_l("Stock after")),
             "document_no": text(_l("Document number")), "reference": text(_l("For")), "note": text(_l("Note"))}
action("goods.create", _l("Goods item created"), item=text(_l("Goods")), unit=text(_l("Unit")),
       unit_value=money(_l("Value per unit")), source=choice(_l("Origin of the goods"), GOODS_SOURCES))
for _kind, _label in MOVEMENT_KINDS.items():
    action(f"goods.{_kind}", _l("Goods: %(kind)s", kind=_label), **_MOVEMENT)
action("goods.export_stock", _l("Goods stock exported"), rows=count(_l("Rows"), _l(" rows")))
