"""The filing pages (SPEC 6.4): a county files its report, the city's board shows it and returns it with a
reason (not without one), the county files version 2, the comparison page; Chinese words, no codes."""

from __future__ import annotations

import re

from tests.conftest import csrf_from

ZH = {"Accept-Language": "zh"}
PERIOD = "form=monthly_funds&year=2026&month=11"


def visible(html: str) -> str:
    """The page without its attributes' values (codes are fine there)."""
    return re.sub(r'(data-[a-z]+|id|name|value|class|href|action|for)="[^"]*"', "", html)


def log_out(client) -> None:
    page = client.get("/t/P01/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302


def file_on_page(client) -> str:
    page = client.get(f"/t/K0101/reports/filings?{PERIOD}", headers=ZH)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    resp = client.post(f"/t/K0101/reports/filings?{PERIOD}", headers=ZH, data={
        "csrf_token": csrf_from(html), "form": "monthly_funds", "year": "2026", "month": "11"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return client.get(resp.headers["Location"], headers=ZH).get_data(as_text=True)


def test_file_return_refile(tree, client, login):
    login("k0101_all")
    html = file_on_page(client)
    assert "帮扶资金物资收支明细表" in html and "已上报" in html and 'data-version="1"' in html
    for code in ("monthly_funds", "filed", "on_time", "late"):
        assert code not in visible(html), code

    log_out(client)
    login("c01_all")
    board = client.get(f"/t/C01/reports/filings/board?{PERIOD}", headers=ZH).get_data(as_text=True)
    assert re.search(r'data-tenant="K0101" data-status="(on_time|late)"', board)
    assert 'data-tenant="K0102" data-status="missing"' in board and "未上报" in board
    filing_id = re.search(r'/t/C01/reports/filings/(\d+)/decision', board).group(1)
    token = csrf_from(board)
    # returning without a reason: refused with a Chinese message, nothing changed
    resp = client.post(f"/t/C01/reports/filings/{filing_id}/decision", headers=ZH,
                       data={"csrf_token": token, "action": "return", "reason": ""}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "请填写退回原因" in html and re.search(r'data-tenant="K0101" data-status="(on_time|late)"', html)
    resp = client.post(f"/t/C01/reports/filings/{filing_id}/decision", headers=ZH,
                       data={"csrf_token": token, "action": "return", "reason": "本月支出数字有误"},
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert 'data-tenant="K0101" data-status="returned"' in html and "本月支出数字有误" in html
    built = client.get(f"/t/C01/reports/filings/built?{PERIOD}", headers=ZH).get_data(as_text=True)
    assert "据下级已接收报表汇总" in built and "没有已接收的报表" in built and "资金" in built
    for code in ("households.", "by_status", "funds.", "monthly_funds"):
        assert code not in visible(built), code

    log_out(client)
    login("k0101_all")
    html = client.get(f"/t/K0101/reports/filings?{PERIOD}", headers=ZH).get_data(as_text=True)
    assert "已退回" in html and "本月支出数字有误" in html
    html = file_on_page(client)
    assert 'data-version="2" data-status="filed"' in html and 'data-version="1" data-status="returned"' in html


def test_the_menu_and_the_pages_rights(tree, client, login, factory):
    factory.user("K0101", roles=("clerk",), username="k0101_clerk_only")
    login("k0101_clerk_only")
    html = client.get("/t/K0101/", headers=ZH).get_data(as_text=True)
    assert "/t/K0101/reports/filings" in html and "/reports/filings/board" not in html
    assert client.get(f"/t/K0101/reports/filings/board?{PERIOD}").status_code == 403
    log_out(client)
    login("c02_all")
    assert client.get(f"/t/K0101/reports/filings?{PERIOD}").status_code == 404


def test_a_bad_period_is_shown_in_chinese(tree, client, login):
    login("k0101_all")
    page = client.get("/t/K0101/reports/filings?form=monthly_funds&year=2026&month=13", headers=ZH)
    assert page.status_code == 200
    assert 'id="error-month"' in page.get_data(as_text=True)
    page = client.get("/t/K0101/reports/filings?form=nothing&year=2026", headers=ZH)
    assert page.status_code == 200 and "请从以下选项中选择" in page.get_data(as_text=True)


def test_the_deadlines_on_the_settings_page(tree, client, login):
    """The city sets its children's due day and the annual deadline on its settings page (numbers)."""
    login("c01_all")
    html = client.get("/t/C01/settings", headers=ZH).get_data(as_text=True)
    assert "月报报送截止日" in html
    assert 'name="annual_filing_deadline' in html and "年度报表上报截止日期" in html
    assert 'type="number"' in html
