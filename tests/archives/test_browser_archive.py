"""The household archive in a real browser: an enterprise clerk registers a household through the
form, the county clerk records the home survey, the county approver publicizes it and it is
archived (在档). Debian chromium driven by Playwright, the app in a live server thread."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.fixtures.browser import expect, log_in
from tests.fixtures.households import make_id

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/browser-archive.png"


def log_out(page, live_server):
    page.click("#logout")
    expect(page).to_have_url(f"{live_server}/login")


@pytest.fixture
def archive(tree, api_as):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("approver",), username="k_approver")
    # no publicity period in K0101: publicizing archives at once
    resp = api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    assert resp.status_code == 200, resp.json
    return tree


def test_register_survey_publicize_archive(page, page_log, live_server, archive):
    head_id, spouse_id = make_id(), make_id(male=False)

    # the enterprise clerk registers the household through the form (first with a mistake)
    log_in(page, "e_clerk")
    page.click("nav.menu a[href='/t/E0101001/archive/new']")
    expect(page).to_have_url(f"{live_server}/t/E0101001/archive/new")
    expect(page.locator("#tenant-name")).to_have_text("E0101001工会")  # its own union, no choice
    page.fill("#head_name", "刘洋")
    page.fill("#head_id_number", head_id[:-1] + ("0" if head_id[-1] != "0" else "1"))  # wrong check character
    page.fill("#head_phone", "13912345678")
    page.fill("#head_job", "焊工")
    page.fill("#member_0_name", "周丽")
    page.fill("#member_0_id_number", spouse_id)
    page.select_option("#member_0_relation", "spouse")
    page.fill("#member_0_income", "1200.00")
    page.select_option("#category", "deep")
    page.select_option("#primary_reason", "illness")
    page.check("input[name='secondary_reasons'][value='low_income']")
    page.fill("#income_per_capita", "650.00")
    page.fill("#address", "石家庄市长安区中山东路8号")
    page.fill("#bank_name", "中国工商银行")
    page.fill("#card_number", "6222020200112233446")
    page.fill("#cadre_first", "王主席")
    page.click("#register")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error")).to_contain_text("校验码")  # the check character, in Chinese
    expect(page.locator("#member_0_name")).to_have_value("周丽")  # the input is kept
    page.fill("#head_id_number", head_id)
    page.click("#register")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/t/E0101001/archive/") + r"\d+$"))
    household_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#status")).to_have_attribute("data-status", "applied")
    expect(page.locator("#status")).to_have_text("已申请")
    expect(page.locator("#people")).to_contain_text(head_id)  # the registering union sees it in full
    expect(page.locator("#people")).to_contain_text("周丽")
    expect(page.locator("form.action")).to_have_count(1)  # the county surveys and decides; the union may withdraw
    expect(page.locator("#withdraw-form")).to_be_visible()
    log_out(page, live_server)

    # the county clerk finds it in the archive and records the home survey
    log_in(page, "k_clerk")
    page.click("nav.menu a[href='/t/K0101/archive']")
    page.fill("#q", "刘洋")
    page.click("#filter")
    rows = page.locator("#households tbody tr[data-id]")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="刘洋").click()
    expect(page).to_have_url(f"{live_server}/t/K0101/archive/{household_id}")
    expect(page.locator("form.action")).to_have_count(1)  # the survey form only
    page.fill("#survey-visited_on", date.today().isoformat())
    page.fill("#survey-visitors", "王五，赵六")
    page.fill("#survey-findings", "本人患病，配偶收入低")
    page.fill("#survey-income_per_capita", "600.00")
    page.click("#survey-form button[type=submit]")
    expect(page.locator("#status")).to_have_attribute("data-status", "surveyed")
    expect(page.locator("#survey-list")).to_contain_text("王五、赵六")
    log_out(page, live_server)

    # the county approver publicizes it: with no publicity period it is archived at once
    log_in(page, "k_approver")
    page.goto(f"/t/K0101/archive/{household_id}")
    expect(page.locator("#action-publicize")).to_be_visible()
    expect(page.locator("#action-reject")).to_be_visible()
    expect(page.locator("#survey-form")).to_have_count(0)
    page.click("#action-publicize button[type=submit]")
    expect(page.locator("#status")).to_have_attribute("data-status", "archived")
    expect(page.locator("#status")).to_have_text("在档")
    expect(page.locator("#action-exit")).to_be_visible()
    expect(page.locator("#timeline li")).to_have_count(3)  # apply, survey, publicize
    page.screenshot(path=SCREENSHOT, full_page=True)

    # the archive list agrees, and the export is offered
    page.click("nav.menu a[href='/t/K0101/archive']")
    expect(page.locator(f"#households tr[data-id='{household_id}'] td.status")).to_have_text("在档")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.endswith(".xlsx")

    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []
    # chromium logs the 422 of the first, refused submission as a failed resource: that one is expected
    refused = [e for e in page_log.console_errors if "422" in e and "/archive/new" in e]
    assert len(refused) == 1 and len(page_log.console_errors) == 1, page_log.console_errors
