"""In a real browser: the city's finance officer allocates to a county through the form; the county sees the lot."""

from __future__ import annotations

import re

import pytest

from tests.conftest import system
from tests.fixtures.browser import expect
from tests.fixtures.funds import post, receipt

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def _log_in(page, username):
    from tests.conftest import PASSWORD

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_city_allocates_and_county_sees_the_lot(app, page, page_log, live_server, tree, api_as):
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    assert post(api_as("c01_fin"), "receipt", receipt(amount="50000.00")).status_code == 201

    _log_in(page, "c01_fin")
    expect(page).to_have_url(f"{live_server}/t/C01/")
    page.locator("nav.menu a[href='/t/C01/funds/']").click()
    row = page.locator("#balances tr[data-tenant='C01'][data-source='central_finance'][data-year='2026']")
    expect(row.locator("td.balance")).to_have_text("50,000.00")

    page.click("#new-allocation")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/t/C01/funds/allocations/new?form=")))
    page.select_option("#to", "K0101")
    page.select_option("#source", "central_finance")
    page.fill("#fiscal_year", "2026")
    page.fill("#amount", "12000.00")
    page.fill("#document_no", "石工发〔2026〕21号")
    page.fill("#date", "2026-03-05")
    page.select_option("#purpose", "warmth")
    page.click("#post")
    expect(page).to_have_url(f"{live_server}/t/C01/funds/transactions")
    expect(page.locator(".flash-success")).to_contain_text("石工发〔2026〕21号")
    expect(page.locator("#transactions tbody tr").first).to_contain_text("-12,000.00")

    # a mistake is shown on the form, next to its field, and nothing is posted
    page.goto("/t/C01/funds/allocations/new")
    page.select_option("#to", "K0101")
    page.fill("#amount", "1.001")
    page.fill("#document_no", "石工发〔2026〕22号")
    page.click("#post")
    expect(page.locator(".field.has-error").filter(has=page.locator("#amount"))).to_be_visible()

    page.click("#logout")
    _log_in(page, "k0101_fin")
    page.goto("/t/K0101/funds/")
    lot = page.locator("#balances tr[data-tenant='K0101'][data-source='central_finance'][data-year='2026']")
    expect(lot.locator("td.balance")).to_have_text("12,000.00")
    expect(page.locator("#balances tr[data-tenant='C01']")).to_have_count(0)
    page.goto("/t/K0101/funds/transactions")
    expect(page.locator("#transactions")).to_contain_text("石工发〔2026〕21号")

    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []
    # the refused form answered 422 on purpose (chromium logs every 4xx document); nothing else
    assert [e for e in page_log.console_errors if "status of 422" not in e] == []
    with system(app):
        from hardship.core.db import db
        from hardship.funds.models import FundTransaction

        assert db.session.query(FundTransaction).count() == 2
