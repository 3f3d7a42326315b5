"""The summary page (统计汇总): Chinese words, amounts in 元 with separators, counts with units, a row per child
linking down, the menu entry, bad periods, isolation."""

from __future__ import annotations

import re


def test_the_city_page_in_chinese(city, client, login):
    login("c01_all")
    page = client.get("/t/C01/reports/summary?year=2026", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "统计汇总" in html and "在档" in html
    assert "900.00 元" in html and "104,700.00 元" in html and "34,700.00 元" in html
    assert "共 4 户" in html or "4 户" in html
    # a row per child, linking to its page for the same period, then the union's own row and the total
    rows = re.findall(r'<tr class="(child|own|total)" data-tenant="([A-Z0-9]+)"', html)
    assert rows == [("child", "K0101"), ("child", "K0102"), ("own", "C01"), ("total", "C01")]
    assert 'href="/t/K0101/reports/summary?year=2026"' in html
    # no codes or JSON where words belong
    for code in ("newly_archived", "central_finance", "warmth", "{&#34;", "by_status"):
        assert code not in re.sub(r'(data-[a-z]+|id|href)="[^"]*"', "", html), code
    assert "送温暖" in html and "中央财政" in html


def test_the_menu_links_the_page_for_those_with_stats_read(tree, client, login, factory):
    factory.user("P01", roles=("reviewer",), username="p01_reviewer")
    login("p01_reviewer")
    html = client.get("/t/P01/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "/t/P01/reports/summary" in html


def test_without_stats_read_the_page_is_forbidden(tree, client, login, factory):
    factory.user("K0101", roles=("clerk",), username="k0101_clerk_only")
    login("k0101_clerk_only")
    assert "/reports/summary" not in client.get("/t/K0101/").get_data(as_text=True)
    assert client.get("/t/K0101/reports/summary").status_code == 403


def test_a_bad_period_is_named_in_chinese(city, client, login):
    login("c01_all")
    html = client.get("/t/C01/reports/summary?year=1999&month=13",
                      headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert 'id="error-year"' in html and 'id="error-month"' in html
    assert "2000" in re.search(r'id="error-year">([^<]*)<', html).group(1)


def test_another_citys_page_is_absent(city, client, login, factory):
    factory.user("C02", roles=("reviewer",), username="c02_reviewer")
    login("c02_reviewer")
    assert client.get("/t/C01/reports/summary?year=2026").status_code == 404
    assert client.get("/t/K0101/reports/summary?year=2026").status_code == 404
    assert client.get("/t/C02/reports/summary?year=2026").status_code == 200


def test_the_desk_figures_link_to_the_desk_page_of_the_period(city, client, login):
    login("c01_all")
    html = client.get("/t/C01/reports/summary?year=2026", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    href = re.search(r'id="desk-received"><a class="drill" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert href == "/t/C01/desk/?year=2026#figures"
    desk = client.get(href.split("#")[0], headers={"Accept-Language": "zh"}).get_data(as_text=True)
    figures = re.sub(r"<[^>]+>", " ", re.search(r'<section class="card" id="figures">(.*?)</section>', desk, re.S)
                     .group(1))
    assert "受理 3 件" in figures and "办结 1 件" in figures, figures[:400]
