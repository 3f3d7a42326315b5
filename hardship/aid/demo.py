"""The demo's aid (``hardship demo``): K0101's Spring Festival warmth campaign, proposed by an enterprise from
its archived households (and two frontline workers given rice and cooking oil from the county's goods), approved, paid from the ledger and partly signed for; and an emergency case above the
standard that the head approved. Made through the operations, as the command line's operator."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hardship.aid import operations as ops
from hardship.aid.models import AidProgram
from hardship.aid.schemas import ItemsIn
from hardship.api import load_data
from hardship.core.db import db
from hardship.goods.models import GoodsItem
from tenants.models import Tenant


def load_campaign(today: date | None = None) -> int:
    """Run the demo campaign once (the caller commits, under the system scope); returns the batches paid."""
    today = today or date.today()
    year = today.year
    name = f"{year}年两节送温暖"
    if db.session.scalar(select(AidProgram.id).where(AidProgram.name == name).limit(1)):
        return 0
    tenants = {t.code: t for t in db.session.scalars(select(Tenant).where(Tenant.code.in_(("K0101", "E0101001"))))}
    county, enterprise = tenants.get("K0101"), tenants.get("E0101001")
    if county is None or enterprise is None:
        return 0
    paid = 0
    warmth = ops.create_program(county, {"type": "warmth", "year": year, "name": name, "starts_on": None,
                                         "ends_on": None, "sources": ["central_finance", "upper_union"]})
    batch = ops.create_batch(warmth, enterprise, {"note": "", "items": []})
    added, _skipped = ops.propose_eligible(batch, {"kind": "archived", "amount": None})
    frontline = {"name": "赵六", "id_number": "130102198001010117", "phone": "13812345678", "reason": "春节坚守一线"}
    # goods of the county's stock (hardship.goods.demo) beside or instead of cash: 物资折款 counts to the standard
    goods = {g.name: g.id for g in db.session.scalars(select(GoodsItem).where(GoodsItem.tenant_id == county.id))}
    items = [{"person": frontline, "kind": "frontline", "amount": "400.00",
              **({"goods": {"item": goods["大米"], "quantity": 2}} if "大米" in goods else {})}]
    if "食用油" in goods:
        items.append({"person": {"name": "孙八", "id_number": "130102198506150334", "phone": "13712345678",
                                 "reason": "春节坚守一线"}, "kind": "frontline",
                      "goods": {"item": goods["食用油"], "quantity": 3}})
    ops.add_items(batch, load_data(ItemsIn, {"items": items})["items"])
    if added:
        pay = {"document_no": f"长工帮〔{year}〕30号", "date": today, "lot": None, "note": ""}
        ops.submit_batch(batch)
        ops.approve_batch(batch)
        ops.pay_batch(batch, pay)
        for item in ops.items_of(batch)[:2]:
            ops.confirm_receipt(batch, item, {"signed_by": item.name, "date": today})
        paid += 1
    emergency = ops.create_program(county, {"type": "emergency", "year": year, "name": f"{year}年临时救助",
                                            "starts_on": None, "ends_on": None, "sources": ["central_finance"]})
    case = {"name": "钱七", "id_number": "130102197803150264", "phone": "13912345678", "reason": "家中失火，临时救助"}
    batch = ops.create_batch(emergency, county, {"note": "", "items": load_data(ItemsIn, {"items": [
        {"person": case, "kind": "non_archived", "amount": "800.00"}]})["items"]})
    ops.submit_batch(batch)
    ops.approve_batch(batch)
    ops.pay_batch(batch, {"document_no": f"长工帮〔{year}〕31号", "date": today, "lot": None, "note": ""})
    return paid + 1
