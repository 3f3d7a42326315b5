"""Filing reports upward (SPEC 6.4): on time, late, missing, returned and refiled; the frozen snapshot; who may
decide; isolation; bad input; the figures built from the children's accepted reports."""

from __future__ import annotations

import pytest

from tests.fixtures.households import household_body, make_id
from tests.reports.conftest import clock

MONTHLY = {"tenant": "K0101", "form": "monthly_funds", "year": 2026, "month": 11}


def file(api_as, monkeypatch, user="k0101_all", when="2026-12-03T04:00:00", **overrides):
    """File as ``user`` on ``when`` (its token made then, so that it has not expired by then)."""
    with clock(monkeypatch, when):
        return api_as(user).post("/api/v1/reports/filings", json={**MONTHLY, **overrides})


def board(api, query="tenant=C01&form=monthly_funds&year=2026&month=11"):
    resp = api.get(f"/api/v1/reports/board?{query}")
    assert resp.status_code == 200, resp.json
    return {row["tenant"]: row for row in resp.json["items"]}


def count_filings(app) -> tuple[int, int]:
    import sqlalchemy as sa

    from hardship.core.db import db
    from tenants.scoping import system_scope

    with app.app_context(), system_scope():
        return (db.session.execute(sa.text("select count(*) from report_filings")).scalar(),
                db.session.execute(sa.text("select count(*) from report_filing_events")).scalar())


def test_on_time_late_and_missing(tree, api_as, monkeypatch):
    resp = file(api_as, monkeypatch)
    assert resp.status_code == 201, resp.json
    assert (resp.json["version"], resp.json["status"], resp.json["late"]) == (1, "filed", False)
    assert resp.json["due_on"] == "2026-12-05" and resp.json["status_label"] == "已上报"
    resp = file(api_as, monkeypatch, user="k0102_all", when="2026-12-07T04:00:00", tenant="K0102")
    assert resp.status_code == 201 and resp.json["late"] is True
    with clock(monkeypatch, "2026-12-07T04:00:00"):
        rows = board(api_as("c01_all"))
    assert {code: row["status"] for code, row in rows.items()} == {"K0101": "on_time", "K0102": "late"}
    assert rows["K0101"]["status_label"] == "按时上报" and rows["K0102"]["status_label"] == "逾期上报"
    # October: nobody filed; past its due date that is missing, before it not yet due
    with clock(monkeypatch, "2026-11-07T04:00:00"):
        rows = board(api_as("c01_all"), "tenant=C01&form=monthly_funds&year=2026&month=10")
    assert {code: row["status"] for code, row in rows.items()} == {"K0101": "missing", "K0102": "missing"}
    with clock(monkeypatch, "2026-11-03T04:00:00"):
        rows = board(api_as("c01_all"), "tenant=C01&form=monthly_funds&year=2026&month=10")
    assert {row["status"] for row in rows.values()} == {"not_due"}


def test_the_parent_setting_moves_the_due_day(tree, api_as, monkeypatch):
    assert api_as("c01_all").put("/api/v1/tenants/C01/settings", json={"monthly_filing_day": 10}).status_code == 200
    resp = file(api_as, monkeypatch, when="2026-12-08T04:00:00")
    assert resp.status_code == 201 and resp.json["due_on"] == "2026-12-10" and resp.json["late"] is False


def test_returned_then_refiled_then_accepted(tree, api_as, monkeypatch):
    county, city = api_as("k0101_all"), api_as("c01_all")
    first = file(api_as, monkeypatch).json
    resp = city.post(f"/api/v1/reports/filings/{first['id']}/decision", json={"action": "return", "reason": "数字有误"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["status"], resp.json["return_reason"]) == ("returned", "数字有误")
    assert board(city)["K0101"]["status"] == "returned"
    second = file(api_as, monkeypatch, when="2026-12-04T04:00:00").json
    assert second["version"] == 2 and second["status"] == "filed"
    # the old version can no longer be decided; the new one can
    assert city.post(f"/api/v1/reports/filings/{first['id']}/decision", json={"action": "accept"}).status_code == 409
    resp = city.post(f"/api/v1/reports/filings/{second['id']}/decision", json={"action": "accept"})
    assert resp.status_code == 200 and resp.json["status"] == "accepted"
    assert board(city)["K0101"]["status"] == "accepted"
    listed = county.get("/api/v1/reports/filings?tenant=K0101&form=monthly_funds&year=2026&month=11").json["items"]
    assert [(f["version"], f["status"]) for f in listed] == [(2, "accepted"), (1, "returned")]
    # accepted: no third version
    assert file(api_as, monkeypatch).status_code == 409


def test_the_snapshot_is_frozen(tree, api_as, monkeypatch):
    county = api_as("k0101_all")
    resp = file(api_as, monkeypatch, month=12, when="2026-12-03T04:00:00")
    assert resp.status_code == 201, resp.json
    before = resp.json["snapshot"]
    with clock(monkeypatch, "2026-12-04T04:00:00"):
        body = household_body("K0101", head_id=make_id())
        assert county.post("/api/v1/households", json=body).status_code == 201
    live = county.get("/api/v1/reports/summary?tenant=K0101&year=2026&month=12").json
    assert live["households"]["by_status"]["applied"] == before["households"]["by_status"]["applied"] + 1
    again = county.get(f"/api/v1/reports/filings/{resp.json['id']}").json["snapshot"]
    assert again == before


def test_a_child_cannot_decide_its_own_report_and_a_sibling_sees_nothing(tree, api_as, monkeypatch, app):
    filing = file(api_as, monkeypatch).json
    resp = api_as("k0101_all").post(f"/api/v1/reports/filings/{filing['id']}/decision", json={"action": "accept"})
    assert resp.status_code == 403, resp.json
    for user in ("k0102_all", "c02_all"):
        assert api_as(user).get(f"/api/v1/reports/filings/{filing['id']}").status_code == 404
        resp = api_as(user).post(f"/api/v1/reports/filings/{filing['id']}/decision", json={"action": "accept"})
        assert resp.status_code == 404
    # the province is above the county's parent: it reads it but does not decide it
    assert api_as("p01_all").get(f"/api/v1/reports/filings/{filing['id']}").status_code == 200
    resp = api_as("p01_all").post(f"/api/v1/reports/filings/{filing['id']}/decision", json={"action": "accept"})
    assert resp.status_code == 403
    assert count_filings(app) == (1, 1)


def test_a_union_files_only_its_own_reports(tree, api_as, monkeypatch, app):
    assert file(api_as, monkeypatch, user="c01_all").status_code == 403  # K0101's report, by the city
    assert file(api_as, monkeypatch, user="k0102_all").status_code == 404  # a sibling's
    assert count_filings(app) == (0, 0)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"form": "yearly_everything"}, "form", "送温暖活动统计表"),
    ({"month": 13}, "month", ""),
    ({"month": None}, "month", "月度报表须填写月份"),
    ({"form": "relief_progress"}, "month", "年度报表不填月份"),
    ({"year": "二〇二六"}, "year", ""),
    ({"month": 12, "year": 2027}, "month", "报告期尚未开始"),
])
def test_bad_filings(tree, api_as, monkeypatch, app, body, field, message):
    resp = file(api_as, monkeypatch, **body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["error"]["fields"], resp.json
    text = " ".join(resp.json["error"]["fields"][field])
    assert message in text and any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    assert count_filings(app) == (0, 0)


def test_bad_decisions(tree, api_as, monkeypatch, app):
    filing = file(api_as, monkeypatch).json
    city = api_as("c01_all")
    for body, field in (({"action": "return"}, "reason"), ({"action": "return", "reason": "  "}, "reason"),
                        ({"action": "approve"}, "action"), ({}, "action")):
        resp = city.post(f"/api/v1/reports/filings/{filing['id']}/decision", json=body)
        assert resp.status_code == 422, resp.json
        assert field in resp.json["error"]["fields"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in " ".join(resp.json["error"]["fields"][field]))
    assert city.get(f"/api/v1/reports/filings/{filing['id']}").json["status"] == "filed"
    assert count_filings(app) == (1, 1)
    assert city.post("/api/v1/reports/filings/999999/decision", json={"action": "accept"}).status_code == 404


def test_annual_forms_are_due_on_the_parents_deadline(tree, api_as, monkeypatch):
    resp = api_as("c01_all").put("/api/v1/tenants/C01/settings",
                                 json={"annual_filing_deadline": {"month": 1, "day": 20}})
    assert resp.status_code == 200, resp.json
    resp = file(api_as, monkeypatch, when="2027-01-25T04:00:00", form="center_annual", month=None)
    assert resp.status_code == 201, resp.json
    assert resp.json["month"] is None and resp.json["due_on"] == "2027-01-20" and resp.json["late"] is True


def test_built_from_the_childrens_accepted_reports(tree, api_as, monkeypatch):
    county, city = api_as("k0101_all"), api_as("c01_all")
    with clock(monkeypatch, "2026-11-10T04:00:00"):
        assert county.post("/api/v1/households", json=household_body("K0101", head_id=make_id())).status_code == 201
    filing = file(api_as, monkeypatch).json
    assert city.post(f"/api/v1/reports/filings/{filing['id']}/decision", json={"action": "accept"}).status_code == 200
    query = "tenant=C01&form=monthly_funds&year=2026&month=11"
    with clock(monkeypatch, "2026-12-03T05:00:00"):
        result = city.get(f"/api/v1/reports/built?{query}").json
    rows = {r["figure"]: r for r in result["rows"]}
    applied = rows["households.by_status.applied"]
    assert (applied["built"], applied["live"], applied["differs"]) == (1, 1, False)
    assert applied["label"] == "户数 · 申请中" or "·" in applied["label"]
    assert {c["tenant"]: c["accepted"] for c in result["children"]} == {"K0101": True, "K0102": False}
    # a household registered later (back-dated into November's records) shows as a difference
    with clock(monkeypatch, "2026-11-20T04:00:00"):
        assert county.post("/api/v1/households", json=household_body("K0101", head_id=make_id())).status_code == 201
    with clock(monkeypatch, "2026-12-03T06:00:00"):
        rows = {r["figure"]: r for r in city.get(f"/api/v1/reports/built?{query}").json["rows"]}
    assert (rows["households.by_status.applied"]["built"], rows["households.by_status.applied"]["live"]) == (1, 2)
    assert rows["households.by_status.applied"]["differs"] is True
    assert not any(r["differs"] for name, r in rows.items() if name != "households.by_status.applied")


def xlsx_table(data: bytes):
    """A form's workbook: its header line and ``{header: [values per row]}``."""
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    return ws.cell(2, 1).value, {h: [r[i] for r in rows] for i, h in enumerate(c.value for c in ws[3])}


def filed_sheet(api, filing_id: int) -> tuple[dict, dict]:
    """A filed version's form by the API (its ``sheet``) and its workbook as ``{header: [values per row]}``."""
    sheet = api.get(f"/api/v1/reports/filings/{filing_id}").json["sheet"]
    resp = api.get(f"/api/v1/reports/filings/{filing_id}.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"), resp.status_code
    header, table = xlsx_table(resp.data)
    assert "上报版本：第1版" in header
    return sheet, table


def live_sheet(api, query: str) -> dict:
    resp = api.get(f"/api/v1/reports/forms/{query}")
    assert resp.status_code == 200, resp.status_code
    header, table = xlsx_table(resp.data)
    assert "上报版本" not in header
    return table


def test_the_form_is_frozen_with_the_filing(tree, api_as, monkeypatch, client, login):
    """The form's columns from other modules (the desk's kinds, the ledger's statement) are frozen too: after a
    desk case and a receipt, the live forms change and the filed versions' forms, pages and workbooks do not."""
    from tests.fixtures.funds import post, receipt

    county = api_as("k0101_all")
    annual = file(api_as, monkeypatch, form="center_annual", month=None).json
    monthly = file(api_as, monkeypatch).json
    before = {f["id"]: filed_sheet(county, f["id"]) for f in (annual, monthly)}
    assert before[annual["id"]][0]["rows"][-1][1] == "合计"
    live_before = live_sheet(county, "center_annual.xlsx?tenant=K0101&year=2026")
    assert before[annual["id"]][1]["信访接待件数"] == live_before["信访接待件数"]
    with clock(monkeypatch, "2026-12-04T04:00:00"):
        resp = county.post("/api/v1/cases", json={
            "tenant": "K0101", "kind": "petition", "channel": "visit", "category": "labour_dispute",
            "person": {"name": "钱七", "phone": "13812345678"}, "subject": "咨询", "received_on": "2026-11-21",
            "deadline": "2027-06-30"})
        assert resp.status_code == 201, resp.json
        resp = post(county, "receipt", receipt(tenant="K0101", amount="500.00", source="own_funds",
                                               date="2026-11-10"))
        assert resp.status_code == 201, resp.json
    live = live_sheet(county, "center_annual.xlsx?tenant=K0101&year=2026")
    assert live["信访接待件数"][-1] == live_before["信访接待件数"][-1] + 1
    live_monthly = live_sheet(county, "monthly_funds.xlsx?tenant=K0101&year=2026&month=11")
    assert live_monthly["本月收入：本级工会经费"] != before[monthly["id"]][1]["本月收入：本级工会经费"]
    for f in (annual, monthly):
        assert filed_sheet(county, f["id"]) == before[f["id"]]
    # the page shows the form as filed and links its workbook
    login("k0101_all")
    html = client.get(f"/t/K0101/reports/filings/{annual['id']}", headers={"Accept-Language": "zh"}).get_data(
        as_text=True)
    assert "信访接待件数" in html and f"/t/K0101/reports/filings/{annual['id']}.xlsx" in html
    assert client.get(f"/t/K0101/reports/filings/{annual['id']}.xlsx").status_code == 200


def test_a_version_filed_before_forms_were_kept_still_shows(tree, api_as, monkeypatch, app, client, login):
    import sqlalchemy as sa

    from hardship.core.db import db
    from tenants.scoping import system_scope

    filing = file(api_as, monkeypatch).json
    with app.app_context(), system_scope():
        db.session.execute(sa.text("update report_filings set sheet = NULL"))
        db.session.commit()
    county = api_as("k0101_all")
    resp = county.get(f"/api/v1/reports/filings/{filing['id']}")
    assert resp.status_code == 200 and resp.json["sheet"] is None and resp.json["snapshot"] == filing["snapshot"]
    assert county.get(f"/api/v1/reports/filings/{filing['id']}.xlsx").status_code == 404
    login("k0101_all")
    page = client.get(f"/t/K0101/reports/filings/{filing['id']}", headers={"Accept-Language": "zh"})
    assert page.status_code == 200 and 'id="sheet-missing"' in page.get_data(as_text=True)
