"""The households behind the summary's flow figures (newly archived, relieved, exited, cancelled, returned to
hardship; SPEC 6.1 drill-down) on the hand-computed tree of ``conftest.city``: the archive list filtered by
``flow`` and ``since`` (and ``as_of`` for a past period) holds the households each figure counts, through the
API, the page the summary links to and the export; the one rule (``archives.queries.flow_of``) is the
summary's; bad input is named in Chinese."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from hardship.archives.models import FLOWS
from tests.reports.test_summary import summary

ZH = {"Accept-Language": "zh"}


def listed(api, query) -> set[int]:
    resp = api.get(f"/api/v1/households?{query}")
    assert resp.status_code == 200, resp.json
    assert resp.json["total"] == len(resp.json["households"])
    return {h["id"] for h in resp.json["households"]}


@pytest.mark.parametrize("tenant, period, since, end", [
    ("C01", "year=2026", "2026-01-01", "2026-12-31"), ("C01", "year=2026&month=12", "2026-12-01", "2026-12-31"),
    ("C01", "year=2025", "2025-01-01", "2025-12-31"), ("K0101", "year=2026", "2026-01-01", "2026-12-31"),
    ("K0102", "year=2026&month=5", "2026-05-01", "2026-05-31")])
def test_each_flow_lists_the_households_it_counts(city, api_as, tenant, period, since, end):
    result = summary(api_as, query=f"tenant={tenant}&{period}")
    api = api_as("c01_all")
    for flow in FLOWS:
        ids = listed(api, f"tenant={tenant}&flow={flow}&since={since}&as_of={end}")
        # no household of the tree did one flow twice in a period: one row per counted entry
        assert len(ids) == result["households"][flow], (flow, ids)


def test_the_households_by_name(city, api_as):
    api = api_as("c01_all")
    base = "tenant=C01&since=2026-01-01&as_of=2026-12-31"
    assert listed(api, f"{base}&flow=cancelled") == listed(api, f"{base}&flow=returned") == {city["h3"]}
    assert listed(api, f"{base}&flow=exited") == {city["h2"]}
    assert listed(api, f"{base}&flow=relieved") == {city["h4"]}
    assert listed(api, f"{base}&flow=newly_archived") == {city["h2"], city["h4"], city["h5"], city["h6"]}
    # without as_of: up to now (the same here, nothing happened after the year); the other filters still apply
    assert listed(api, "tenant=C01&since=2026-01-01&flow=newly_archived&child=K0101") == {
        city["h2"], city["h4"], city["h5"], city["h6"]}
    assert listed(api, "tenant=C01&since=2026-01-01&flow=newly_archived&child=K0102") == set()


@pytest.mark.parametrize("query, field, words", [
    ("tenant=C01&flow=newly_archived", "since", "必填"),
    ("tenant=C01&flow=archived_twice&since=2026-01-01", "flow", "新建档"),
    ("tenant=C01&flow=exited&since=2026-13-01", "since", None),
    ("tenant=C01&flow=exited&since=2026-12-01&as_of=2026-11-30", "since", "起始日期"),
    ("tenant=C01&flow=exited&since=2026-01-01&as_of=9999-12-31", "as_of", "2100"),
    ("tenant=C01&as_of=9999-12-31", "as_of", "2100")])
def test_bad_flow_filters_are_named_in_chinese(city, api_as, query, field, words):
    resp = api_as("c01_all", lang="zh").get(f"/api/v1/households?{query}")
    assert resp.status_code == 422, resp.json
    fields = resp.json["error"]["fields"]
    assert list(fields) == [field], fields
    message = " ".join(fields[field])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    if words:
        assert words in message and "newly_archived" not in message, message


def test_the_summary_links_each_flow_to_its_households(city, client, login):
    login("c01_all")
    html = client.get("/t/C01/reports/summary?year=2025", headers=ZH).get_data(as_text=True)
    link = re.search(r'id="flow-newly_archived"><a class="drill" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert link.startswith("/t/C01/archive?") and "flow=newly_archived" in link and "since=2025-01-01" in link
    assert "as_of=2025-12-31" in link  # a past period: the households as they were then
    page = client.get(link, headers=ZH)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert re.search(r'id="total">共 2 户', text), re.search(r'id="total">[^<]*', text)
    note = re.sub(r"<[^>]+>", "", re.search(r'<p class="muted" id="flow-note">(.*?)</p>', text, re.S).group(1))
    assert "新建档" in note and "2025年1月1日" in note and "newly_archived" not in note, note
    # the pages and the export keep the condition
    export = re.search(r'id="export" href="([^"]+)"', text).group(1).replace("&amp;", "&")
    assert "flow=newly_archived" in export and "since=2025-01-01" in export
    resp = client.get(export, headers=ZH)
    assert resp.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "档案编号" and {r[0] for r in rows[1:]} == {city["h1"], city["h3"]}


def test_a_bad_flow_on_the_page_is_named_not_a_500(city, client, login):
    login("c01_all")
    resp = client.get("/t/C01/archive?flow=newly_archived", headers=ZH)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="error-since"' in html and "起始日期" in html and "必填" in html
