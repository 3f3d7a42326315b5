"""In a real browser (Chromium): the clerk finds the stock page in the menu, opens an item, records a donation
with the receive form (a wrong quantity first), and sees the stock and its value in 元 change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import system
from tests.fixtures.goods import donation, item_body
from tests.funds.test_funds_browser import _log_in, expect

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_stock_page_and_receive_form(app, page, page_log, live_server, tree, api_as):
    tree.user("K0101", roles=("clerk",), username="k0101_clerk")
    clerk = api_as("k0101_clerk")
    rice = clerk.post("/api/v1/goods", json=item_body(unit_value="1250.00")).json["id"]
    assert clerk.post(f"/api/v1/goods/{rice}/receipts", json=donation(8)).status_code == 201

    _log_in(page, "k0101_clerk")
    expect(page).to_have_url(f"{live_server}/t/K0101/")
    page.locator("nav.menu a[href='/t/K0101/goods/']").click()
    row = page.locator(f"#stock tr[data-id='{rice}']")
    expect(row.locator("td.stock")).to_have_text("8 袋")
    expect(row.locator("td.value")).to_have_text("10,000.00 元")
    expect(page.locator("#total-value")).to_have_text("10,000.00 元")

    row.locator("a").click()
    expect(page.locator("#stock")).to_have_text("8 袋")
    page.click("#receive")
    page.fill("#quantity", "2.5")
    page.fill("#document_no", "捐赠〔2026〕9号")
    page.click("#save")
    expect(page.locator(".has-error .error")).to_contain_text("整数")
    page.fill("#quantity", "1000")
    page.fill("#note", "爱心企业捐赠")
    page.click("#save")
    expect(page).to_have_url(f"{live_server}/t/K0101/goods/{rice}")
    expect(page.locator("#stock")).to_have_text("1,008 袋")
    expect(page.locator("#stock-value")).to_have_text("1,260,000.00 元")
    expect(page.locator("#movements tbody tr").first).to_contain_text("接收捐赠")
    expect(page.locator("#movements tbody tr").first).to_contain_text("爱心企业捐赠")
    with system(app):
        from hardship.core.db import db
        from hardship.goods.models import GoodsItem

        assert db.session.scalar(sa.select(GoodsItem.stock).where(GoodsItem.id == rice)) == 1008
    assert page_log.page_errors == []
