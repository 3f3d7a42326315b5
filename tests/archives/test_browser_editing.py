"""Correcting a household in a real browser: the county clerk changes the head's phone number with a reason,
the page shows the new number and the history shows the change, before and after; the city reads that
history masked. Debian chromium driven by Playwright, the app in a live server thread."""

from __future__ import annotations

import pytest

from tests.archives.test_browser_archive import expect, log_in, log_out
from tests.fixtures.households import household_body, make_id

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_the_county_clerk_corrects_a_phone_number(page, page_log, live_server, tree, api_as):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=make_id()))
    assert resp.status_code == 201, resp.json
    hid = resp.json["id"]

    log_in(page, "k_clerk")
    page.goto(f"/t/K0101/archive/{hid}")
    expect(page.locator("#people")).to_contain_text("13812345678")
    page.click("#edit-link")
    expect(page).to_have_url(f"{live_server}/t/K0101/archive/{hid}/edit")
    expect(page.locator("#head_phone")).to_have_value("13812345678")
    page.fill("#head_phone", "13987654321")
    page.click("#save")  # no reason given: refused, the input kept
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator("#head_phone")).to_have_value("13987654321")
    page.fill("#reason", "职工更换了手机号码")
    page.click("#save")
    expect(page).to_have_url(f"{live_server}/t/K0101/archive/{hid}#history")
    expect(page.locator(".flash-success")).to_have_text("更正已保存。")
    expect(page.locator("#people")).to_contain_text("13987654321")
    change = page.locator("#timeline li[data-action='edit'] tr[data-field='phone']")
    expect(change.locator("td.before")).to_have_text("13812345678")
    expect(change.locator("td.after")).to_have_text("13987654321")
    expect(page.locator("#timeline li[data-action='edit']")).to_contain_text("职工更换了手机号码")
    log_out(page, live_server)

    log_in(page, "c01_all")  # the city reads it masked
    page.goto(f"/t/C01/archive/{hid}")
    change = page.locator("#timeline li[data-action='edit'] tr[data-field='phone']")
    expect(change.locator("td.after")).to_have_text("139****4321")
    expect(page.locator("#edit-link")).to_have_count(0)

    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []
    refused = [e for e in page_log.console_errors if "422" in e]
    assert len(refused) == 1 and len(page_log.console_errors) == 1, page_log.console_errors


def test_the_county_clerk_clears_fields_and_adds_a_household_s_eighth_member(page, page_log, live_server, tree,
                                                                             api_as):
    """Emptied optional inputs clear their fields (the needs, the bank card); an emptied required one is refused
    as required; the correction page has member rows up to the household's limit of 20."""
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    members = [make_id(male=False) for _ in range(6)]
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=make_id(), members=members))
    assert resp.status_code == 201, resp.json
    hid = resp.json["id"]

    log_in(page, "k_clerk")
    page.goto(f"/t/K0101/archive/{hid}/edit")
    expect(page.locator("#members tbody tr")).to_have_count(20)
    expect(page.locator("#needs")).to_have_value("医疗救助")
    page.fill("#address", "")
    page.fill("#reason", "信息更正")
    page.click("#save")  # the address is required: refused as such, nothing saved
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error")).to_contain_text("此项必填")
    page.fill("#address", "石家庄市长安区建设北大街2号")
    page.fill("#needs", "")
    page.fill("#bank_name", "")
    page.fill("#card_number", "")
    new_member = make_id()
    page.fill("#member_7_name", "王八")
    page.fill("#member_7_id_number", new_member)
    page.select_option("#member_7_relation", "sibling")
    page.fill("#reason", "信息更正")
    page.click("#save")
    expect(page).to_have_url(f"{live_server}/t/K0101/archive/{hid}#history")
    expect(page.locator("#card-number")).to_have_text("")
    expect(page.locator("#people tbody tr")).to_have_count(8)
    expect(page.locator("#people")).to_contain_text("王八")
    change = page.locator("#timeline li[data-action='edit'] tr[data-field='card_number']")
    expect(change.locator("td.before")).to_have_text("6222020200112233446")
    expect(change.locator("td.after")).to_have_text("—")
    expect(page.locator("#timeline li[data-action='edit'] tr[data-field='needs'] td.after")).to_have_text("—")
    detail = api_as("k_clerk").get(f"/api/v1/households/{hid}").json
    assert detail["needs"] == "" and detail["bank"]["card_number"] is None and len(detail["members"]) == 7

    assert page_log.foreign_requests(live_server) == []
    assert page_log.page_errors == []
