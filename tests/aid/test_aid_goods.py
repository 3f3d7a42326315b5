"""In-kind goods as aid batch items (SPEC 5.2, 5.7) through the API and the pages: goods of the paying union's
stock count toward the standard at their value (物资折款), leave the stock when the batch is paid, in the
payment's transaction (a short stock refuses the whole payment and writes nothing), and show in the totals, the
household's aid history and the signature sheet (the bank file lists cash only)."""

from __future__ import annotations

import io
import re
import threading

import openpyxl
import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.aid.conftest import archived_household, person, warmth
from tests.conftest import IS_PG, PASSWORD, csrf_from, system
from tests.fixtures.funds import counts, lot_balances
from tests.fixtures.goods import donation, goods_counts, item_body
from tests.fixtures.households import unique_id

PAY = {"document_no": "县工发〔2026〕30号", "date": "2026-12-01"}


def _rice(api_as, stock=100, user="k_clerk", tenant="K0101", **kw) -> int:
    resp = api_as(user).post("/api/v1/goods", json=item_body(tenant=tenant, **kw))
    assert resp.status_code == 201, resp.json
    gid = resp.json["id"]
    if stock:
        resp = api_as(user).post(f"/api/v1/goods/{gid}/receipts", json=donation(stock))
        assert resp.status_code == 201, resp.json
    return gid


def _batch(api_as, program_id, items, user="e_clerk", tenant="E0101001"):
    return api_as(user).post(f"/api/v1/programs/{program_id}/batches", json={"tenant": tenant, "items": items})


def _approve(api_as, bid, preparer="e_clerk"):
    for user, step in ((preparer, "submit"), ("k_approver", "approve")):
        resp = api_as(user).post(f"/api/v1/batches/{bid}/{step}", json={})
        assert resp.status_code == 200, (step, resp.json)
        if step == "approve" and resp.json["status"] == "submitted":  # an item at the threshold: the head too
            assert api_as("k_head").post(f"/api/v1/batches/{bid}/approve", json={}).status_code == 200


def _state(app):
    from hardship.aid.models import AidBatch, AidItem
    from hardship.goods.models import GoodsItem

    with system(app):
        return (lot_balances(db.session), counts(db.session), goods_counts(db.session),
                dict(db.session.execute(sa.select(GoodsItem.id, GoodsItem.stock)).all()),
                dict(db.session.execute(sa.select(AidBatch.id, AidBatch.status)).all()),
                dict(db.session.execute(sa.select(AidItem.id, AidItem.status)).all()))


def _hand_outs(app, goods_id):
    from hardship.goods.models import GoodsMovement

    with system(app):
        return db.session.execute(sa.select(GoodsMovement.quantity, GoodsMovement.reference).where(
            GoodsMovement.item_id == goods_id, GoodsMovement.kind == "hand_out").order_by(GoodsMovement.id)).all()


def test_goods_meet_the_standard_by_value(county, api_as):
    program = warmth(api_as)
    rice = _rice(api_as)
    h1, h2, h3 = (archived_household(api_as, name=n) for n in ("张三", "李四", "王五"))
    # 500.00 in cash is below the archived household's 600.00; with 2 bags of rice (2 x 50.00) it meets it
    resp = _batch(api_as, program["id"], [{"household": h1, "amount": "500.00"}])
    assert resp.status_code == 422 and "600.00" in resp.json["error"]["fields"]["items.0.amount"][0]
    resp = _batch(api_as, program["id"], [{"household": h1, "amount": "500.00", "goods": {"item": rice, "quantity": 1}}])
    assert resp.status_code == 422 and "低于标准" in resp.json["error"]["fields"]["items.0.amount"][0]  # 550.00
    resp = _batch(api_as, program["id"], [
        {"household": h1, "amount": "500.00", "goods": {"item": rice, "quantity": 2}},
        {"household": h2, "goods": {"item": rice, "quantity": 12}},  # goods only: 600.00
        {"household": h3, "amount": "0.00", "goods": {"item": rice, "quantity": "12"}}])
    assert resp.status_code == 201, resp.json
    first, second, _third = resp.json["items"]
    assert first["amount"] == "500.00" and first["value"] == "600.00"
    assert first["goods"] == {"item": rice, "name": "大米", "unit": "袋", "quantity": 2, "value": "100.00",
                              "label": "大米 2袋"}
    assert second["amount"] == "0.00" and second["goods"]["value"] == "600.00" and second["value"] == "600.00"
    assert resp.json["total"] == "500.00" and resp.json["goods_total"] == "1300.00"
    # a frontline worker: at most 500.00, goods included
    resp = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": "450.00",
                                           "goods": {"item": rice, "quantity": 2}}])
    assert resp.status_code == 422 and "500.00" in resp.json["error"]["fields"]["items.0.amount"][0]


def test_bad_goods_input_names_the_field(county, api_as, app):
    program = warmth(api_as)
    rice = _rice(api_as)
    theirs = _rice(api_as, user="k2_clerk", tenant="K0102", stock=0)  # another county's stock
    h = archived_household(api_as)
    before = _state(app)
    cases = [({"item": rice, "quantity": 0}, "items.0.goods.quantity"),
             ({"item": rice, "quantity": -2}, "items.0.goods.quantity"),
             ({"item": rice, "quantity": "2.5"}, "items.0.goods.quantity"),
             ({"item": rice}, "items.0.goods.quantity"),
             ({"quantity": 12}, "items.0.goods.item"),
             ({"item": "大米", "quantity": 12}, "items.0.goods.item"),
             ({"item": theirs, "quantity": 12}, "items.0.goods.item"),
             ({"item": 2**31 - 1, "quantity": 12}, "items.0.goods.item")]
    for goods, field in cases:
        resp = _batch(api_as, program["id"], [{"household": h, "goods": goods}])
        assert resp.status_code == 422, (goods, resp.json)
        assert set(resp.json["error"]["fields"]) == {field}, (goods, resp.json)
        message = resp.json["error"]["fields"][field][0]
        assert re.search(r"[\u4e00-\u9fff]", message), message  # in Chinese
    resp = _batch(api_as, program["id"], [{"household": h, "goods": {"item": theirs, "quantity": 12}}])
    assert "物资" in resp.json["error"]["fields"]["items.0.goods.item"][0]
    resp = _batch(api_as, program["id"], [{"household": h}])  # neither cash nor goods
    assert resp.status_code == 422 and "items.0.amount" in resp.json["error"]["fields"]
    assert _state(app) == before  # nothing written


def test_paying_hands_the_goods_out_with_the_cash(county, api_as, app, tmp_path):
    program = warmth(api_as)
    rice = _rice(api_as, stock=100)
    h1 = archived_household(api_as, name="张三")
    h2 = archived_household(api_as, name="李四")
    someone = person(name="赵六")
    resp = _batch(api_as, program["id"], [
        {"household": h1, "amount": "500.00", "goods": {"item": rice, "quantity": 2}},
        {"household": h2, "goods": {"item": rice, "quantity": 12}},
        {"person": someone, "kind": "frontline", "amount": "300.00", "goods": {"item": rice, "quantity": 4}}])
    assert resp.status_code == 201, resp.json
    bid = resp.json["id"]
    ids = [i["id"] for i in resp.json["items"]]
    _approve(api_as, bid)
    before = _state(app)
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "paid" and resp.json["transaction"] is not None
    after = _state(app)
    # the stock fell by exactly the quantities, each hand-out naming its item
    assert after[3][rice] == before[3][rice] - 18 == 82
    assert _hand_outs(app, rice) == [(-2, f"aid_item:{ids[0]}"), (-12, f"aid_item:{ids[1]}"),
                                     (-4, f"aid_item:{ids[2]}")]
    # the lots paid the cash only
    assert sum(before[0].values()) - sum(after[0].values()) == 800_00

    # the program's totals: cash and goods value (物资折款)
    totals = api_as("k_clerk").get(f"/api/v1/programs/{program['id']}/totals")
    assert totals.status_code == 200, totals.json
    assert totals.json["paid"] == "800.00" and totals.json["goods_paid"] == "900.00"
    kinds = {k["kind"]: (k["amount"], k["goods"], k["count"]) for k in totals.json["by_kind"]}
    assert kinds == {"archived": ("500.00", "700.00", 2), "frontline": ("300.00", "200.00", 1)}
    assert [(u["tenant"], u["amount"], u["goods"]) for u in totals.json["by_union"]] == \
        [("E0101001", "800.00", "900.00")]
    page = _ui(app, "k_clerk").get(f"/t/K0101/aid/programs/{program['id']}")
    text = re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))
    assert "物资折款" in text and "900.00" in text

    # the household's aid history: cash and goods
    history = api_as("k0101_all").get(f"/api/v1/households/{h1}/aid")
    assert history.status_code == 200, history.json
    row = history.json["aid"][0]
    assert (row["amount"], row["goods"], row["goods_value"]) == ("500.00", "大米 2袋", "100.00")
    page = _ui(app, "e_clerk").get(f"/t/E0101001/archive/{h1}")
    assert page.status_code == 200
    assert "大米 2袋（折款 100.00 元）" in page.get_data(as_text=True)

    # the bank file: cash only (李四's goods-only item is not in it)
    resp = api_as("k_fin").get(f"/api/v1/batches/{bid}/bank-file.xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert [(r[1], r[5]) for r in rows[1:]] == [("张三", 500)]
    # the signature sheet: goods as "大米 2袋" beside the amount
    resp = api_as("e_clerk").get(f"/api/v1/batches/{bid}/signature-sheet.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][5:7] == ("金额", "物资")
    assert [(r[1], r[5], r[6]) for r in rows[1:]] == [("张三", None, "大米 2袋"), ("李四", None, "大米 12袋"),
                                                      ("赵六", 300, "大米 4袋")]
    assert sheet.cell(2, 7).data_type == "s"
    page = _ui(app, "e_clerk").get(f"/t/E0101001/aid/batches/{bid}/signature-sheet")
    assert page.status_code == 200 and "大米 12袋" in page.get_data(as_text=True)
    # the stock's page links each hand-out to its batch
    page = _ui(app, "k_clerk").get(f"/t/K0101/goods/{rice}")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count(f'href="/t/K0101/aid/batches/{bid}"') == 3


def test_short_stock_refuses_the_payment_and_writes_nothing(county, api_as, app):
    program = warmth(api_as)
    rice = _rice(api_as, stock=20)
    h1 = archived_household(api_as, name="张三")
    h2 = archived_household(api_as, name="李四")
    resp = _batch(api_as, program["id"], [
        {"household": h1, "amount": "500.00", "goods": {"item": rice, "quantity": 10}},
        {"household": h2, "goods": {"item": rice, "quantity": 12}}])
    assert resp.status_code == 201, resp.json
    bid = resp.json["id"]
    _approve(api_as, bid)
    before = _state(app)
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY)
    assert resp.status_code == 409, resp.json
    message = resp.json["error"]["message"]
    assert "大米" in message and "22" in message and "20" in message and "2袋" in message, message
    assert _state(app) == before  # balances, ledger, stock, movements, batch and item statuses
    assert resp.json["error"]["fields"]["goods"]
    batch = api_as("k_fin").get(f"/api/v1/batches/{bid}")
    assert batch.json["status"] == "approved" and batch.json["transaction"] is None
    # once the stock is there, it pays
    assert api_as("k_clerk").post(f"/api/v1/goods/{rice}/receipts", json=donation(2)).status_code == 201
    assert api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY).status_code == 200
    assert _state(app)[3][rice] == 0


def test_a_goods_only_batch_pays_without_the_ledger(county, api_as, app):
    program = warmth(api_as)
    rice = _rice(api_as, stock=30)
    h = archived_household(api_as)
    bid = _batch(api_as, program["id"], [{"household": h, "goods": {"item": rice, "quantity": 12}}]).json["id"]
    _approve(api_as, bid)
    before = _state(app)
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "paid" and resp.json["transaction"] is None
    after = _state(app)
    assert after[0] == before[0] and after[1] == before[1]  # no ledger posting
    assert after[3][rice] == 18
    # the recipient signs for the goods
    item = resp.json["items"][0]
    resp = api_as("e_clerk").post(f"/api/v1/batches/{bid}/items/{item['id']}/receipt", json={"signed_by": "张三"})
    assert resp.status_code == 200 and resp.json["goods"]["label"] == "大米 12袋"


def _ui(app, username):
    client = app.test_client()
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302
    return client


def test_the_batch_editor_takes_goods(county, api_as, app):
    program = warmth(api_as)
    rice = _rice(api_as)
    h = archived_household(api_as)
    bid = _batch(api_as, program["id"], []).json["id"]
    client = _ui(app, "e_clerk")
    url = f"/t/E0101001/aid/batches/{bid}"
    page = client.get(url)
    assert page.status_code == 200 and "大米" in page.get_data(as_text=True)

    def post(data):
        token = csrf_from(client.get(url).get_data(as_text=True))
        return client.post(url, data={"csrf_token": token, "item-action": "add", **data})

    resp = post({"item-household": str(h), "item-goods_item": str(rice), "item-goods_quantity": "0"})
    assert resp.status_code == 422 and "1" in resp.get_data(as_text=True)
    resp = post({"item-household": str(h), "item-amount": "500.00", "item-goods_item": str(rice),
                 "item-goods_quantity": "1"})
    assert resp.status_code == 422 and "低于标准" in re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    resp = post({"item-household": str(h), "item-amount": "", "item-goods_item": str(rice),
                 "item-goods_quantity": "12"})
    assert resp.status_code == 302, re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))[:2000]
    text = re.sub(r"<[^>]+>", " ", client.get(url).get_data(as_text=True))
    assert "大米 12袋" in text and "600.00" in text


# ---------------------------------------------------------------- concurrency (PostgreSQL)

@pytest.mark.postgres
@pytest.mark.skipif(not IS_PG, reason="concurrent transactions need DATABASE_URL pointing at PostgreSQL")
def test_two_batches_competing_for_one_stock(committed, app, tree):
    """Two approved batches that each hand out 60 bags of a stock of 100, paid at the same moment: one pays,
    the other is a 409 and writes nothing; the stock never goes below zero."""
    from hardship.goods.models import GoodsItem, GoodsMovement

    for role in ("clerk", "approver", "finance"):
        tree.user("K0101", roles=(role,), username=f"k_{role}")
    client = app.test_client()

    def headers(username):
        return {"Authorization": f"Bearer {tree.token(username)}"}

    def ok(resp, status=200):
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    clerk = headers("k_clerk")
    program = ok(client.post("/api/v1/programs", headers=clerk, json={
        "tenant": "K0101", "type": "warmth", "year": 2026, "name": "2026年两节送温暖"}), 201)["id"]
    rice = ok(client.post("/api/v1/goods", headers=clerk, json=item_body()), 201)["id"]
    ok(client.post(f"/api/v1/goods/{rice}/receipts", headers=clerk, json=donation(100)), 201)
    batches = []
    for b in range(2):
        items = [{"person": {"name": "赵六", "id_number": unique_id(700 + 10 * b + n), "reason": "春节坚守一线"},
                  "kind": "frontline", "goods": {"item": rice, "quantity": 10}} for n in range(6)]
        bid = ok(client.post(f"/api/v1/programs/{program}/batches", headers=clerk,
                             json={"tenant": "K0101", "items": items}), 201)["id"]
        ok(client.post(f"/api/v1/batches/{bid}/submit", headers=clerk, json={}))
        ok(client.post(f"/api/v1/batches/{bid}/approve", headers=headers("k_approver"), json={}))
        batches.append(bid)

    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    pay = headers("k_finance")

    def run(bid):
        mine = app.test_client()
        barrier.wait()
        resp = mine.post(f"/api/v1/batches/{bid}/pay", headers=pay, json=PAY)
        with lock:
            results.append((bid, resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=run, args=(bid,)) for bid in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert sorted(status for _b, status, _j in results) == [200, 409], results
    loser = next(j for _b, status, j in results if status == 409)
    assert "大米" in loser["error"]["message"], loser
    with system(app):
        stock = db.session.scalar(sa.select(GoodsItem.stock).where(GoodsItem.id == rice))
        moves = db.session.execute(sa.select(GoodsMovement.quantity, GoodsMovement.stock_after).where(
            GoodsMovement.item_id == rice).order_by(GoodsMovement.id)).all()
        from hardship.aid.models import AidBatch

        statuses = sorted(db.session.scalars(sa.select(AidBatch.status).where(AidBatch.id.in_(batches))))
        db.session.rollback()
    assert stock == 40 and all(after >= 0 for _q, after in moves)
    assert sum(q for q, _a in moves) == 40 and len(moves) == 1 + 6
    assert statuses == ["approved", "paid"]
