"""The aid items behind the summary's aid figures (the drill-down of SPEC 6.1): on the hand-computed tree of
``conftest.city``, the list's totals are the summary's figures for every union, program type and source; the
page links from the summary, speaks Chinese, refuses bad input by name; isolation and permissions."""

from __future__ import annotations

import re

import pytest

from hardship.aid.models import PROGRAM_TYPES
from hardship.funds.models import SOURCES
from tests.reports.test_summary import summary

ZH = {"Accept-Language": "zh"}


def paid(api, query):
    resp = api.get(f"/api/v1/aid/paid-items?{query}")
    assert resp.status_code == 200, resp.json
    return resp.json


def same_as_summary(listed: dict, row: dict) -> None:
    """The list's totals are the summary's row: person-times, households, cash and goods."""
    total = listed["total"]
    assert (total["count"], total["households"], total["amount"], total["goods_value"]) == (
        row["person_times"], row["households"], row["amount"], row["goods_value"])


def test_the_totals_are_the_summarys_for_every_union_type_and_source(city, api_as):
    api = api_as("c01_all")
    for query in ("tenant=C01&year=2026", "tenant=C01&year=2026&month=12", "tenant=C01&year=2026&month=11",
                  "tenant=K0101&year=2026", "tenant=K0102&year=2026", "tenant=E0101001&year=2026"):
        result = summary(api_as, query=query)
        same_as_summary(paid(api, query), result["aid"]["total"])
        for key in PROGRAM_TYPES:
            same_as_summary(paid(api, f"{query}&program_type={key}"), result["aid"]["by_type"][key])
        for key in SOURCES:  # households and person-times of the batches that drew on the source
            listed, row = paid(api, f"{query}&source={key}")["total"], result["aid"]["by_source"][key]
            assert (listed["count"], listed["households"]) == (row["person_times"], row["households"]), key


def test_the_rows(city, api_as):
    result = paid(api_as("c01_all"), "tenant=C01&year=2026")
    assert (result["tenant"], result["start"], result["end"], result["page"], result["pages"]) == (
        "C01", "2026-01-01", "2026-12-31", 1, 1)
    rows = sorted(result["items"], key=lambda r: r["amount"])
    assert [(r["name"], r["kind_label"], r["amount"], r["goods_value"], r["paid_on"], r["tenant"]) for r in rows] == [
        ("赵六", "一线职工", "300.00", "100.00", "2026-12-01", "E0101001"),
        ("甲一", "建档困难职工", "600.00", "0.00", "2026-12-01", "E0101001")]
    assert {r["program_type_label"] for r in rows} == {"送温暖"}
    assert rows[1]["household"] == city["h1"] and rows[0]["household"] is None
    # nothing personal beyond the name: no ID number, phone or card in the answer
    text = str(result)
    assert not re.search(r"\d{6}\*+\d{3}[\dX]|\d{17}[\dX]|1[3-9]\d{9}", text), text
    # a page past the last is empty, the totals unchanged
    later = paid(api_as("c01_all"), "tenant=C01&year=2026&page=2")
    assert later["items"] == [] and later["total"] == result["total"]


def test_a_reader_below_the_programs_union_lists_its_items(city, api_as, factory):
    factory.user("E0101001", roles=("auditor",), username="e_reader")
    result = paid(api_as("e_reader"), "tenant=E0101001&year=2026")
    assert result["total"]["count"] == 2 and result["total"]["amount"] == "900.00"


def test_isolation_and_permissions(city, api_as, factory):
    factory.user("C02", roles=("reviewer",), username="c02_reviewer")
    factory.user("C01", roles=("admin",), username="c01_admin_only")
    assert api_as("c02_reviewer").get("/api/v1/aid/paid-items?tenant=C01&year=2026").status_code == 404
    assert api_as("c02_reviewer").get("/api/v1/aid/paid-items?tenant=E0101001&year=2026").status_code == 404
    assert api_as("c01_admin_only").get("/api/v1/aid/paid-items?tenant=C01&year=2026").status_code == 403
    assert api_as("k0101_all").get("/api/v1/aid/paid-items?tenant=C01&year=2026").status_code == 404


@pytest.mark.parametrize("query, field, words", [
    ("tenant=C01&year=2026&month=13", "month", None), ("tenant=C01&year=二〇二六", "year", None),
    ("tenant=C01", "year", None), ("tenant=C01&year=2026&program_type=gift", "program_type", "送温暖"),
    ("tenant=C01&year=2026&source=bank", "source", "中央财政"), ("tenant=C01&year=2026&page=0", "page", None)])
def test_bad_input_is_422_naming_the_field_in_chinese(city, api_as, query, field, words):
    resp = api_as("c01_all", lang="zh").get(f"/api/v1/aid/paid-items?{query}")
    assert resp.status_code == 422, resp.json
    fields = resp.json["error"]["fields"]
    assert list(fields) == [field]
    message = " ".join(fields[field])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    if words:  # a choice lists the Chinese labels, never the codes
        assert words in message and "warmth" not in message and "central_finance" not in message


def test_the_summary_links_each_aid_figure_to_its_list(city, client, login):
    login("c01_all")
    html = client.get("/t/C01/reports/summary?year=2026&month=12", headers=ZH).get_data(as_text=True)
    hrefs = {h.replace("&amp;", "&") for h in re.findall(r'href="(/t/[A-Z0-9]+/aid/paid[^"]*)"', html)}
    assert "/t/C01/aid/paid?year=2026&month=12" in hrefs
    assert "/t/C01/aid/paid?year=2026&month=12&program_type=warmth" in hrefs
    assert "/t/C01/aid/paid?year=2026&month=12&source=central_finance" in hrefs
    assert "/t/K0101/aid/paid?year=2026&month=12" in hrefs  # a child's row
    for href in hrefs:
        assert client.get(href, headers=ZH).status_code == 200, href


def test_the_page_in_chinese(city, client, login):
    login("c01_all")
    resp = client.get("/t/C01/aid/paid?year=2026&program_type=warmth", headers=ZH)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    total = re.sub(r"<[^>]+>", "", re.search(r'<p id="paid-total">(.*?)</p>', html, re.S).group(1))
    assert "2 人次" in total and "900.00 元" in total and "100.00 元" in total and "2026-12-31" in total, total
    assert html.count("data-item=") == 2 and "赵六" in html and "甲一" in html and "送温暖" in html
    assert "一线职工" in html and "600.00" in html
    shown = re.sub(r'(data-[a-z]+|id|href|name|value)="[^"]*"', "", html)
    for code in ("warmth", "frontline", "central_finance", "paid_on", "{&#34;"):
        assert code not in shown, code
    # the batch and the household behind a row open for the city's officers
    batch = re.search(r'href="(/t/C01/aid/batches/\d+)"', html).group(1)
    assert client.get(batch, headers=ZH).status_code == 200
    household = re.search(r'href="(/t/C01/archive/\d+)"', html).group(1)
    assert client.get(household, headers=ZH).status_code == 200


def test_the_page_shows_the_month_it_read(city, client, login):
    login("c01_all")
    html = client.get("/t/C01/aid/paid?year=2026&month=%EF%BC%91%EF%BC%92", headers=ZH).get_data(as_text=True)
    assert re.search(r'<option value="12" selected>', html) and html.count("data-item=") == 2


def test_the_page_names_a_bad_filter_and_lists_nothing(city, client, login):
    login("c01_all")
    resp = client.get("/t/C01/aid/paid?year=2026&month=13", headers=ZH)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="error-month"' in html and "data-item=" not in html
    assert any("\u4e00" <= ch <= "\u9fff" for ch in re.search(r'id="error-month">([^<]*)<', html).group(1))


def test_a_reviewer_reads_the_page_without_links_to_records_it_may_not_open(city, client, login, factory):
    factory.user("P01", roles=("reviewer",), username="p01_reviewer")
    login("p01_reviewer")
    resp = client.get("/t/P01/aid/paid?year=2026", headers=ZH)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.count("data-item=") == 2
    assert "/aid/batches/" not in html and "/archive/" not in html


def test_the_command_line_prints_the_same_list(app, city, api_as, factory):
    import json

    runner = app.test_cli_runner()
    out = runner.invoke(args=["hardship", "aid", "paid", "--tenant", "C01", "--year", "2026", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == paid(api_as("c01_all"), "tenant=C01&year=2026")
    out = runner.invoke(args=["hardship", "aid", "paid", "--tenant", "C01", "--year", "2026",
                              "--program-type", "warmth", "--user", "c01_all"])
    assert out.exit_code == 0, out.output
    assert "2 person-times" in out.output and "900.00 yuan cash" in out.output and "甲一" in out.output
    factory.user("C02", roles=("reviewer",), username="c02_reviewer")
    refused = runner.invoke(args=["hardship", "aid", "paid", "--tenant", "C01", "--year", "2026",
                                  "--user", "c02_reviewer"])
    assert refused.exit_code == 2 and "error" in refused.output
    bad = runner.invoke(args=["hardship", "aid", "paid", "--tenant", "C01", "--year", "2026", "--month", "13"])
    assert bad.exit_code == 2 and "month" in bad.output, bad.output
