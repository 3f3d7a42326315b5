"""In a real browser: a posting form is one posting. Back after 记账 and 记账 again returns the first
posting (the form's key is bound to the form instance by post/redirect/get), nothing is posted twice."""

from __future__ import annotations

import pytest

from tests.conftest import system
from tests.fixtures.funds import post, receipt
from tests.funds.test_funds_browser import _log_in, expect

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def _fill_allocation(page):
    page.select_option("#to", "K0101")
    page.select_option("#source", "central_finance")
    page.fill("#fiscal_year", "2026")
    page.fill("#amount", "12000.00")
    page.fill("#document_no", "石工发〔2026〕31号")
    page.fill("#date", "2026-03-05")


def _allocations(app) -> int:
    with system(app):
        from hardship.core.db import db
        from hardship.funds.models import FundTransaction

        return db.session.query(FundTransaction).filter_by(kind="allocation").count()


def test_back_and_post_again_posts_once(app, page, page_log, live_server, tree, api_as):
    tree.user("C01", roles=("finance",), username="c01_fin")
    assert post(api_as("c01_fin"), "receipt", receipt(amount="50000.00")).status_code == 201
    _log_in(page, "c01_fin")
    expect(page).to_have_url(f"{live_server}/t/C01/")

    page.goto("/t/C01/funds/allocations/new")
    _fill_allocation(page)
    page.click("#post")
    expect(page).to_have_url(f"{live_server}/t/C01/funds/transactions")
    assert _allocations(app) == 1

    page.go_back()
    expect(page.locator("#posting")).to_be_visible()
    _fill_allocation(page)  # as a user who finds the form empty (reloaded) would
    page.click("#post")
    expect(page).to_have_url(f"{live_server}/t/C01/funds/transactions")
    expect(page.locator(".flash")).to_contain_text("石工发〔2026〕31号")
    assert _allocations(app) == 1

    page.reload()  # the list after the redirect: reloading it posts nothing either
    assert _allocations(app) == 1
    assert page_log.page_errors == []


#: per cell of the lists: how many lines its text takes and its width in characters of its font size
_LINES = """(selector) => [...document.querySelectorAll(selector)].map(cell => {
  const tops = new Set(), walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
  }
  return {text: cell.textContent.trim(), lines: tops.size,
          chars: cell.clientWidth / parseFloat(getComputedStyle(cell).fontSize)};
})"""


def test_lists_at_1024_px_do_not_wrap_one_character_per_line(app, page, live_server, tree, api_as):
    from tests.fixtures.funds import allocation

    tree.user("C01", roles=("finance",), username="c01_fin")
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt(amount="12345678.90", note="年初预算一次性拨付的中央财政困难职工帮扶资金")).status_code == 201
    assert post(fin, "allocation", allocation(amount="1234567.89", purpose="warmth")).status_code == 201
    page.set_viewport_size({"width": 1024, "height": 768})
    _log_in(page, "c01_fin")
    expect(page).to_have_url(f"{live_server}/t/C01/")
    for url, table in (("/t/C01/funds/transactions?subtree=1", "#transactions"), ("/t/C01/funds/?subtree=1", "#balances")):
        page.goto(url)
        cells = page.evaluate(_LINES, f"{table} th, {table} td")
        # a cell that wraps is at least six characters wide (the note wraps; a header or a name does not)
        squeezed = [c for c in cells if c["text"] and c["lines"] > 1 and (c["chars"] < 6 or len(c["text"]) < 12)]
        assert squeezed == [], (url, squeezed)
    page.goto("/t/C01/funds/?subtree=1")
    expect(page.locator("#balances tbody tr").first).to_contain_text("%")
    expect(page.locator("#total-balance")).to_contain_text("元")
