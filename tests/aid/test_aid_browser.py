"""In a real browser: an enterprise clerk builds a batch in the batch editor, the county's approver finds it
in the approval queue and approves it, the finance officer pays it, and the signature sheet prints."""

from __future__ import annotations

import re

import pytest

from tests.aid.conftest import archived_household, person, warmth
from tests.fixtures.browser import expect

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def _log_in(page, username):
    from tests.conftest import PASSWORD

    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_batch_editor_queue_payment_and_print_view(app, page, page_log, live_server, county, api_as):
    program = warmth(api_as)
    h = archived_household(api_as)
    _log_in(page, "e_clerk")
    page.goto(f"/t/E0101001/aid/programs/{program['id']}")
    expect(page.locator("#standards")).to_contain_text("建档困难职工")
    page.click("#new-batch button")
    expect(page).to_have_url(re.compile(r"/t/E0101001/aid/batches/\d+$"))
    batch_url = page.url
    # a household below the standard: the field says why, in Chinese, and nothing is added
    page.fill("#item-household", str(h))
    page.fill("#item-amount", "599.99")
    page.click("button[value='add']")
    expect(page.locator("#add-item .error")).to_contain_text("低于标准")
    expect(page.locator("#items")).to_contain_text("还没有发放对象")
    page.fill("#item-household", str(h))
    page.fill("#item-amount", "600.00")
    page.click("button[value='add']")
    expect(page.locator("#items")).to_contain_text("张三")
    someone = person(name="赵六")
    page.fill("#item-name", someone["name"])
    page.fill("#item-id_number", someone["id_number"])
    page.select_option("#item-kind", "frontline")
    page.fill("#item-amount", "500.00")
    page.click("button[value='add']")
    expect(page.locator("#items")).to_contain_text("赵六")
    expect(page.locator("#batch")).to_contain_text("1,100.00")
    page.click("button[value='submit']")
    expect(page.locator("#status")).to_have_text("已提交")

    _log_in(page, "k_approver")
    page.goto("/t/K0101/")
    page.locator("nav.menu a[href='/t/K0101/aid/queue']").click()
    expect(page.locator("#queue")).to_contain_text("审核人审核")
    page.locator("#queue a").first.click()
    page.click("button[value='approve']")
    expect(page.locator("#status")).to_have_text("已审核")

    _log_in(page, "k_fin")
    page.goto(batch_url.replace("/t/E0101001/", "/t/K0101/"))
    page.fill("#step-document_no", "县工发〔2026〕30号")
    page.fill("#step-date", "2026-12-01")
    page.click("button[value='pay']")
    expect(page.locator("#status")).to_have_text("已发放")
    page.click("#print-sheet")
    expect(page.locator("#sheet")).to_contain_text("赵六")
    number = someone["id_number"]
    expect(page.locator("#sheet")).to_contain_text(number[:6] + "********" + number[14:])
    expect(page.locator("#sheet")).not_to_contain_text(number)
