"""The dashboard on a union's home page (SPEC 6.5) on the hand-computed tree of ``conftest.city``: the figures
shown are the summary's, each links to what lies behind it (the children's figures, the households' list), the
charts are inline SVG, a reviewer of one city sees nothing of another, the lists are masked for a reviewer, and
bad input is named in Chinese."""

from __future__ import annotations

import re

import pytest

from hardship.aid.models import PROGRAM_TYPES
from hardship.core.db import utcnow
from hardship.core.money import fen_of
from hardship.reports.dashboard import months_of
from hardship.reports.queries import shanghai_date
from tests.reports.test_summary import summary

ZH = {"Accept-Language": "zh"}


@pytest.fixture
def reviewer(factory):
    def make(tenant="P01", username="p01_reviewer"):
        factory.user(tenant, roles=("reviewer",), username=username)
        return username

    return make


def table(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table ``table_id`` (tags removed)."""
    body = re.search(rf'<table class="grid" id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def links(html: str, table_id: str) -> list[str]:
    body = re.search(rf'<table class="grid" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', body)]


def yuan(amount: str) -> str:
    fen = fen_of(amount)
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def test_the_figures_shown_are_the_summarys(city, client, login, reviewer, api_as):
    login(reviewer())
    resp = client.get("/t/C01/?year=2026", headers=ZH)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    expected = summary(api_as)
    h = expected["households"]
    assert re.search(r'id="dash-stock"><a class="drill" href="/t/C01/archive\?status=archived">4 户</a>', html)
    by_status = {r[0]: r[1] for r in table(html, "dash-by-status")}
    assert len(by_status) == len(h["by_status"])
    assert {k: v for k, v in by_status.items() if v != "0 户"} == {
        "已申请": f"{h['by_status']['applied']} 户", "在档": f"{h['by_status']['archived']} 户",
        "已脱困": f"{h['by_status']['exited']} 户"}
    by_category = {r[0]: r[1] for r in table(html, "dash-by-category")}
    assert by_category == {"深度困难": "2 户", "相对困难": "1 户", "意外致困": "1 户"}
    assert sum(int(v.split()[0]) for v in by_category.values()) == h["stock"]
    by_reason = {r[0]: r[1] for r in table(html, "dash-by-reason") if r[1] != "0 户"}
    assert by_reason == {"因病": "2 户", "因残": "1 户", "下岗失业": "1 户"}
    # aid by program type: the warmth batch of 900.00
    aid = {r[0]: r for r in table(html, "dash-aid")}
    assert aid["送温暖"][1:] == [yuan(expected["aid"]["by_type"]["warmth"]["amount"]), "2 户", "2 人次"]
    assert re.search(r'id="dash-aid-total"><a class="drill" href="/t/C01/aid/paid\?year=2026">900.00 元<', html)
    # funds: the balance equals the summary's, split by source
    assert re.search(rf'id="dash-balance"><a [^>]*>{re.escape(yuan(expected["funds"]["balance"]))}</a>', html)
    funds = {r[0]: r[1:] for r in table(html, "dash-funds")}
    assert sum(fen_of(v[0].replace(",", "").split()[0]) for v in funds.values()) == fen_of(expected["funds"]["balance"])
    assert funds["地方财政配套"] == ["5,000.00 元", "0.00 元", "0.00 元"]
    matching = {r[0]: r[1] for r in table(html, "dash-matching")}
    assert matching == {"应配套": yuan(expected["matching"]["required"]),
                        "已到位配套资金": yuan(expected["matching"]["achieved"])}
    # the children's monthly funds reports: none filed, so each is missing or not yet due
    filing = {r[0]: r[1] for r in table(html, "dash-filing")}
    assert int(filing["未上报"].split()[0]) + int(filing["未到期"].split()[0]) == 2
    assert all(v.endswith(" 个") for v in filing.values()), filing
    # the trend: a row per month of 2026; November's stock is the November summary's
    november = summary(api_as, query="tenant=C01&year=2026&month=11")["households"]
    trend = {r[0]: r[1:] for r in table(html, "dash-trend")}
    assert len(trend) == len(months_of(2026, shanghai_date(utcnow())))
    assert trend["11月"] == [f"{november['newly_archived']} 户", f"{november['stock']} 户"]
    # the children's figures, each linking down
    children = {r[0]: r[1:] for r in table(html, "dash-children")}
    assert children == {"K0101工会": ["4 户", "900.00 元", yuan(expected["children"][0]["funds"]["balance"])],
                        "K0102工会": ["0 户", "0.00 元", yuan(expected["children"][1]["funds"]["balance"])]}


def test_the_charts_are_inline_svg_with_links_and_no_script(city, client, login, reviewer):
    login(reviewer())
    html = client.get("/t/C01/?year=2026", headers=ZH).get_data(as_text=True)
    charts = re.findall(r'<svg class="chart [^"]+"', html)
    assert len(charts) == 8, charts
    assert "<script" not in html and "cdn" not in html.lower()
    trend = re.search(r'<svg class="chart trend-chart".*?</svg>', html, re.S).group(0)
    assert '<a href="/t/C01/reports/summary?year=2026&amp;month=11">' in trend
    category = re.search(r'<svg class="chart bar-chart"[^>]*aria-label="困难类别[^"]*".*?</svg>', html, re.S).group(0)
    assert '<a href="/t/C01/archive?status=archived&amp;category=deep">' in category and "2 户" in category


def test_every_figure_links_to_its_drill_down(city, client, login, reviewer):
    login(reviewer())
    html = client.get("/t/C01/?year=2026", headers=ZH).get_data(as_text=True)
    assert "/t/C01/archive?status=exited" in links(html, "dash-by-status")
    assert "/t/C01/archive?status=archived&main_reason=illness" in links(html, "dash-by-reason")
    assert set(links(html, "dash-aid")) == {f"/t/C01/aid/paid?year=2026&program_type={key}"
                                            for key in PROGRAM_TYPES}
    assert set(links(html, "dash-funds")) == {"/t/C01/funds/?subtree=1&year=2026"}
    assert links(html, "dash-children") == [
        "/t/K0101/?year=2026", "/t/K0101/archive?status=archived", "/t/K0101/aid/paid?year=2026",
        "/t/K0101/funds/?subtree=1&year=2026",
        "/t/K0102/?year=2026", "/t/K0102/archive?status=archived", "/t/K0102/aid/paid?year=2026",
        "/t/K0102/funds/?subtree=1&year=2026"]
    board = re.search(r'id="dash-filing-board" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert board.startswith("/t/C01/reports/filings/board?form=monthly_funds&year=2026&month=")
    # each link answers, down to the enterprise
    for url in ("/t/K0101/?year=2026", "/t/E0101001/?year=2026", "/t/C01/archive?status=archived&main_reason=illness",
                "/t/C01/reports/summary?year=2026", "/t/C01/funds/?subtree=1&year=2026",
                "/t/K0101/aid/paid?year=2026", "/t/C01/aid/paid?year=2026&program_type=warmth", board):
        assert client.get(url, headers=ZH).status_code == 200, url
    enterprise = client.get("/t/K0101/reports/summary?year=2026", headers=ZH).get_data(as_text=True)
    assert 'href="/t/E0101001/reports/summary?year=2026"' in enterprise


def test_the_list_behind_a_count_has_as_many_households(city, client, login, reviewer, api_as):
    login(reviewer())
    h = summary(api_as)["households"]  # 2026 is this year's data: the statuses at its end are today's
    for query, expected in (("status=archived", h["stock"]), ("status=exited", h["by_status"]["exited"]),
                            ("status=archived&category=deep", h["by_category"]["deep"]),
                            ("status=archived&main_reason=illness", h["by_reason"]["illness"])):
        page = client.get(f"/t/C01/archive?{query}", headers=ZH).get_data(as_text=True)
        assert re.search(r'id="total">\D*(\d+) 户', page).group(1) == str(expected), query


def test_a_reviewer_reads_the_lists_masked(city, client, login, reviewer):
    login(reviewer())
    resp = client.get("/t/C01/archive?status=archived", headers=ZH)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    numbers = re.findall(r'<td class="id-number">([^<]*)</td>', html)
    assert len(numbers) == 4 and all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", n) for n in numbers), numbers
    assert "/archive/export.xlsx" not in html and "/archive/households/" not in html
    # the household itself and the export stay for those who keep the archive
    assert client.get("/t/C01/archive/export.xlsx").status_code == 403


def test_a_clerk_sees_the_archive_panel_only(city, client, login, factory):
    factory.user("K0101", roles=("clerk",), username="k0101_clerk_only")
    login("k0101_clerk_only")
    html = client.get("/t/K0101/", headers=ZH).get_data(as_text=True)
    assert 'id="panel-archive"' in html
    for other in ("panel-aid", "panel-funds", "panel-filing"):
        assert f'id="{other}"' not in html
    assert "/reports/summary" not in html and 'href="None"' not in html
    # the households by status still lead to the list
    assert "/t/K0101/archive?status=archived" in links(html, "dash-by-status")
    assert "金额" not in re.search(r'<table class="grid" id="dash-children">.*?</table>', html, re.S).group(0)


def test_another_citys_figures_and_lists_are_absent(city, client, login, reviewer):
    login(reviewer("C02", "c02_reviewer"))
    for url in ("/t/C01/", "/t/C01/?year=2026", "/t/K0101/", "/t/C01/archive?status=archived",
                "/t/K0101/archive?status=archived&category=deep", "/t/C01/reports/summary?year=2026"):
        assert client.get(url).status_code == 404, url
    html = client.get("/t/C02/?year=2026", headers=ZH).get_data(as_text=True)
    assert "K0101" not in html and 'id="dash-stock"' in html


@pytest.mark.parametrize("query, field", [("year=abc", "year"), ("year=1999", "year"), ("year=99999", "year")])
def test_a_bad_year_is_named_in_chinese(city, client, login, reviewer, query, field):
    login(reviewer())
    resp = client.get(f"/t/C01/?{query}", headers=ZH)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    error = re.search(rf'id="error-{field}">([^<]*)<', html).group(1)
    assert re.search(r"[\u4e00-\u9fff]", error) and "year" not in error, error


def test_a_bad_list_filter_is_named_in_chinese(city, client, login, reviewer):
    login(reviewer())
    resp = client.get("/t/C01/archive?main_reason=nonsense&status=bogus", headers=ZH)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    errors = re.findall(r'<div class="error">([^<]*)</div>', html)
    assert len(errors) == 2 and all(re.search(r"[\u4e00-\u9fff]", e) for e in errors), errors


def test_the_reviewer_lands_on_the_dashboard(tree, client, login, reviewer):
    resp = login(reviewer())
    assert resp.headers["Location"] == "/t/P01/"
    html = client.get("/t/P01/", headers=ZH).get_data(as_text=True)
    assert 'id="panel-archive"' in html and 'id="panel-filing"' in html


def test_a_past_years_list_is_the_households_as_they_were_then(city, client, login, reviewer, api_as, monkeypatch):
    """甲一 was archived in 2025 and exits in 2026 (its category corrected in 2026 too): 2025's figures link to the
    list as of 2025-12-31, which holds it and counts what the figure says; today's list does not hold it."""
    from tests.reports.conftest import act, clock

    with clock(monkeypatch, "2026-12-04T04:00:00"):
        act(api_as("k0101_all"), city["h1"], "exit", "收入已稳定")
    login(reviewer())
    html = client.get("/t/C01/?year=2025", headers=ZH).get_data(as_text=True)
    h = api_as("c01_all").get("/api/v1/reports/summary?tenant=C01&year=2025").json["households"]
    status_links = links(html, "dash-by-status")
    assert "/t/C01/archive?status=archived&as_of=2025-12-31" in status_links
    assert all("as_of=2025-12-31" in href for href in status_links + links(html, "dash-by-category")
               + links(html, "dash-by-reason"))
    assert "/t/K0101/archive?status=archived&as_of=2025-12-31" in links(html, "dash-children")

    def listed(url: str) -> tuple[int, str]:
        resp = client.get(url, headers=ZH)
        assert resp.status_code == 200, url
        page = resp.get_data(as_text=True)
        return int(re.search(r'id="total">\D*(\d+) 户', page).group(1)), page

    total, page = listed("/t/C01/archive?status=archived&as_of=2025-12-31")
    assert total == h["by_status"]["archived"] == h["stock"] and f'data-id="{city["h1"]}"' in page
    assert "截至 2025年12月31日" in page
    numbers = re.findall(r'<td class="id-number">([^<]*)</td>', page)  # masked for the reviewer, as always
    assert numbers and all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", n) for n in numbers), numbers
    for key in ("category", "main_reason"):
        by = h["by_category"] if key == "category" else h["by_reason"]
        for value, count in by.items():
            assert listed(f"/t/C01/archive?status=archived&{key}={value}&as_of=2025-12-31")[0] == count, value
    for value, count in h["by_status"].items():
        assert listed(f"/t/C01/archive?status={value}&as_of=2025-12-31")[0] == count, value
    # the summary page of a past month links its figures as of the month's last day, this month's without
    june = client.get("/t/C01/reports/summary?year=2026&month=6", headers=ZH).get_data(as_text=True)
    june_h = api_as("c01_all").get("/api/v1/reports/summary?tenant=C01&year=2026&month=6").json["households"]
    assert "/t/C01/archive?status=archived&as_of=2026-06-30" in links(june, "by-status")
    for href in links(june, "by-status") + links(june, "by-category") + links(june, "by-reason"):
        assert "as_of=2026-06-30" in href
    assert listed("/t/C01/archive?status=archived&as_of=2026-06-30")[0] == june_h["stock"]
    assert listed("/t/C01/archive?status=archived&category=accident&as_of=2026-06-30")[0] == \
        june_h["by_category"]["accident"]
    today = shanghai_date(utcnow())
    current = client.get(f"/t/C01/reports/summary?year={today.year}&month={today.month}", headers=ZH).get_data(
        as_text=True)
    assert "/t/C01/archive?status=archived" in links(current, "by-status")
    assert "as_of" not in "".join(links(current, "by-status"))
    # today: 甲一 has exited, and this year's links carry no date
    _total, page = listed("/t/C01/archive?status=archived")
    assert f'data-id="{city["h1"]}"' not in page and "截至" not in page
    assert "as_of" not in "".join(links(client.get(f"/t/C01/?year={today.year}", headers=ZH).get_data(
        as_text=True), "dash-by-status"))


def test_a_bad_as_of_is_named_in_chinese(city, client, login, reviewer):
    login(reviewer())
    resp = client.get("/t/C01/archive?status=archived&as_of=2025-13-40", headers=ZH)
    assert resp.status_code == 422
    error = re.search(r'id="error-as_of">([^<]*)<', resp.get_data(as_text=True)).group(1)
    assert re.search(r"[\u4e00-\u9fff]", error) and "as_of" not in error, error


def test_the_api_list_and_the_export_take_as_of_too(city, api_as, monkeypatch, app):
    import io

    import openpyxl
    import sqlalchemy as sa

    from hardship.audit.models import AuditEvent
    from hardship.core.db import db
    from tests.conftest import system
    from tests.reports.conftest import act, clock

    with clock(monkeypatch, "2026-12-04T04:00:00"):
        act(api_as("k0101_all"), city["h1"], "exit", "收入已稳定")
    county = api_as("k0101_all")
    then = county.get("/api/v1/households?tenant=K0101&status=archived&as_of=2025-12-31").json
    now = county.get("/api/v1/households?tenant=K0101&status=archived").json
    assert [h["id"] for h in then["households"]] == [city["h1"]]
    assert city["h1"] not in [h["id"] for h in now["households"]]
    resp = county.get("/api/v1/households/export.xlsx?tenant=K0101&status=archived&as_of=2025-12-31")
    assert resp.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(resp.data)).active.max_row == 2  # the header and 甲一
    with system(app):
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "household.export_unmasked")).one()
        assert event.detail["filters"]["as_of"] == "2025-12-31"
