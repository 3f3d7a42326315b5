"""The goods stock through the API (SPEC 5.7): items, donations, purchases through the ledger, hand-outs,
corrections, movements, bad input, roles and the subtree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from hardship.funds.models import FundLot, FundTransaction
from hardship.goods.models import GoodsItem, GoodsMovement
from tests.conftest import system
from tests.fixtures.funds import allocation, counts, lot_balances, post, receipt
from tests.fixtures.goods import donation, goods_counts, item_body, key, purchase

LOT = ("K0101", "central_finance", 2026)


@pytest.fixture
def stocked(tree, api_as):
    """K0101 holds 30,000.00 yuan of central finance 2026; role-specific users of K0101."""
    tree.user("K0101", roles=("clerk",), username="k0101_clerk")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    tree.user("K0101", roles=("auditor",), username="k0101_aud")
    c01 = api_as("c01_all")
    assert post(c01, "receipt", receipt()).status_code == 201
    assert post(c01, "allocation", allocation()).status_code == 201
    return tree


def _state(app):
    with system(app):
        return (lot_balances(db.session), counts(db.session), goods_counts(db.session),
                dict(db.session.execute(sa.select(GoodsItem.id, GoodsItem.stock)).all()))


def test_the_story_of_a_union_s_goods(app, stocked, api_as):
    clerk, fin = api_as("k0101_clerk"), api_as("k0101_fin")
    rice = clerk.post("/api/v1/goods", json=item_body())
    assert rice.status_code == 201, rice.json
    assert rice.json["stock"] == 0 and rice.json["unit_value"] == "50.00" and rice.json["source"] == "donation"
    rice_id = rice.json["id"]

    got = clerk.post(f"/api/v1/goods/{rice_id}/receipts", json=donation(200))
    assert got.status_code == 201, got.json
    assert (got.json["kind"], got.json["quantity"], got.json["value"], got.json["stock_after"]) == \
        ("donation", 200, "10000.00", 200)
    assert got.json["transaction"] is None

    oil = clerk.post("/api/v1/goods", json=item_body(name="食用油", unit="桶", unit_value="68.00", source="purchase"))
    assert oil.status_code == 201, oil.json
    oil_id = oil.json["id"]
    before = _state(app)[0][LOT]
    headers = key()
    bought = fin.post(f"/api/v1/goods/{oil_id}/receipts", json=purchase(100), headers=headers)
    assert bought.status_code == 201, bought.json
    assert bought.json["value"] == "6800.00" and bought.json["stock_after"] == 100
    # the lot paid exactly quantity x unit value, through the ledger's disbursement
    balances, ledger_counts, _goods, stocks = _state(app)
    assert balances[LOT] == before - 6800_00
    with system(app):
        tx = db.session.scalar(sa.select(FundTransaction).where(FundTransaction.id == bought.json["transaction"]))
        assert (tx.kind, tx.amount, tx.reference) == ("disbursement", 6800_00, f"goods:{oil_id}")
        assert db.session.scalar(sa.select(FundLot.disbursed).where(FundLot.source == "central_finance",
                                                                    FundLot.tenant_id == tx.tenant_id)) == 6800_00
    # the same purchase again (same key): the first answer, nothing new
    again = fin.post(f"/api/v1/goods/{oil_id}/receipts", json=purchase(100), headers=headers)
    assert again.status_code == 201 and again.json["id"] == bought.json["id"]
    assert _state(app)[:2] == (balances, ledger_counts) and _state(app)[3] == stocks

    out = clerk.post(f"/api/v1/goods/{rice_id}/handouts", json={"quantity": 5, "reference": "batch_item:1"})
    assert out.status_code == 201, out.json
    assert (out.json["quantity"], out.json["value"], out.json["stock_after"]) == (-5, "-250.00", 195)

    fixed = clerk.post(f"/api/v1/goods/{rice_id}/corrections", json={"quantity": "-3", "reason": "受潮霉变3袋"})
    assert fixed.status_code == 201, fixed.json
    assert fixed.json["stock_after"] == 192 and fixed.json["note"] == "受潮霉变3袋"

    listed = clerk.get("/api/v1/goods?tenant=K0101")
    assert listed.status_code == 200
    assert {(i["name"], i["stock"], i["stock_value"]) for i in listed.json["items"]} == \
        {("大米", 192, "9600.00"), ("食用油", 100, "6800.00")}
    assert listed.json["total_value"] == "16400.00"
    # the city reads the county's stock in its subtree
    city = api_as("c01_all").get("/api/v1/goods?tenant=C01&subtree=1")
    assert city.status_code == 200 and len(city.json["items"]) == 2
    assert api_as("c01_all").get("/api/v1/goods?tenant=C01").json["items"] == []

    moves = api_as("k0101_aud").get(f"/api/v1/goods/{rice_id}/movements")
    assert moves.status_code == 200
    assert [m["kind"] for m in moves.json["movements"]] == ["correction", "hand_out", "donation"]
    assert moves.json["item"]["stock"] == 192 and moves.json["total"] == 3


def test_hand_out_is_the_operation_the_aid_module_calls(app, stocked, api_as):
    from hardship.core.errors import Conflict
    from hardship.goods import operations as ops
    from tenants.models import Tenant

    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    assert clerk.post(f"/api/v1/goods/{rice}/receipts", json=donation(10)).status_code == 201
    with system(app):
        county = db.session.scalar(sa.select(Tenant).where(Tenant.code == "K0101"))
        item = db.session.scalar(sa.select(GoodsItem).where(GoodsItem.id == rice))
        assert ops.hand_out(county, item, 4, reference="batch_item:41") == 4 * 50_00
        assert item.stock == 6
        with pytest.raises(Conflict) as refused:
            ops.hand_out(county, item, 7, reference="batch_item:42")
        assert "库存不足" in str(refused.value.message) and "6" in str(refused.value.message)
        db.session.rollback()
    with system(app):
        assert db.session.scalar(sa.select(GoodsItem.stock).where(GoodsItem.id == rice)) == 10  # rolled back


def test_hand_out_more_than_the_stock_is_refused_and_writes_nothing(app, stocked, api_as):
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    assert clerk.post(f"/api/v1/goods/{rice}/receipts", json=donation(3)).status_code == 201
    before = _state(app)
    resp = clerk.post(f"/api/v1/goods/{rice}/handouts", json={"quantity": 4, "reference": "batch_item:9"})
    assert resp.status_code == 409
    assert "库存不足" in resp.json["error"]["message"] and "quantity" in resp.json["error"]["fields"]
    below = clerk.post(f"/api/v1/goods/{rice}/corrections", json={"quantity": -4, "reason": "盘亏"})
    assert below.status_code == 409
    assert _state(app) == before


@pytest.mark.parametrize("quantity", [0, -1, 2.5, "2.5", "1.0", True, "abc", "", None, [1], 10**12])
def test_bad_quantities_are_refused_by_name(app, stocked, api_as, quantity):
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    before = _state(app)
    for path, body in ((f"/api/v1/goods/{rice}/receipts", donation(quantity)),
                       (f"/api/v1/goods/{rice}/handouts", {"quantity": quantity, "reference": "x"})):
        resp = clerk.post(path, json=body)
        assert resp.status_code == 422, (path, quantity, resp.json)
        assert list(resp.json["error"]["fields"]) == ["quantity"]
        message = " ".join(resp.json["error"]["fields"]["quantity"])
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message  # Chinese words
    assert _state(app) == before


def test_fractional_quantity_says_whole_units(app, stocked, api_as):
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    resp = clerk.post(f"/api/v1/goods/{rice}/receipts", json=donation("2.5"))
    assert resp.status_code == 422 and "整数" in resp.json["error"]["fields"]["quantity"][0]


@pytest.mark.parametrize(("body", "field"), [
    (item_body(source="gift"), "source"),
    (item_body(unit_value="0"), "unit_value"),
    (item_body(unit_value="-5.00"), "unit_value"),
    (item_body(unit_value="1.234"), "unit_value"),
    (item_body(name=""), "name"),
    (item_body(unit="x" * 11), "unit"),
    ({k: v for k, v in item_body().items() if k != "unit"}, "unit"),
])
def test_bad_items_are_refused(app, stocked, api_as, body, field):
    before = _state(app)
    resp = api_as("k0101_clerk").post("/api/v1/goods", json=body)
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert _state(app) == before


def test_bad_purchases(app, stocked, api_as, tree):
    clerk, fin = api_as("k0101_clerk"), api_as("k0101_fin")
    oil = clerk.post("/api/v1/goods", json=item_body(name="食用油", unit="桶", unit_value="68.00",
                                                     source="purchase")).json["id"]
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    with system(app):
        lots = dict(db.session.execute(sa.select(FundLot.tenant_id, FundLot.id)).all())
        from tenants.models import Tenant

        ids = dict(db.session.execute(sa.select(Tenant.code, Tenant.id)).all())
    before = _state(app)
    path = f"/api/v1/goods/{oil}/receipts"
    # an unknown fund source, a lot of another union (the city's), a union without that lot
    resp = fin.post(path, json=purchase(source="lottery"), headers=key())
    assert resp.status_code == 422 and "source" in resp.json["error"]["fields"]
    resp = fin.post(path, json={**purchase(), "lot": lots[ids["C01"]]}, headers=key())
    assert resp.status_code == 404, resp.json
    resp = fin.post(path, json=purchase(year=2025), headers=key())
    assert resp.status_code == 409, resp.json
    # more than the lot holds (30,000.00 / 68.00 = 441 barrels): 409, nothing written anywhere
    resp = fin.post(path, json=purchase(442), headers=key())
    assert resp.status_code == 409, resp.json
    assert "余额" in resp.json["error"]["message"] or "不足" in resp.json["error"]["message"]
    # a purchase needs an Idempotency-Key and a document number; a donation item is not bought
    assert fin.post(path, json=purchase()).status_code == 400
    resp = fin.post(path, json=purchase(document_no=""), headers=key())
    assert resp.status_code == 422 and "document_no" in resp.json["error"]["fields"]
    resp = fin.post(f"/api/v1/goods/{rice}/receipts", json=purchase(), headers=key())
    assert resp.status_code == 422 and "kind" in resp.json["error"]["fields"]
    # the clerk records goods but does not pay: 403
    assert clerk.post(path, json=purchase(), headers=key()).status_code == 403
    assert _state(app) == before
    # exactly what the lot holds is fine: 441 x 68.00 = 29,988.00
    assert fin.post(path, json=purchase(441), headers=key()).status_code == 201
    assert _state(app)[0][LOT] == 30000_00 - 29988_00


def test_roles_and_the_subtree(app, stocked, api_as):
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    before = _state(app)
    # readers do not write; the city does not record the county's goods
    assert api_as("k0101_aud").post("/api/v1/goods", json=item_body()).status_code == 403
    assert api_as("k0101_aud").post(f"/api/v1/goods/{rice}/receipts", json=donation()).status_code == 403
    assert api_as("k0101_fin").post(f"/api/v1/goods/{rice}/handouts",
                                    json={"quantity": 1, "reference": "x"}).status_code == 403
    assert api_as("c01_all").post("/api/v1/goods", json=item_body()).status_code == 403
    assert api_as("c01_all").post(f"/api/v1/goods/{rice}/receipts", json=donation()).status_code == 403
    # outside the subtree: absent
    for user in ("c02_all", "e0101001_all"):
        api = api_as(user)
        assert api.get(f"/api/v1/goods/{rice}").status_code == 404
        assert api.post(f"/api/v1/goods/{rice}/receipts", json=donation()).status_code == 404
        assert api.get("/api/v1/goods?tenant=K0101").status_code == 404
    assert _state(app) == before


def test_english_messages(app, stocked, api_as):
    clerk = api_as("k0101_clerk", lang="en")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    resp = clerk.post(f"/api/v1/goods/{rice}/handouts", json={"quantity": 1, "reference": "x"})
    assert resp.status_code == 409 and "Not enough in stock" in resp.json["error"]["message"]


def test_movements_are_append_only_records(app, stocked, api_as):
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body()).json["id"]
    clerk.post(f"/api/v1/goods/{rice}/receipts", json=donation(7))
    with system(app):
        moves = db.session.scalars(sa.select(GoodsMovement).where(GoodsMovement.item_id == rice)).all()
        assert [(m.kind, m.quantity, m.value, m.stock_after, m.created_by) for m in moves] == \
            [("donation", 7, 350_00, 7, "k0101_clerk")]
