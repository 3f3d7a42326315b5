"""The service desk in a real browser: a county clerk registers a visit at the window (finding the person in
the archive by ID number), refers it down to the enterprise, the enterprise answers, the county closes it; the
queues show it at each step. Debian chromium driven by Playwright, the app in a live server thread."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import expect, log_in
from tests.fixtures.households import household_body, unique_id

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def log_out(page, live_server):
    page.click("#logout")
    expect(page).to_have_url(f"{live_server}/login")


def queue_row(page, tenant: str, queue: str, case_id: str):
    page.goto(f"/t/{tenant}/desk/?queue={queue}")
    return page.locator(f"#cases tr[data-id='{case_id}']")


def test_register_refer_answer_close(page, page_log, live_server, tree, api_as):
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    head = unique_id(61)
    assert api_as("e0101001_all").post("/api/v1/households", json=household_body(head_id=head)).status_code == 201

    # the county clerk registers a visit, finding the person in the archive first
    log_in(page, "k_clerk")
    page.click("nav.menu a[href='/t/K0101/desk/']")
    page.click("#register-link")
    page.fill("#lookup-id", head)
    page.click("#lookup-button")
    expect(page.locator("#lookup-result")).to_contain_text("已在档案中找到")
    expect(page.locator("#name")).to_have_value("张三")
    page.select_option("#kind", "petition")
    page.select_option("#channel", "visit")
    page.select_option("#category", "unpaid_wages")
    page.click("#register")  # without a subject first
    expect(page.locator("#case-form .error")).to_contain_text("必填")
    page.fill("#subject", "企业拖欠工资三个月，要求协调补发")
    page.click("#register")
    expect(page.locator("body")).to_contain_text("案件已登记")
    expect(page.locator("#status")).to_have_text("办理中")
    expect(page.locator("#household-link")).to_be_visible()
    case_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(queue_row(page, "K0101", "open", case_id)).to_be_visible()

    # refer it down to the enterprise
    page.goto(f"/t/K0101/desk/cases/{case_id}")
    page.select_option("#form-refer select[name='to']", "E0101001")
    page.fill("#form-refer textarea[name='note']", "请核实并督促企业补发")
    page.click("#do-refer")
    expect(page.locator("#status")).to_have_text("已转办，待下级回复")
    expect(page.locator("#form-close")).to_have_count(0)  # not while it waits for the answer
    expect(queue_row(page, "K0101", "referred_by_us", case_id)).to_be_visible()
    log_out(page, live_server)

    # the enterprise sees it in its queue and answers
    log_in(page, "e_clerk")
    row = queue_row(page, "E0101001", "referred_to_us", case_id)
    expect(row).to_be_visible()
    row.locator("a").first.click()
    expect(page.locator("#form-close")).to_have_count(0)  # the enterprise cannot close the county's case
    page.fill("#form-answer textarea[name='text']", "已约谈企业负责人，承诺本月补发")
    page.click("#do-answer")
    expect(page.locator("#status")).to_have_text("下级已回复")
    expect(page.locator("#form-answer")).to_have_count(0)
    log_out(page, live_server)

    # the county reads the answer and closes the case
    log_in(page, "k_clerk")
    row = queue_row(page, "K0101", "referred_by_us", case_id)
    expect(row.locator(".status")).to_contain_text("下级已回复")
    row.locator("a").first.click()
    expect(page.locator("#history")).to_contain_text("已约谈企业负责人")
    page.select_option("#form-close select[name='result']", "resolved")
    page.select_option("#form-close select[name='satisfaction']", "satisfied")
    page.fill("#form-close textarea[name='note']", "已补发工资，当事人满意")
    page.click("#do-close")
    expect(page.locator("#status")).to_contain_text("已办结")
    expect(page.locator("#form-reopen")).to_be_visible()
    expect(queue_row(page, "K0101", "closed", case_id)).to_be_visible()
    expect(queue_row(page, "K0101", "open", case_id)).to_have_count(0)
