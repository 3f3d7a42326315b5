"""End-to-end tests in a real browser (Debian chromium driven by Playwright's sync API).

The app runs in a live server thread over the ``tree`` fixture's committed data. The browser
context asks for Chinese (``Accept-Language: zh-CN``), like the users' office PCs do.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.fixtures.browser import expect, log_in

#: the live server, browser and page fixtures
pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/browser-home.png"


def test_login_navigate_switch_language_logout(page, page_log, live_server, tree):
    # the login page, in Chinese by default
    response = page.goto("/login")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("登录")  # _("Log in"), from the zh catalog
    expect(page.locator("#lang-en")).to_be_visible()

    # log in as the city user through the form
    page.fill("#username", "c01_all")
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page).to_have_url(f"{live_server}/t/C01/")
    expect(page.locator("h1")).to_have_text("C01工会")
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("C01")
    expect(page.locator("dd.level")).to_have_text("市级工会")  # from the city plugin, not the catalog
    expect(page.locator("#panel-children h2")).to_have_text("下级工会")  # _("Child unions")
    expect(page.locator("#logout")).to_have_text("退出登录")  # _("Log out")
    children = page.locator("#children tbody tr")
    expect(children).to_have_count(2)  # K0101 and K0102, but nothing of C02
    expect(page.locator("#children")).to_contain_text("县级工会")
    expect(page.locator("#children")).not_to_contain_text("K0201")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # open a county from the children table
    page.locator("#children").get_by_role("link", name="K0101工会", exact=True).click()
    expect(page).to_have_url(f"{live_server}/t/K0101/")
    expect(page.locator("h1")).to_have_text("K0101工会")
    expect(page.locator("dd.level")).to_have_text("县级工会")
    expect(page.locator("nav.crumbs")).to_contain_text("C01工会")
    expect(page.locator("#children")).to_contain_text("E0101001工会")

    # switch to English: back on the same page, in English, and it sticks
    page.click("#lang-en")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/t/K0101/") + r"\??$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#panel-children h2")).to_have_text("Child unions")
    expect(page.locator("dd.level")).to_have_text("County union")
    expect(page.locator("#children")).to_contain_text("Enterprise union")
    expect(page.locator("#logout")).to_have_text("Log out")
    expect(page.locator("#lang-zh")).to_be_visible()
    expect(page.locator("#lang-en")).to_have_count(0)
    page.goto("/t/C01/")
    expect(page.locator("dd.level")).to_have_text("City union")

    # log out: the login page (still in English), and the session is gone
    page.click("#logout")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator(".flash")).to_have_text("You have logged out.")
    expect(page.locator("#logout")).to_have_count(0)
    page.goto("/t/C01/")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/login")))

    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []


def test_sibling_city_is_404_and_anonymous_is_sent_to_login(page, live_server, tree):
    # anonymous: redirected to the login page, and back to the page after logging in
    page.goto("/t/C01/")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/login") + r"(\?.*)?$"))
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", "c01_all")
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page).to_have_url(f"{live_server}/t/C01/")

    # a sibling city is outside the user's subtree: not found, not forbidden
    response = page.goto("/t/C02/")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("404")
    expect(page.locator("body")).not_to_contain_text("C02工会")
    expect(page.locator(".error-message")).not_to_be_empty()
    expect(page.locator("main a[href='/']")).to_be_visible()
    # and so is a county below it
    response = page.goto("/t/K0201/")
    assert response is not None and response.status == 404


def _visit_pages(page, live_server):
    log_in(page, "c01_all")
    expect(page).to_have_url(f"{live_server}/t/C01/")
    for path in ("/t/C01/", "/t/K0101/", "/t/E0101001/"):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        # the stylesheet is served and applied (no CDN, no blocked inline styles)
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"


def test_pages_work_offline(page, page_log, live_server, tree):
    _visit_pages(page, live_server)
    assert len(page_log.requests) >= 8, page_log.requests
    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []


def test_pages_have_no_console_errors(page, page_log, live_server, tree):
    _visit_pages(page, live_server)
    # APP BUG (open): there is no /favicon.ico, so chromium logs "Failed to load resource: the server
    # responded with a status of 404 (NOT FOUND)" for http://127.0.0.1:<port>/favicon.ico on every
    # page. Fix in the app (a favicon in hardship/static linked from base.html, or a /favicon.ico
    # route), not here.
    assert page_log.console_errors == []
