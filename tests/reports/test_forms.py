"""The four report forms of SPEC 6.3 as xlsx, on the hand-computed tree of ``conftest.city`` (C01 with K0101 and
K0102), opened with openpyxl: title, header, units and number formats, the rows and the total, no formulas, A4
landscape; bad input; the command line."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest

#: the first data row (title, header line and column headers above it)
FIRST = 4


def workbook(api_as, form, query="tenant=C01&year=2026", user="c01_all"):
    resp = api_as(user).get(f"/api/v1/reports/forms/{form}.xlsx?{query}")
    assert resp.status_code == 200, resp.json if resp.is_json else resp.status_code
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(resp.data)).active


def table(ws) -> dict:
    """``{header: [values of the rows K0101, K0102, own, total]}``."""
    headers = [c.value for c in ws[FIRST - 1]]
    rows = list(ws.iter_rows(min_row=FIRST, values_only=True))
    return {h: [r[i] for r in rows] for i, h in enumerate(headers)}


#: the columns each form leaves blank until the summary counts them (hardship/reports/formsheets.py)
NOT_COUNTED = {
    "送温暖活动统计表": {"其中建档困难职工户数", "其中建档困难职工金额", "慰问困难劳模人数", "慰问困难劳模金额",
                   "慰问一线职工人数", "慰问一线职工金额", "慰问农民工人数", "慰问农民工金额"},
    "困难职工帮扶中心统计表": {"法律援助件数", "职业介绍人次", "职业介绍成功人次", "技能培训人次"},
    "帮扶资金物资收支明细表": {"上月结余", "本月收入：中央财政", "本月收入：省级财政", "本月收入：上级工会下拨",
                      "本月收入：地方财政配套", "本月收入：本级工会经费", "本月收入：社会捐赠", "本月下拨", "本月退回",
                      "本月结余", "物资收入（折款）", "物资发放（折款）", "物资库存（折款）"},
}


def check_sheet(ws, title, unit):
    assert ws["A1"].value == title
    assert "C01" in ws["A2"].value and "2026" in ws["A2"].value and f"金额单位：{unit}" in ws["A2"].value
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    t = table(ws)
    assert t["单位代码"] == ["K0101", "K0102", "C01", None]
    assert t["单位"][2].endswith("（本级）") and t["单位"][3] == "合计"
    for header, values in t.items():
        if header in ("单位代码", "单位") or "率" in header:
            continue
        if header in NOT_COUNTED.get(title, ()):  # no source yet: blank, never a made-up 0
            assert values == [None] * 4, (header, values)
            continue
        assert all(isinstance(v, int | float) for v in values), (header, values)
        assert values[3] == pytest.approx(sum(values[:3])), header
    return t


def money_format(ws, header) -> str:
    col = [c.value for c in ws[FIRST - 1]].index(header) + 1
    return ws.cell(FIRST, col).number_format


def test_warmth(city, api_as):
    ws = workbook(api_as, "warmth")
    t = check_sheet(ws, "送温暖活动统计表", "万元")
    # K0101's warmth batch: two recipients, 900.00 cash (0.09 万元) and 100.00 of rice, drawn on central finance
    assert t["慰问困难职工户数"] == [2, 0, 0, 2]
    assert t["慰问困难职工金额"] == pytest.approx([0.09, 0, 0, 0.09])
    assert t["物资折款"] == pytest.approx([0.01, 0, 0, 0.01])
    assert t["资金来源：中央财政"] == pytest.approx([0.09, 0, 0, 0.09])
    assert t["资金来源：社会捐赠"] == [0, 0, 0, 0]
    assert t["合计"] == pytest.approx([0.1, 0, 0, 0.1])
    assert money_format(ws, "合计") == "#,##0.0000"
    assert money_format(ws, "慰问困难职工户数") == "#,##0"


def test_center_annual(city, api_as):
    ws = workbook(api_as, "center_annual")
    t = check_sheet(ws, "困难职工帮扶中心统计表", "万元")
    assert t["在档困难职工户数：深度"] == [2, 0, 0, 2]
    assert t["在档困难职工户数：相对"] == [1, 0, 0, 1]
    assert t["在档困难职工户数：意外"] == [1, 0, 0, 1]
    assert t["本年新建档"] == [4, 0, 0, 4]
    assert t["本年解困"] == [1, 0, 0, 1]
    assert t["本年脱困"] == [1, 0, 0, 1]
    assert t["返困"] == [0, 1, 0, 1]
    assert t["送温暖户次"] == [2, 0, 0, 2]
    assert t["送温暖金额"] == pytest.approx([0.09, 0, 0, 0.09])
    assert t["信访接待件数"] == [2, 0, 1, 3]
    assert t["办结率（%）"] == pytest.approx([0.5, 0, 0, 0.3333])
    assert money_format(ws, "办结率（%）") == "0.00%"
    assert t["帮扶资金收入"] == pytest.approx([0.5, 0, 10, 10.5])
    assert t["帮扶资金支出"] == pytest.approx([0.01, 0, 0, 0.01])
    assert t["帮扶资金结余"] == pytest.approx([3.47, 0, 7, 10.47])


def test_monthly_funds_in_yuan(city, api_as):
    ws = workbook(api_as, "monthly_funds", "tenant=C01&year=2026&month=12")
    assert "2026年12月" in ws["A2"].value
    t = check_sheet(ws, "帮扶资金物资收支明细表", "元")
    assert t["本月支出：送温暖"] == pytest.approx([900, 0, 0, 900])
    assert t["本月支出：生活救助"] == [0, 0, 0, 0]
    assert money_format(ws, "本月支出：送温暖") == "#,##0.00"
    november = table(workbook(api_as, "monthly_funds", "tenant=C01&year=2026&month=11"))
    assert november["本月支出：送温暖"] == [0, 0, 0, 0]


def test_relief_progress(city, api_as):
    ws = workbook(api_as, "relief_progress")
    t = check_sheet(ws, "解困脱困工作进度表", "万元")
    # archived in 2025: h1 (K0101) and h3 (K0102); h5 was archived on 2026-01-01 Shanghai time
    assert t["年初在档户数"] == [1, 1, 0, 2]
    assert t["本年新建档"] == [4, 0, 0, 4]
    assert t["本年解困"] == [1, 0, 0, 1]
    assert t["本年脱困"] == [1, 0, 0, 1]
    assert t["本年返困"] == [0, 1, 0, 1]
    assert t["年末在档户数"] == [4, 0, 0, 4]
    # relieved (exited) over the households served: 年初在档 + 本年新建档
    assert t["解困率（%）"] == pytest.approx([0.2, 0, 0, 1 / 6], abs=1e-4)
    assert t["脱困率（%）"] == pytest.approx([0.2, 0, 0, 1 / 6], abs=1e-4)


def test_a_county_form_and_the_audit_log(city, api_as, app):
    ws = workbook(api_as, "warmth", "tenant=K0101&year=2026", user="k0101_all")
    t = table(ws)
    assert t["单位代码"] == ["E0101001", "K0101", None]
    assert t["慰问困难职工户数"] == [2, 0, 2]
    from sqlalchemy import select

    from hardship.audit.models import AuditEvent
    from hardship.core.db import db
    from tests.conftest import system

    with system(app):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "reports.export_form")).all()
        assert [e.detail["form"] for e in events] == ["送温暖活动统计表"]


@pytest.mark.parametrize("path, status, field", [
    ("/api/v1/reports/forms/nonsense.xlsx?tenant=C01&year=2026", 404, None),
    ("/api/v1/reports/forms/monthly_funds.xlsx?tenant=C01&year=2026", 422, "month"),
    ("/api/v1/reports/forms/monthly_funds.xlsx?tenant=C01&year=2026&month=13", 422, "month"),
    ("/api/v1/reports/forms/warmth.xlsx?tenant=C01&year=1999", 422, "year"),
    ("/api/v1/reports/forms/warmth.xlsx?tenant=C01", 422, "year"),
    ("/api/v1/reports/forms/warmth.xlsx?year=2026", 422, "tenant"),
    ("/api/v1/reports/forms/warmth.xlsx?tenant=X999&year=2026", 404, None),
])
def test_bad_input_in_chinese(tree, api_as, path, status, field):
    resp = api_as("c01_all", lang="zh").get(path)
    assert resp.status_code == status, resp.json
    error = resp.json["error"]
    text = " ".join(error["fields"][field]) if field else error["message"]
    if field:
        assert list(error["fields"]) == [field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text


def test_outside_the_subtree_is_404(city, api_as):
    assert api_as("k0101_all").get("/api/v1/reports/forms/warmth.xlsx?tenant=C01&year=2026").status_code == 404


def test_the_command_line_writes_the_same_form(app, city, api_as, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "form.xlsx"
    result = runner.invoke(args=["hardship", "reports", "form", "center_annual", "--tenant", "C01", "--year", "2026",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert table(openpyxl.load_workbook(out).active) == table(workbook(api_as, "center_annual"))
    bad = runner.invoke(args=["hardship", "reports", "form", "monthly_funds", "--tenant", "C01", "--year", "2026",
                              "--out", str(tmp_path / "x.xlsx")])
    assert bad.exit_code == 2 and "month" in bad.output
    unknown = runner.invoke(args=["hardship", "reports", "form", "nonsense", "--tenant", "C01", "--year", "2026",
                                  "--out", str(tmp_path / "y.xlsx")])
    assert unknown.exit_code == 2


def test_the_summary_page_links_the_forms(city, client, login):
    login("c01_all")
    page = client.get("/t/C01/reports/summary?year=2026", headers={"Accept-Language": "zh"})
    text = page.get_data(as_text=True)
    for title in ("送温暖活动统计表", "困难职工帮扶中心统计表", "解困脱困工作进度表"):
        assert title in text
    assert 'id="form-monthly_funds"' not in text  # the monthly form needs a month
    resp = client.get("/t/C01/reports/forms/center_annual.xlsx?year=2026")
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "困难职工帮扶中心统计表"
    monthly = client.get("/t/C01/reports/summary?year=2026&month=12").get_data(as_text=True)
    assert 'id="form-monthly_funds"' in monthly
    assert client.get("/t/C01/reports/forms/monthly_funds.xlsx?year=2026&month=12").status_code == 200
    assert client.get("/t/C01/reports/forms/nonsense.xlsx?year=2026").status_code == 404


# ---------------------------------------------------------------- province-wide: a job with progress

def test_a_province_wide_form_is_a_job(city, api_as):
    api = api_as("p01_all", lang="zh")
    refused = api.get("/api/v1/reports/forms/warmth.xlsx?tenant=P01&year=2026")
    assert refused.status_code == 409 and "/jobs" in refused.json["error"]["message"]
    resp = api.post("/api/v1/reports/forms/warmth/jobs", json={"tenant": "P01", "year": 2026})
    assert resp.status_code == 202, resp.json
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json  # inline without REDIS_URL: already done
    assert job["status"] == "finished" and job["progress"] == 1.0 and job["has_output"], job
    out = api.get(f"/api/v1/jobs/{resp.json['job']}/output")
    assert out.status_code == 200
    t = table(openpyxl.load_workbook(io.BytesIO(out.data)).active)
    assert t["单位代码"] == ["C01", "C02", "P01", None]
    assert t["慰问困难职工户数"] == [2, 0, 0, 2]
    assert api.post("/api/v1/reports/forms/nonsense/jobs", json={"tenant": "P01", "year": 2026}).status_code == 404
    bad = api.post("/api/v1/reports/forms/monthly_funds/jobs", json={"tenant": "P01", "year": 2026})
    assert bad.status_code == 422 and list(bad.json["error"]["fields"]) == ["month"]


def test_a_large_union_is_a_job_too(city, api_as, app):
    app.config["REPORT_FORM_INLINE_LIMIT"] = 1
    try:  # C01 has three descendants
        assert api_as("c01_all").get("/api/v1/reports/forms/warmth.xlsx?tenant=C01&year=2026").status_code == 409
    finally:
        app.config.pop("REPORT_FORM_INLINE_LIMIT")


REDIS_URL = os.environ.get("REDIS_URL")


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_the_job_on_a_real_worker(rq_worker, city, api_as, app):
    from redis import Redis
    from rq import Queue

    from tests.conftest import TEST_CONFIG

    app.config["REDIS_URL"] = REDIS_URL
    queue = Queue(TEST_CONFIG["RQ_QUEUE_PREFIX"] + "reports", connection=Redis.from_url(REDIS_URL))
    queue.delete(delete_jobs=True)
    try:
        api = api_as("p01_all")
        resp = api.post("/api/v1/reports/forms/monthly_funds/jobs", json={"tenant": "P01", "year": 2026, "month": 12})
        assert resp.status_code == 202 and resp.json["status"] == "queued", resp.json
        assert queue.count == 1
        proc = rq_worker()
        assert proc.returncode == 0, proc.stdout + proc.stderr
        job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
        assert job["status"] == "finished", job
        out = api.get(f"/api/v1/jobs/{resp.json['job']}/output")
        t = table(openpyxl.load_workbook(io.BytesIO(out.data)).active)
        assert t["本月支出：送温暖"] == pytest.approx([900, 0, 0, 900])
    finally:
        queue.delete(delete_jobs=True)
        app.config["REDIS_URL"] = None
