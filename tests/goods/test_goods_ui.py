"""The goods pages through the test client (real login, CSRF): the stock list in 元 with separators, an item
with its movements, the forms loaded through the API's schemas, the xlsx export, the command line."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from hardship.core.db import db
from hardship.goods.models import GoodsItem, GoodsMovement
from tests.conftest import csrf_from, system
from tests.fixtures.funds import allocation, lot_balances, post, receipt
from tests.fixtures.goods import donation, item_body

LOT = ("K0101", "central_finance", 2026)


@pytest.fixture
def county(tree, api_as):
    tree.user("K0101", roles=("clerk",), username="k0101_clerk")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    tree.user("K0101", roles=("auditor",), username="k0101_aud")
    c01 = api_as("c01_all")
    assert post(c01, "receipt", receipt()).status_code == 201
    assert post(c01, "allocation", allocation()).status_code == 201
    clerk = api_as("k0101_clerk")
    coal = clerk.post("/api/v1/goods", json=item_body(name="取暖煤", unit="公斤", unit_value="1.20",
                                                      note="=HYPERLINK(\"http://x\")")).json["id"]
    assert clerk.post(f"/api/v1/goods/{coal}/receipts", json=donation(12345)).status_code == 201
    return {"coal": coal}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_stock_page_shows_yuan_and_units(client, login, county):
    login("k0101_aud")
    page = client.get("/t/K0101/goods/")
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    assert "物资库存" in text and "取暖煤" in text and "捐赠物资" in text
    assert "12,345 公斤" in text and "14,814.00 元" in text and "1.20 元/公斤" in text
    assert "donation" not in text  # words, not codes
    # the menu links to it
    assert 'href="/t/K0101/goods/"' in client.get("/t/K0101/").get_data(as_text=True)
    # a reader has no forms
    assert client.get(f"/t/K0101/goods/{county['coal']}/receive").status_code == 403


def test_forms_load_through_the_schema(app, client, login, county):
    login("k0101_clerk")
    form = client.get("/t/K0101/goods/new")
    assert form.status_code == 200
    token = csrf_from(form.get_data(as_text=True))
    bad = client.post("/t/K0101/goods/new", data={"csrf_token": token, "name": "大米", "unit": "袋",
                                                  "unit_value": "abc", "source": "donation"})
    assert bad.status_code == 422 and "元" in _text(bad.get_data(as_text=True))
    made = client.post("/t/K0101/goods/new", data={"csrf_token": token, "name": "大米", "unit": "袋",
                                                   "unit_value": "50.00", "source": "donation"})
    assert made.status_code == 302
    with system(app):
        rice = db.session.scalar(sa.select(GoodsItem.id).where(GoodsItem.name == "大米"))
    url = f"/t/K0101/goods/{rice}/receive"
    page = client.get(url)
    token = csrf_from(page.get_data(as_text=True))
    for quantity in ("2.5", "-1", "0", ""):
        bad = client.post(url, data={"csrf_token": token, "quantity": quantity, "date": "2026-03-01"})
        assert bad.status_code == 422, quantity
    assert "整数" in _text(client.post(url, data={"csrf_token": token, "quantity": "2.5",
                                                  "date": "2026-03-01"}).get_data(as_text=True))
    ok = client.post(url, data={"csrf_token": token, "quantity": "40", "date": "2026-03-01", "document_no": "捐1号",
                                "note": "爱心企业"})
    assert ok.status_code == 302
    correct = f"/t/K0101/goods/{rice}/correct"
    too_many = client.post(correct, data={"csrf_token": token, "quantity": "-41", "reason": "盘亏"})
    assert too_many.status_code == 409 and "不能小于零" in _text(too_many.get_data(as_text=True))
    assert client.post(correct, data={"csrf_token": token, "quantity": "-1", "reason": "破损"}).status_code == 302
    item = _text(client.get(f"/t/K0101/goods/{rice}").get_data(as_text=True))
    assert "接收捐赠" in item and "更正" in item and "破损" in item and "+40 袋" in item and "39 袋" in item
    with system(app):
        assert db.session.scalar(sa.select(GoodsItem.stock).where(GoodsItem.id == rice)) == 39


def test_purchase_form_pays_from_the_lot(app, client, login, county, api_as):
    clerk = api_as("k0101_clerk")
    oil = clerk.post("/api/v1/goods", json=item_body(name="食用油", unit="桶", unit_value="68.00",
                                                     source="purchase")).json["id"]
    login("k0101_fin")
    url = f"/t/K0101/goods/{oil}/purchase"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    lot = re.search(r'<option[^>]*value="(\d+)"', html).group(1)
    token = csrf_from(html)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)
    form = {"csrf_token": token, "idempotency_key": key, "quantity": "10", "lot": lot, "document_no": "长工采〔2026〕2号",
            "date": "2026-03-15"}
    too_much = client.post(url, data={**form, "quantity": "1000"})
    assert too_much.status_code == 409
    with system(app):
        assert lot_balances(db.session)[LOT] == 30000_00
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # sent twice: paid once
    with system(app):
        assert lot_balances(db.session)[LOT] == 30000_00 - 680_00
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GoodsMovement)
                                 .where(GoodsMovement.item_id == oil)) == 1


def _workbook(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def test_the_stock_exports_to_xlsx(app, client, login, county, api_as):
    resp = api_as("c01_all").get("/api/v1/goods/stock.xlsx?tenant=C01&subtree=1")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = _workbook(resp.data)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("工会编码", "工会", "物资", "单位", "物资来源", "单价", "库存", "库存折款", "备注")
    assert rows[1][:8] == ("K0101", "K0101工会", "取暖煤", "公斤", "捐赠物资", 1.2, 12345, 14814.0)
    assert rows[1][8] == '=HYPERLINK("http://x")'  # text stays text
    cell = sheet.cell(row=2, column=9)
    assert cell.data_type == "s"
    assert sheet.cell(row=2, column=1).data_type == "s" and sheet.cell(row=2, column=7).data_type == "n"
    assert "元" in sheet.cell(row=2, column=8).number_format
    login("k0101_aud")
    page = client.get("/t/K0101/goods/stock.xlsx")
    assert page.status_code == 200 and list(_workbook(page.data).iter_rows(values_only=True))[1][2] == "取暖煤"


def test_command_line_stock(app, county, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "goods", "stock", "--tenant", "C01", "--subtree"])
    assert result.exit_code == 0, result.output
    assert "取暖煤" in result.output and "14,814.00" in result.output
    out = tmp_path / "stock.xlsx"
    result = runner.invoke(args=["hardship", "goods", "stock", "--tenant", "K0101", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    assert list(_workbook(out.read_bytes()).iter_rows(values_only=True))[1][2] == "取暖煤"
    result = runner.invoke(args=["hardship", "goods", "stock", "--tenant", "ZZ99"])
    assert result.exit_code == 2 and "error" in result.output
