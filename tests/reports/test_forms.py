"""The four report forms of SPEC 6.3 as xlsx, on the hand-computed tree of ``conftest.city`` (C01 with K0101 and
K0102), opened with openpyxl: title, header, units and number formats, the rows and the total, no formulas, A4
landscape; bad input; the command line."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest

from tests.aid.conftest import archived_household, warmth
from tests.conftest import system
from tests.fixtures.funds import post, refund
from tests.fixtures.goods import item_body, key, purchase

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


#: the columns each form leaves blank for want of a source (hardship/reports/formsheets.py): none at present
NOT_COUNTED: dict[str, set[str]] = {}


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
    # K0101's warmth batch: h1 (archived, 600.00) and a frontline worker (300.00 and 100.00 of rice), drawn on
    # central finance; the frontline worker is not a hardship worker (困难职工)
    assert t["慰问困难职工户数"] == [1, 0, 0, 1]
    assert t["慰问困难职工金额"] == pytest.approx([0.06, 0, 0, 0.06])
    assert t["其中建档困难职工户数"] == [1, 0, 0, 1]
    assert t["其中建档困难职工金额"] == pytest.approx([0.06, 0, 0, 0.06])
    assert t["慰问一线职工人数"] == [1, 0, 0, 1]
    assert t["慰问一线职工金额"] == pytest.approx([0.03, 0, 0, 0.03])
    assert t["慰问困难劳模人数"] == t["慰问农民工人数"] == [0, 0, 0, 0]
    assert t["慰问困难劳模金额"] == t["慰问农民工金额"] == [0, 0, 0, 0]
    assert t["物资折款"] == pytest.approx([0.01, 0, 0, 0.01])
    assert t["资金来源：中央财政"] == pytest.approx([0.09, 0, 0, 0.09])
    assert t["资金来源：社会捐赠"] == [0, 0, 0, 0]
    assert t["合计"] == pytest.approx([0.1, 0, 0, 0.1])
    assert money_format(ws, "合计") == "#,##0.0000"
    assert money_format(ws, "慰问困难职工户数") == "#,##0"


def test_warmth_read_below_the_programs_union(city, api_as, factory):
    """E0101001's batch under K0101's program, in the enterprise's own form read by its auditor: the program
    above the reader and the payment kept by the county count as they do for the county's reader."""
    factory.user("E0101001", roles=("auditor",), username="e_auditor")
    ws = workbook(api_as, "warmth", "tenant=E0101001&year=2026", user="e_auditor")
    rows = list(ws.iter_rows(min_row=FIRST, values_only=True))
    headers = [c.value for c in ws[FIRST - 1]]
    own = dict(zip(headers, rows[0], strict=True))
    assert own["单位代码"] == "E0101001"
    assert own["慰问一线职工人数"] == 1 and own["资金来源：中央财政"] == pytest.approx(0.09)
    assert own["合计"] == pytest.approx(0.1)


def pay_batch(api_as, program: dict, items: list, day: str) -> None:
    """A batch of E0101001 under ``program`` (K0101's), submitted, approved and paid on ``day``."""
    clerk = api_as("e_clerk")
    resp = clerk.post(f"/api/v1/programs/{program['id']}/batches", json={"tenant": "E0101001", "items": items})
    assert resp.status_code == 201, resp.json
    bid = resp.json["id"]
    assert clerk.post(f"/api/v1/batches/{bid}/submit", json={}).status_code == 200
    assert api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={}).json["status"] == "approved"
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json={"document_no": f"县工发〔2026〕{bid}1号",
                                                                      "date": day})
    assert resp.status_code == 200, resp.json


def test_warmth_by_recipient(city, api_as):
    """A model worker aided under a model workers' program, an archived household under a migrant workers'
    program (counted as 农民工, not as 建档困难职工), an emergency aid (not the campaign) and a warmth batch of
    2025 (not the year)."""
    model_worker = archived_household(api_as, name="庚七", model_worker=True)
    migrant_household = archived_household(api_as, name="辛八")
    other = archived_household(api_as, name="壬九")
    pay_batch(api_as, warmth(api_as, type="model_worker", name="2026年困难劳模慰问"),
              [{"household": model_worker, "kind": "model_worker", "amount": "950.00"}], "2026-12-03")
    pay_batch(api_as, warmth(api_as, type="migrant", name="2026年农民工帮扶"),
              [{"household": migrant_household, "amount": "400.00"}], "2026-12-04")
    pay_batch(api_as, warmth(api_as, type="emergency", name="2026年临时救助"),
              [{"household": other, "amount": "350.00"}], "2026-12-04")
    pay_batch(api_as, warmth(api_as, year=2025, name="2025年两节送温暖"),
              [{"household": other, "amount": "700.00"}], "2025-12-20")
    t = table(workbook(api_as, "warmth"))
    assert t["慰问困难职工户数"] == [1, 0, 0, 1]
    assert t["慰问困难职工金额"] == pytest.approx([0.06, 0, 0, 0.06])
    assert t["其中建档困难职工户数"] == [1, 0, 0, 1]
    assert t["慰问困难劳模人数"] == [1, 0, 0, 1]
    assert t["慰问困难劳模金额"] == pytest.approx([0.095, 0, 0, 0.095])
    assert t["慰问农民工人数"] == [1, 0, 0, 1]
    assert t["慰问农民工金额"] == pytest.approx([0.04, 0, 0, 0.04])
    # 900.00 + 950.00 + 400.00 of cash, all drawn on central finance, and 100.00 of rice
    assert t["资金来源：中央财政"] == pytest.approx([0.225, 0, 0, 0.225])
    assert t["合计"] == pytest.approx([0.235, 0, 0, 0.235])
    county = table(workbook(api_as, "warmth", "tenant=K0101&year=2026", user="k0101_all"))
    assert county["慰问困难劳模人数"] == [1, 0, 1] and county["合计"] == pytest.approx([0.235, 0, 0.235])
    assert table(workbook(api_as, "warmth", "tenant=C01&year=2025"))["慰问困难职工金额"] == pytest.approx(
        [0.07, 0, 0, 0.07])


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


def test_center_annual_desk_by_kind(city, api_as):
    """A legal aid case at K0102 (closed: 办结率 counts petitions only), two job referrals at K0101 (one placed),
    a training at C01 and a job referral of 2025 (not the year)."""
    def case(user, tenant, kind, received_on="2026-11-21"):
        resp = api_as(user).post("/api/v1/cases", json={
            "tenant": tenant, "kind": kind, "channel": "visit", "category": "labour_dispute",
            "person": {"name": "钱七", "phone": "13812345678"}, "subject": "咨询", "received_on": received_on,
            "deadline": "2027-06-30"})
        assert resp.status_code == 201, resp.json
        return resp.json["id"]

    legal = case("k0102_all", "K0102", "legal_aid")
    resp = api_as("k0102_all").post(f"/api/v1/cases/{legal}/close", json={"result": "resolved", "note": "已调解"})
    assert resp.status_code == 200, resp.json
    placed = case("k0101_all", "K0101", "job_referral")
    case("k0101_all", "K0101", "job_referral")
    resp = api_as("k0101_all").post(f"/api/v1/cases/{placed}/record", json={
        "job_employer": "某机械厂", "job_title": "钳工", "job_placed": True, "job_placed_on": "2026-11-25"})
    assert resp.status_code == 200, resp.json
    case("c01_all", "C01", "training")
    case("k0101_all", "K0101", "job_referral", received_on="2025-11-21")
    t = check_sheet(workbook(api_as, "center_annual"), "困难职工帮扶中心统计表", "万元")
    assert t["信访接待件数"] == [2, 0, 1, 3]
    assert t["办结率（%）"] == pytest.approx([0.5, 0, 0, 0.3333])
    assert t["法律援助件数"] == [0, 1, 0, 1]
    assert t["职业介绍人次"] == [2, 0, 0, 2]
    assert t["职业介绍成功人次"] == [1, 0, 0, 1]
    assert t["技能培训人次"] == [0, 0, 1, 1]


MONTHLY_SOURCES = [f"本月收入：{name}" for name in ("中央财政", "省级财政", "上级工会下拨", "地方财政配套",
                                                   "本级工会经费", "社会捐赠")]


def monthly(api_as, month: int, year: int = 2026) -> dict:
    ws = workbook(api_as, "monthly_funds", f"tenant=C01&year={year}&month={month}")
    return check_sheet(ws, "帮扶资金物资收支明细表", "元") if year == 2026 else table(ws)


def test_monthly_funds_in_yuan(city, api_as):
    ws = workbook(api_as, "monthly_funds", "tenant=C01&year=2026&month=12")
    assert "2026年12月" in ws["A2"].value
    t = check_sheet(ws, "帮扶资金物资收支明细表", "元")
    assert t["本月支出：送温暖"] == pytest.approx([900, 0, 0, 900])
    assert t["本月支出：生活救助"] == [0, 0, 0, 0]
    assert money_format(ws, "本月支出：送温暖") == "#,##0.00"
    # December: K0101 pays the warmth batch (900.00: 800.00 of its 2025 lot, 100.00 of 2026) and hands out 2 bags
    assert t["上月结余"] == pytest.approx([35600, 0, 70200, 105800])
    assert t["本月结余"] == pytest.approx([34700, 0, 70200, 104900])
    assert all(t[h] == [0, 0, 0, 0] for h in MONTHLY_SOURCES)
    assert t["本月下拨"] == t["本月退回"] == [0, 0, 0, 0]
    assert t["物资收入（折款）"] == [0, 0, 0, 0]
    assert t["物资发放（折款）"] == pytest.approx([100, 0, 0, 100])
    assert t["物资库存（折款）"] == pytest.approx([900, 0, 0, 900])
    november = monthly(api_as, 11)  # nothing happened: the flows are 0 and the balances carry over
    assert november["本月支出：送温暖"] == [0, 0, 0, 0]
    assert all(november[h] == [0, 0, 0, 0] for h in (*MONTHLY_SOURCES, "本月下拨", "本月退回", "物资收入（折款）",
                                                     "物资发放（折款）"))
    assert november["上月结余"] == november["本月结余"] == t["上月结余"]
    assert november["物资库存（折款）"] == pytest.approx([1000, 0, 0, 1000])


def test_monthly_funds_flows(city, api_as):
    """C01 receives 100,000.00 and allocates 30,000.00 to K0101 in March (on top of 2025's 1,000.00 received and
    800.00 allocated), K0101 receives 1,000.00 of rice; April: K0101 receives 5,000.00 of local matching, C01's
    5,000.00 to K0102 is reversed in the month; May: K0101 returns 200.00 to finance; July (this test): K0101
    returns 300.00 to C01."""
    resp = post(api_as("k_fin"), "return", refund(to="parent", amount="300.00", date="2026-07-10"))
    assert resp.status_code == 201, resp.json
    march = monthly(api_as, 3)
    assert march["上月结余"] == pytest.approx([800, 0, 200, 1000])
    assert march["本月收入：中央财政"] == pytest.approx([30000, 0, 100000, 130000])
    assert march["本月下拨"] == pytest.approx([0, 0, 30000, 30000])
    assert march["本月结余"] == pytest.approx([30800, 0, 70200, 101000])
    assert march["物资收入（折款）"] == march["物资库存（折款）"] == pytest.approx([1000, 0, 0, 1000])
    april = monthly(api_as, 4)
    assert april["上月结余"] == march["本月结余"]
    assert april["本月收入：地方财政配套"] == pytest.approx([5000, 0, 0, 5000])
    assert april["本月收入：中央财政"] == april["本月下拨"] == [0, 0, 0, 0]  # allocated and reversed
    assert april["本月结余"] == pytest.approx([35800, 0, 70200, 106000])
    may = monthly(api_as, 5)
    assert may["本月退回"] == pytest.approx([200, 0, 0, 200])
    assert may["本月结余"] == pytest.approx([35600, 0, 70200, 105800])
    july = monthly(api_as, 7)
    assert july["本月退回"] == pytest.approx([300, 0, 0, 300])
    assert july["本月收入：中央财政"] == pytest.approx([0, 0, 300, 300])  # returned up: C01's income
    assert july["本月结余"] == pytest.approx([35300, 0, 70500, 105800])
    assert monthly(api_as, 1, year=2025)["上月结余"] == [0, 0, 0, 0]


def test_monthly_goods_and_a_purchase(city, api_as):
    """August (this test): K0101 buys 10 barrels of oil at 68.00 from its central finance lot (a disbursement of
    the ledger, not aid) and writes one bag of rice off (a correction: in the stock, in neither flow)."""
    oil = api_as("k_clerk").post("/api/v1/goods", json=item_body(name="食用油", unit="桶", unit_value="68.00",
                                                                   source="purchase"))
    assert oil.status_code == 201, oil.json
    bought = api_as("k_fin").post(f"/api/v1/goods/{oil.json['id']}/receipts", headers=key(),
                                  json=purchase(10, document_no="县工采〔2026〕8号", date="2026-08-10"))
    assert bought.status_code == 201, bought.json
    rice = next(i for i in api_as("k_clerk").get("/api/v1/goods?tenant=K0101").json["items"] if i["name"] == "大米")
    fixed = api_as("k_clerk").post(f"/api/v1/goods/{rice['id']}/corrections", json={
        "quantity": -1, "reason": "受潮霉变1袋", "date": "2026-08-20"})
    assert fixed.status_code == 201, fixed.json
    august = monthly(api_as, 8)
    assert august["物资收入（折款）"] == pytest.approx([680, 0, 0, 680])
    assert august["物资发放（折款）"] == [0, 0, 0, 0]
    assert august["物资库存（折款）"] == pytest.approx([1630, 0, 0, 1630])  # 1,000.00 + 680.00 - 50.00
    assert august["上月结余"] == pytest.approx([35600, 0, 70200, 105800])
    assert august["本月结余"] == pytest.approx([34920, 0, 70200, 105120])  # the purchase left the lot
    assert all(august[h] == [0, 0, 0, 0] for h in (*MONTHLY_SOURCES, "本月下拨", "本月退回", "本月支出：送温暖"))
    december = monthly(api_as, 12)
    assert december["物资库存（折款）"] == pytest.approx([1530, 0, 0, 1530])  # 2 bags handed out
    assert december["本月结余"] == pytest.approx([34020, 0, 70200, 104220])


def test_monthly_statement_chains(city, api_as, app):
    """Per source and part, every month of 2025 and 2026: closing = opening + income - allocated - returned -
    disbursed, this month's opening is last month's closing, and the months add up to the ledger's running
    totals and balance (:func:`hardship.funds.queries.balances`)."""
    resp = post(api_as("k_fin"), "return", refund(to="parent", amount="300.00", date="2026-07-10"))
    assert resp.status_code == 201, resp.json
    from hardship.funds import queries as funds_queries
    from hardship.funds.models import RUNNING_TOTALS, SOURCES
    from tenants.scoping import get_tenant

    with system(app):
        for code, subtree in (("K0101", True), ("K0102", True), ("C01", False), ("C01", True)):
            tenant = get_tenant(code)
            flows = dict.fromkeys(RUNNING_TOTALS, 0)
            previous = dict.fromkeys(SOURCES, 0)
            for year, month in [(y, m) for y in (2025, 2026) for m in range(1, 13)]:
                statement = funds_queries.monthly_statement(tenant, year, month, subtree=subtree)
                assert set(statement) == set(SOURCES)
                for source, row in statement.items():
                    assert row["opening"] == previous[source], (code, year, month, source)
                    assert row["closing"] == (row["opening"] + row["received"] + row["allocated_in"]
                                              + row["returned_in"] - row["allocated_out"] - row["disbursed"]
                                              - row["returned_out"]), (code, year, month, source)
                    previous[source] = row["closing"]
                    for name in RUNNING_TOTALS:
                        flows[name] += row[name]
            totals = funds_queries.balances(tenant, subtree=subtree)["totals"]
            assert sum(previous.values()) == totals["balance"], code
            assert {name: flows[name] for name in RUNNING_TOTALS} == {
                name: totals[funds_queries.ROW_NAMES.get(name, name)] for name in RUNNING_TOTALS}, code
        k0101 = funds_queries.monthly_statement(get_tenant("K0101"), 2026, 12, subtree=False)
        assert k0101["central_finance"]["disbursed"] == 90000 and k0101["central_finance"]["closing"] == 2940000


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
    assert t["慰问困难职工户数"] == [1, 0, 1]
    from sqlalchemy import select

    from hardship.audit.models import AuditEvent
    from hardship.core.db import db

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
    assert t["慰问困难职工户数"] == [1, 0, 0, 1]
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
