"""The provincial reviewer in a real browser: opens the province's summary from the menu, picks the year, drills
down to the city and to the county, and back up through the crumbs. Debian chromium driven by Playwright."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.fixtures.browser import expect

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_the_reviewer_drills_from_province_to_county(page, page_log, live_server, city, factory):
    factory.user("P01", roles=("reviewer",), username="p01_reviewer")
    page.goto("/login")
    page.fill("#username", "p01_reviewer")
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page).to_have_url(f"{live_server}/t/P01/")  # the dashboard (tests/reports/test_dashboard_browser.py)
    page.click("nav.menu a:has-text('统计汇总')")
    expect(page).to_have_url(f"{live_server}/t/P01/reports/summary")
    expect(page.locator("h1")).to_contain_text("统计汇总")

    page.fill("#period input[name=year]", "2026")
    page.click("#show-period")
    expect(page.locator("#stock")).to_have_text("4 户")
    rows = page.locator("#children tr.child")
    expect(rows).to_have_count(2)
    expect(page.locator("#children tr.child[data-tenant='C01'] td.stock")).to_have_text("4 户")
    expect(page.locator("#children tr.child[data-tenant='C02'] td.stock")).to_have_text("0 户")

    page.click("#children tr.child[data-tenant='C01'] a.drill")
    expect(page).to_have_url(f"{live_server}/t/C01/reports/summary?year=2026")
    expect(page.locator("#crumbs")).to_contain_text("河北省总工会")
    expect(page.locator("#funds-balance")).to_have_text("104,700.00 元")
    expect(page.locator("#children tr.child[data-tenant='K0102'] td.stock")).to_have_text("0 户")

    page.click("#children tr.child[data-tenant='K0101'] a.drill")
    expect(page).to_have_url(f"{live_server}/t/K0101/reports/summary?year=2026")
    expect(page.locator("#stock")).to_have_text("4 户")
    expect(page.locator("#aid-total")).to_have_text("900.00 元")
    expect(page.locator("#children tr.child[data-tenant='E0101001'] td.stock")).to_have_text("3 户")
    expect(page.locator("#children tr.own td.stock")).to_have_text("1 户")
    expect(page.locator("#desk-rate")).to_have_text("50.0%")

    # a month, then back up to the city through the crumbs, keeping the period
    page.select_option("#period select[name=month]", "11")
    page.click("#show-period")
    expect(page.locator("#flow-exited")).to_have_text("1 户")
    page.click("#crumbs a:has-text('C01工会')")
    expect(page).to_have_url(f"{live_server}/t/C01/reports/summary?year=2026&month=11")
    assert page_log.console_errors == [] and page_log.page_errors == []
    assert page_log.foreign_requests(live_server) == []
