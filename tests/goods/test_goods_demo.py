"""``hardship demo`` records goods at a county: donated coal and rice, bought oil paid through the ledger, some
handed out; a second run adds nothing."""

from __future__ import annotations

import sqlalchemy as sa

from hardship.core.db import db
from hardship.funds.models import FundTransaction
from hardship.goods.models import GoodsItem, GoodsMovement
from tests.conftest import system


def test_demo_goods(committed, app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hardship", "demo"]).exit_code == 0
    with system(app):
        stock = {name: (source, stock) for name, source, stock in
                 db.session.execute(sa.select(GoodsItem.name, GoodsItem.source, GoodsItem.stock))}
        oil = db.session.scalar(sa.select(GoodsItem.id).where(GoodsItem.name == "食用油"))
        paid = db.session.scalar(sa.select(FundTransaction).where(FundTransaction.reference == f"goods:{oil}"))
        moves = db.session.scalar(sa.select(sa.func.count()).select_from(GoodsMovement))
        aid_hand_outs = db.session.scalars(sa.select(GoodsMovement.reference).where(
            GoodsMovement.reference.like("aid_item:%"))).all()
    assert len(aid_hand_outs) == 2
    # the aid demo's warmth campaign handed out 2 bags of rice and 3 cans of oil as batch items
    assert stock == {"取暖煤": ("donation", 19500), "大米": ("donation", 296), "食用油": ("purchase", 197)}
    assert paid is not None and paid.kind == "disbursement" and paid.amount == 200 * 68_00
    assert runner.invoke(args=["hardship", "demo"]).exit_code == 0
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GoodsMovement)) == moves
    result = runner.invoke(args=["hardship", "goods", "stock", "--tenant", "K0101"])
    assert result.exit_code == 0 and "食用油" in result.output
