"""In a real browser: an enterprise clerk uploads a workbook of items on the draft batch's page, sees the job's
result and the added items there, downloads nothing it should not, and reads the verdicts on the job's page."""

from __future__ import annotations

import pytest

from tests.aid.conftest import archived_household, warmth
from tests.aid.test_aid_upload import head_id, to_xlsx
from tests.fixtures.browser import expect

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser


def test_upload_items_on_the_batch_page(app, page, page_log, live_server, county, api_as, tmp_path):
    from tests.conftest import PASSWORD

    program = warmth(api_as)
    households = [archived_household(api_as, name=name) for name in ("张三", "李四")]
    ids = [head_id(app, h) for h in households]
    resp = api_as("e_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={"tenant": "E0101001"})
    assert resp.status_code == 201, resp.json
    batch = resp.json["id"]
    path = tmp_path / "发放名单.xlsx"
    path.write_bytes(to_xlsx([["建档困难职工", ids[0], "张三", "", "春节慰问", "600.00"],
                              ["建档困难职工", ids[1], "李四", "", "", "599.99"]]))

    page.goto("/login")
    page.fill("#username", "e_clerk")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.goto(f"/t/E0101001/aid/batches/{batch}")
    expect(page.locator("#visits")).to_contain_text("尚无回访记录")
    page.set_input_files("#items-upload input[type=file]", str(path))
    page.click("#items-upload-submit")
    expect(page.locator("#uploads")).to_contain_text("发放名单.xlsx")
    expect(page.locator("#uploads .job-status")).to_have_attribute("data-status", "finished")
    expect(page.locator("#items")).to_contain_text("张三")
    expect(page.locator("#items")).not_to_contain_text("李四")
    expect(page.locator("#batch")).to_contain_text("600.00 元")
    expect(page.locator("#uploads")).to_contain_text("下载检查结果")
    page.click("#uploads td a")
    expect(page.locator("#job-verdicts")).to_contain_text("低于标准")
    expect(page.locator("#job-verdicts")).to_contain_text("金额")
