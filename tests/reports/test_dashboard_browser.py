"""The dashboard in a real browser (Debian chromium driven by Playwright): the provincial reviewer lands on it,
drills down to the city and the county, opens the households behind a figure (masked), and downloads a report
form; a county clerk's home shows the archive panel. Screenshots of both homes are left in /tmp."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.browser import expect, log_in

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser

REVIEWER_SHOT = "/tmp/dashboard-reviewer.png"
CLERK_SHOT = "/tmp/dashboard-county-clerk.png"
FUNDS_SHOT = "/tmp/dashboard-reviewer-funds.png"
AID_SHOT = "/tmp/dashboard-reviewer-aid-items.png"


def test_the_reviewer_drills_from_the_dashboard_to_the_households(page, page_log, live_server, city, factory):
    factory.user("P01", roles=("reviewer",), username="p01_reviewer")
    log_in(page, "p01_reviewer")
    expect(page).to_have_url(f"{live_server}/t/P01/")
    page.fill("#period input[name=year]", "2026")
    page.click("#show-period")
    expect(page).to_have_url(f"{live_server}/t/P01/?year=2026")
    expect(page.locator("#dash-stock")).to_have_text("4 户")
    expect(page.locator("svg.trend-chart")).to_be_visible()
    expect(page.locator("#panel-funds svg.bar-chart").first).to_be_visible()
    page.screenshot(path=REVIEWER_SHOT, full_page=True)
    page.locator("#panel-funds").screenshot(path=FUNDS_SHOT)

    # down to the city, then the county, by the children's table
    page.click("#dash-children tr[data-tenant='C01'] a.child-home")
    expect(page).to_have_url(f"{live_server}/t/C01/?year=2026")
    expect(page.locator("#dash-aid-total")).to_have_text("900.00 元")
    # the aid items behind the figure: by name, no ID number, no link to records the reviewer may not open
    page.click("#dash-aid-total a")
    expect(page).to_have_url(f"{live_server}/t/C01/aid/paid?year=2026")
    expect(page.locator("#paid-items tbody tr")).to_have_count(2)
    expect(page.locator("#paid-total")).to_contain_text("2 人次")
    expect(page.locator("#paid-items")).to_contain_text("甲一")
    expect(page.locator("#paid-items a")).to_have_count(0)
    page.screenshot(path=AID_SHOT, full_page=True)
    page.go_back()
    page.click("#dash-children tr[data-tenant='K0101'] a.child-home")
    expect(page).to_have_url(f"{live_server}/t/K0101/?year=2026")
    expect(page.locator("#dash-children tr[data-tenant='E0101001'] td.stock")).to_have_text("3 户")

    # the households behind a figure: the deep-hardship households of the county, masked
    page.click("#dash-by-category a:has-text('2 户')")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/t/K0101/archive?") + ".*category=deep"))
    expect(page.locator("#total")).to_contain_text("2")
    numbers = page.locator("#households td.id-number")
    expect(numbers).to_have_count(2)
    for text in numbers.all_inner_texts():
        assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", text.strip()), text
    expect(page.locator("#export")).to_have_count(0)

    # a report form from the summary the dashboard links to
    page.go_back()
    page.click("#dash-summary")
    expect(page).to_have_url(f"{live_server}/t/K0101/reports/summary?year=2026")
    with page.expect_download() as download:
        page.click("#form-center_annual")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert page_log.console_errors == [] and page_log.page_errors == []
    assert page_log.foreign_requests(live_server) == []


def test_a_county_clerk_sees_the_archive_panel(page, page_log, live_server, city, factory):
    factory.user("K0101", roles=("clerk",), username="k0101_clerk_only")
    log_in(page, "k0101_clerk_only")
    expect(page).to_have_url(f"{live_server}/t/K0101/")
    expect(page.locator("#panel-archive h2")).to_have_text("困难职工家庭")
    expect(page.locator("#panel-funds")).to_have_count(0)
    page.screenshot(path=CLERK_SHOT, full_page=True)
    page.click("#dash-by-status a:has-text('1 户') >> nth=0")
    expect(page.locator("h1")).to_contain_text("困难职工档案")
    assert page_log.console_errors == [] and page_log.page_errors == []
    assert page_log.foreign_requests(live_server) == []
