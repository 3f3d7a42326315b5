"""An audit log an auditor reads (issue 14 item 5): Chinese action names, records as labelled links, details as
labelled fields, filters by action name, user, union, dates and record, an xlsx export with text as text."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest

from hardship.aid.audit_actions import ACTIONS as AID_STEPS
from hardship.archives.operations import ACTIONS as TRANSITIONS
from hardship.audit import registry
from hardship.funds.models import KINDS
from hardship.goods.models import MOVEMENT_KINDS
from tests.fixtures.funds import allocation, post, receipt
from tests.fixtures.households import household_body

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r'audit\.(?:record|write)\(\s*f?"([^"]+)"')


def test_every_action_written_has_a_name(app):
    """Each action the code writes is declared with its name (the f-string ones for each value they take)."""
    written = set()
    for path in [*ROOT.joinpath("hardship").rglob("*.py"), *ROOT.joinpath("tenants").rglob("*.py")]:
        written |= set(CALL.findall(path.read_text(encoding="utf-8")))
    assert "tenant.create" in written and "funds.{kind}" in written  # the scan finds them
    expanded = set()
    for code in written:
        if code == "household.{action}":
            expanded |= {f"household.{a}" for a in TRANSITIONS}
        elif code == "funds.{kind}":
            expanded |= {f"funds.{k}" for k in KINDS}
        elif code == "goods.{kind}":
            expanded |= {f"goods.{k}" for k in MOVEMENT_KINDS}
        elif code == "aid.{action}":
            expanded |= {f"aid.{a}" for a in AID_STEPS}
        elif code == "desk.{action}":
            from hardship.desk.models import ACTIONS as DESK_ACTIONS

            expanded |= {f"desk.{a}" for a in DESK_ACTIONS}
        else:
            expanded.add(code)
    assert expanded - set(registry.ACTIONS) == set()


@pytest.fixture
def activity(tree, api_as):
    """An allocation whose 文号 is a formula, a registered household, a settings change and a new union."""
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("C01", roles=("auditor",), username="c01_aud")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt()).status_code == 201
    assert post(fin, "allocation", allocation(document_no='=HYPERLINK("http://x","点击查看")',
                                              amount="12345.60")).status_code == 201
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body())
    assert resp.status_code == 201, resp.json
    assert api_as("c01_all").put("/api/v1/tenants/C01/settings", json={"publicity_days": 8}).status_code == 200
    assert api_as("c01_all").post("/api/v1/tenants", json={"parent": "K0101", "code": "E0101005", "name": "某厂工会",
                                                           "level": "enterprise"}).status_code == 201
    return resp.json


def _visible(html: str) -> str:
    """The text a person reads: tags, attributes, scripts and styles removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_reads_in_chinese(client, login, activity):
    login("c01_aud")
    text = _visible(client.get("/t/C01/audit").get_data(as_text=True))
    for words in ["下拨", "财社", "12,345.60 元", "修改参数设置", "公示期", "5 天", "8 天", "新建单位", "某厂工会",
                  "登记申请", "资金业务"]:
        assert words in text, words
    name = activity["head"]["name"]
    assert f"{name[0]}{'*' * (len(name) - 1)}" in text and name not in text  # the household by its masked name
    for leak in ["funds.allocation", "settings.update", "tenant.create", "FundTransaction", "publicity_days",
                 "{\"", "document_no", "household.apply"]:
        assert leak not in text, leak


def test_records_link_to_their_pages(client, login, activity):
    login("c01_aud")
    html = client.get("/t/C01/audit").get_data(as_text=True)
    assert f'href="/t/C01/archive/{activity["id"]}"' in html
    assert "/t/C01/funds/transactions?document_no=" in html
    history = client.get(f"/t/C01/audit?record_type=Household&record_id={activity['id']}").get_data(as_text=True)
    assert "登记申请" in _visible(history) and "修改参数设置" not in _visible(history)


@pytest.mark.parametrize("query, present, absent", [
    ("action=下拨", "funds.allocation", "settings.update"),
    ("action=funds.allocation", "funds.allocation", "funds.receipt"),
    ("action=参数", "settings.update", "funds.allocation"),
    ("user=e_clerk", "household.apply", "funds.allocation"),
    ("union=E0101001", "household.apply", "settings.update"),
])
def test_filters(api_as, activity, query, present, absent):
    events = api_as("c01_aud").get(f"/api/v1/audit?tenant=C01&{query}").json["events"]
    actions = {e["action"] for e in events}
    assert present in actions and absent not in actions


def test_date_filter_and_bad_filters(api_as, activity):
    auditor = api_as("c01_aud")
    assert auditor.get("/api/v1/audit?tenant=C01&date_to=2001-01-01").json["events"] == []
    assert auditor.get("/api/v1/audit?tenant=C01&date_from=2001-01-01").json["events"]
    bad = auditor.get("/api/v1/audit?tenant=C01&date_from=yesterday")
    assert bad.status_code == 422 and "date_from" in bad.json["error"]["fields"]
    assert auditor.get("/api/v1/audit?tenant=C01&union=K0201").status_code == 404  # outside the subtree
    assert auditor.get("/api/v1/audit?tenant=C01&action=没有这种操作").json["events"] == []


def test_api_gives_names_and_labelled_details(api_as, activity):
    events = api_as("c01_aud").get("/api/v1/audit?tenant=C01&action=funds.allocation").json["events"]
    (event,) = events
    assert event["action_label"] == "资金记账：下拨" and event["tenant_name"] == "C01工会"
    assert event["record_kind"] == "资金业务" and "12,345.60 元" in event["record_label"]
    fields = {f["label"]: f["value"] for f in event["detail_fields"]}
    assert fields["金额"] == "12,345.60 元" and fields["资金来源"] == "中央财政"
    en = api_as("c01_aud", lang="en").get("/api/v1/audit?tenant=C01&action=settings.update").json["events"]
    assert en[0]["action_label"] == "Settings changed"
    assert {f["label"]: f["value"] for f in en[0]["detail_fields"]} == {
        "Before": "Publicity period (days): 5 days", "After": "Publicity period (days): 8 days"}


def test_page_shows_a_bad_filter_instead_of_failing(client, login, activity):
    login("c01_aud")
    page = client.get("/t/C01/audit?date_from=not-a-date")
    assert page.status_code == 200 and "日期" in _visible(page.get_data(as_text=True))


def test_export_is_readable_and_text_stays_text(client, login, api_as, activity):
    login("c01_aud")
    resp = client.get("/t/C01/audit/export.xlsx?action=下拨")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("时间", "工会", "用户", "操作", "记录", "详情")
    assert len(rows) == 2 and rows[1][3] == "资金记账：下拨"
    assert '=HYPERLINK("http://x","点击查看")' in rows[1][5]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    exported = api_as("c01_aud").get("/api/v1/audit?tenant=C01&action=audit.export").json["events"]
    assert exported and {f["label"] for f in exported[0]["detail_fields"]} == {"总行数", "筛选条件"}


def test_export_needs_the_audit_right(client, login, tree):
    tree.user("C01", roles=("clerk",), username="c01_clerk")
    login("c01_clerk")
    assert client.get("/t/C01/audit/export.xlsx").status_code == 403
