"""The demo's goods (``hardship demo``): K0101 keeps donated coal and rice and bought cooking oil (paid from its
central-finance lot of this year through the ledger), and has handed some out."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hardship.api import load_data
from hardship.core.db import db
from hardship.goods import operations as ops
from hardship.goods.models import GoodsItem
from hardship.goods.schemas import GoodsItemIn, GoodsReceiptIn
from tenants.models import Tenant


def load_goods(today: date | None = None) -> int:
    """Record the demo goods (once, under the system scope); returns the number of items made."""
    today = today or date.today()
    county = db.session.scalar(select(Tenant).where(Tenant.code == "K0101"))
    if county is None or db.session.scalar(select(GoodsItem.id).where(GoodsItem.tenant_id == county.id).limit(1)):
        return 0
    y = today.year
    when = min(date(y, 12, 10), today).isoformat()

    def item(name, unit, unit_value, source, note=""):
        return ops.create_item(county, load_data(GoodsItemIn, {"tenant": county.code, "name": name, "unit": unit,
                                                               "unit_value": unit_value, "source": source,
                                                               "note": note}))

    coal = item("取暖煤", "公斤", "1.20", "donation", "冀中能源捐赠")
    rice = item("大米", "袋", "50.00", "donation", "每袋10公斤")
    oil = item("食用油", "桶", "68.00", "purchase", "每桶5升")
    ops.receive_donation(coal, load_data(GoodsReceiptIn, {"quantity": 20000, "document_no": f"捐赠〔{y}〕3号",
                                                     "date": when, "note": "冀中能源集团"}))
    ops.receive_donation(rice, load_data(GoodsReceiptIn, {"quantity": 300, "document_no": f"捐赠〔{y}〕4号",
                                                     "date": when, "note": "爱心企业联合捐赠"}))
    ops.purchase(oil, load_data(GoodsReceiptIn, {"quantity": 200, "kind": "purchase", "source": "central_finance",
                                            "fiscal_year": y, "document_no": f"长工采〔{y}〕1号", "date": when}),
                 idempotency_key="demo:goods:oil")
    ops.hand_out(county, coal, 500, reference=f"{y}年两节送温暖", note="送温暖入户")
    ops.hand_out(county, rice, 2, reference=f"{y}年两节送温暖", note="送温暖入户")
    db.session.flush()
    return 3
