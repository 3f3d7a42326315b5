"""In a real browser: the batch editor's goods fields (pick a goods item of the county's stock and a quantity),
a quantity below one refused in Chinese beside the field, goods that bring a household up to the standard
accepted; the finance officer pays and the stock's page links the hand-out to the batch."""

from __future__ import annotations

import re

import pytest

from tests.aid.conftest import archived_household, warmth
from tests.aid.test_aid_browser import _log_in, expect
from tests.fixtures.goods import donation, item_body

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_batch_editor_goods_fields(app, page, page_log, live_server, county, api_as):
    program = warmth(api_as)
    rice = api_as("k_clerk").post("/api/v1/goods", json=item_body()).json["id"]
    assert api_as("k_clerk").post(f"/api/v1/goods/{rice}/receipts", json=donation(30)).status_code == 201
    h = archived_household(api_as)
    _log_in(page, "e_clerk")
    page.goto(f"/t/E0101001/aid/programs/{program['id']}")
    page.click("#new-batch button")
    expect(page).to_have_url(re.compile(r"/t/E0101001/aid/batches/\d+$"))
    batch_url = page.url
    expect(page.locator("#item-goods_item")).to_contain_text("大米（每袋 50.00 元，库存 30袋）")
    page.fill("#item-household", str(h))
    page.select_option("#item-goods_item", str(rice))
    page.fill("#item-goods_quantity", "0")
    page.click("button[value='add']")
    expect(page.locator("#add-item .error")).to_contain_text("1")
    expect(page.locator("#items")).to_contain_text("还没有发放对象")
    page.fill("#item-household", str(h))
    page.fill("#item-amount", "500.00")
    page.select_option("#item-goods_item", str(rice))
    page.fill("#item-goods_quantity", "2")
    page.click("button[value='add']")
    expect(page.locator("#items")).to_contain_text("大米 2袋（折款 100.00 元）")
    expect(page.locator("#goods-total")).to_contain_text("100.00")
    page.click("button[value='submit']")
    expect(page.locator("#status")).to_have_text("已提交")

    _log_in(page, "k_approver")
    page.goto(batch_url.replace("/E0101001/", "/K0101/"))
    page.click("button[value='approve']")
    expect(page.locator("#status")).to_have_text("已审核")
    _log_in(page, "k_fin")
    page.goto(batch_url.replace("/E0101001/", "/K0101/"))
    page.fill("#step-document_no", "县工发〔2026〕30号")
    page.fill("#step-date", "2026-12-01")
    page.click("button[value='pay']")
    expect(page.locator("#status")).to_have_text("已发放")
    _log_in(page, "k_clerk")
    page.goto(f"/t/K0101/goods/{rice}")
    expect(page.locator("#movements")).to_contain_text("28 袋")
    page.locator("#movements a.batch-link").click()
    expect(page).to_have_url(re.compile(r"/t/K0101/aid/batches/\d+$"))
