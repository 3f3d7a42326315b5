"""A county files its monthly report and the city returns it, in a real browser (Debian chromium driven by
Playwright): the county's filing page, the city's board, the return with its reason, the county sees it."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import expect, log_in

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_a_county_files_and_the_city_returns(page, page_log, live_server, tree):
    log_in(page, "k0101_all")
    page.click("nav.menu >> text=报表上报")
    expect(page.locator("h1")).to_contain_text("报表上报")
    page.select_option("#choose-form", "monthly_funds")
    page.fill("#period input[name=year]", "2026")
    page.select_option("#period select[name=month]", "11")
    page.click("#show-period")
    expect(page.locator("#no-versions")).to_have_text("尚未上报。")
    page.click("#file-report")
    expect(page.locator(".flash-success")).to_contain_text("报表已上报")
    expect(page.locator("#versions tr[data-version='1'] td.status")).to_have_text("已上报")
    page.click("#logout")

    log_in(page, "c01_all")
    page.click("nav.menu >> text=下级报表上报情况")
    page.fill("#period input[name=year]", "2026")
    page.select_option("#period select[name=month]", "11")
    page.click("#show-period")
    row = page.locator("#board tr[data-tenant='K0101']")
    expect(row.locator("td.status")).to_have_text("逾期上报")  # filed after 5 December, the due day
    expect(page.locator("#board tr[data-tenant='K0102'] td.status")).to_have_text("未上报")
    row.locator("input.reason-input").fill("本月支出数字有误，请核对后重报")
    row.locator("button.return").click()
    expect(page.locator(".flash-success")).to_contain_text("已退回")
    expect(row.locator("td.status")).to_have_text("已退回")
    expect(row.locator("td.reason")).to_have_text("本月支出数字有误，请核对后重报")
    page.click("#logout")

    log_in(page, "k0101_all")
    page.goto("/t/K0101/reports/filings?form=monthly_funds&year=2026&month=11")
    expect(page.locator("#versions tr[data-version='1'] td.status")).to_have_text("已退回")
    expect(page.locator("#file-report")).to_have_text("重新上报（新版本）")
    page.click("#file-report")
    expect(page.locator("#versions tr[data-version='2'] td.status")).to_have_text("已上报")
