"""The consolidated summary (SPEC 6.1) on the hand-computed tree of ``conftest.city``: exact figures at each level,
the parts adding up to the whole, the period's boundaries in Shanghai dates, isolation and bad input."""

from __future__ import annotations

import pytest

ZERO_FUNDS = dict.fromkeys(("received", "allocated_in", "returned_in", "allocated_out", "disbursed", "returned",
                            "balance",
                            "warning", "overdue"), "0.00")


def summary(api_as, user="c01_all", query="tenant=C01&year=2026"):
    """The summary from the kept figures (the fast path), checked against the oracle (``exact=1``) of the same
    query: every test of this file is also a test of the fast path."""
    client = api_as(user)
    resp = client.get(f"/api/v1/reports/summary?{query}")
    assert resp.status_code == 200, resp.json
    oracle = client.get(f"/api/v1/reports/summary?{query}&exact=1")
    assert oracle.status_code == 200, oracle.json
    assert (resp.json["exact"], oracle.json["exact"]) == (False, True)
    assert {**resp.json, "exact": True} == oracle.json
    return resp.json


def nonzero(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if v}


def flows(h: dict) -> dict:
    return {k: h[k] for k in ("newly_archived", "relieved", "exited", "cancelled", "returned", "stock")}


def test_city_year_households(city, api_as):
    result = summary(api_as)
    assert result["tenant"] == "C01"
    assert (result["start"], result["end"]) == ("2026-01-01", "2026-12-31")
    households = result["households"]
    assert nonzero(households["by_status"]) == {"archived": 4, "exited": 1, "applied": 1}
    # h1 was corrected to accident / unemployment in June
    assert nonzero(households["by_category"]) == {"deep": 2, "relative": 1, "accident": 1}
    assert nonzero(households["by_reason"]) == {"illness": 2, "disability": 1, "unemployment": 1}
    assert flows(households) == {"newly_archived": 4, "relieved": 1, "exited": 1, "cancelled": 1, "returned": 1,
                                 "stock": 4}
    children = {c["tenant"]: c for c in result["children"]}
    assert list(children) == ["K0101", "K0102"]
    assert nonzero(children["K0101"]["households"]["by_status"]) == {"archived": 4, "exited": 1}
    assert flows(children["K0101"]["households"]) == {"newly_archived": 4, "relieved": 1, "exited": 1,
                                                      "cancelled": 0, "returned": 0, "stock": 4}
    assert nonzero(children["K0102"]["households"]["by_status"]) == {"applied": 1}
    assert flows(children["K0102"]["households"]) == {"newly_archived": 0, "relieved": 0, "exited": 0,
                                                      "cancelled": 1, "returned": 1, "stock": 0}
    assert nonzero(result["own"]["households"]["by_status"]) == {}


def test_city_year_aid_funds_matching_desk(city, api_as):
    result = summary(api_as)
    aid = result["aid"]
    assert aid["total"] == {"amount": "900.00", "households": 2, "person_times": 2, "goods_value": "100.00"}
    assert aid["by_type"]["warmth"] == aid["total"]
    assert aid["by_type"]["living"] == {"amount": "0.00", "households": 0, "person_times": 0, "goods_value": "0.00"}
    # the batch drew 800.00 of fiscal 2025 and 100.00 of 2026, all central finance
    # (goods are counted by program type, not by fund source: donated goods have none)
    assert aid["by_source"]["central_finance"] == {**aid["total"], "goods_value": "0.00"}
    assert aid["by_source"]["upper_union"]["amount"] == "0.00"
    # fiscal-2026 lots: C01 received 100,000.00 and allocated 30,000.00 to K0101 (the 5,000.00 to K0102 was
    # reversed); K0101 received 5,000.00 local matching, paid 100.00 of 2026 money, returned 200.00
    assert result["funds"] == {**ZERO_FUNDS, "received": "105000.00", "allocated_in": "30000.00",
                               "allocated_out": "30000.00", "disbursed": "100.00", "returned": "200.00",
                               "balance": "104700.00"}
    assert result["own"]["funds"] == {**ZERO_FUNDS, "received": "100000.00", "allocated_out": "30000.00",
                                      "balance": "70000.00"}
    children = {c["tenant"]: c for c in result["children"]}
    assert children["K0101"]["funds"] == {**ZERO_FUNDS, "received": "5000.00", "allocated_in": "30000.00",
                                          "disbursed": "100.00", "returned": "200.00", "balance": "34700.00"}
    assert children["K0102"]["funds"] == ZERO_FUNDS
    assert children["K0101"]["aid"]["total"]["amount"] == "900.00"
    assert children["K0102"]["aid"]["total"]["amount"] == "0.00"
    # matching at ratio 1.0: C01 100,000.00 from central finance, K0101 30,000.00 allocated from above
    assert result["matching"] == {"required": "130000.00", "achieved": "5000.00", "ratio": round(5000 / 130000, 4)}
    assert children["K0101"]["matching"] == {"required": "30000.00", "achieved": "5000.00",
                                             "ratio": round(5000 / 30000, 4)}
    assert result["desk"] == {"received": 3, "closed": 1, "open": 2, "closure_rate": 0.3333, "overdue": 1}
    assert children["K0101"]["desk"] == {"received": 2, "closed": 1, "open": 1, "closure_rate": 0.5, "overdue": 1}
    assert result["own"]["desk"] == {"received": 1, "closed": 0, "open": 1, "closure_rate": 0.0, "overdue": 0}


def _add_up(parts: list[dict], whole: dict, path=()) -> int:
    """Every count and amount of ``whole`` is the sum of the parts' (rates and the aid's distinct households
    excepted); returns how many figures it compared."""
    compared = 0
    for key, value in whole.items():
        if key in ("closure_rate", "ratio") or (key == "households" and "aid" in path):
            continue
        if isinstance(value, dict):
            compared += _add_up([p[key] for p in parts], value, (*path, key))
        elif isinstance(value, str):
            assert sum(round(float(p[key]) * 100) for p in parts) == round(float(value) * 100), (path, key)
            compared += 1
        else:
            assert sum(p[key] for p in parts) == value, (path, key)
            compared += 1
    return compared


@pytest.mark.parametrize("query", ["tenant=C01&year=2026", "tenant=C01&year=2026&month=11",
                                   "tenant=K0101&year=2026", "tenant=C01&year=2025"])
def test_the_own_row_and_the_children_add_up_to_the_whole(city, api_as, query):
    result = summary(api_as, query=query)
    whole = {k: result[k] for k in ("households", "aid", "funds", "desk")}
    parts = [{k: p[k] for k in whole} for p in (result["own"], *result["children"])]
    assert _add_up(parts, whole) > 50


def test_a_child_row_equals_the_childs_own_summary(city, api_as):
    city_view = {c["tenant"]: c for c in summary(api_as)["children"]}["K0101"]
    county_view = summary(api_as, "k0101_all", "tenant=K0101&year=2026")
    for section in ("households", "aid", "funds", "matching", "desk"):
        assert city_view[section] == county_view[section], section
    assert [c["tenant"] for c in county_view["children"]] == ["E0101001"]
    # h5 was registered at the county itself (no enterprise union): the county's own row
    assert county_view["own"]["households"]["stock"] == 1


def test_periods_are_shanghai_dates(city, api_as):
    # November 2026: h2 exited on the 15th, h4 was surveyed (archived only in December); h6, registered at
    # 2026-11-30 16:30 UTC, was registered on 1 December in Shanghai
    november = summary(api_as, query="tenant=C01&year=2026&month=11")
    assert (november["start"], november["end"]) == ("2026-11-01", "2026-11-30")
    assert nonzero(november["households"]["by_status"]) == {"archived": 2, "exited": 1, "applied": 1,
                                                             "surveyed": 1}
    assert flows(november["households"]) == {"newly_archived": 0, "relieved": 0, "exited": 1, "cancelled": 0,
                                             "returned": 0, "stock": 2}
    assert november["aid"]["total"]["amount"] == "0.00"  # paid on 1 December
    assert november["desk"]["received"] == 3
    # 2025: h1 and h3 archived in June (h2 surveyed then, archived in 2026); h5's archiving at 2025-12-31 16:30
    # UTC is already 2026 in Shanghai
    year_2025 = summary(api_as, query="tenant=C01&year=2025")
    assert nonzero(year_2025["households"]["by_status"]) == {"archived": 2, "surveyed": 1}
    assert nonzero(year_2025["households"]["by_category"]) == {"deep": 2}  # h1 before its correction
    assert nonzero(year_2025["households"]["by_reason"]) == {"illness": 2}
    assert year_2025["households"]["newly_archived"] == 2
    assert year_2025["desk"]["received"] == 0
    assert year_2025["funds"]["received"] == "1000.00"  # C01's fiscal-2025 lot
    december = summary(api_as, query="tenant=C01&year=2026&month=12")
    assert flows(december["households"])["newly_archived"] == 2  # h4 and h6
    assert december["aid"]["total"]["person_times"] == 2


def test_a_reviewer_of_one_city_gets_404_for_another(city, api_as, factory):
    factory.user("C02", roles=("reviewer",), username="c02_reviewer")
    factory.user("P01", roles=("reviewer",), username="p01_reviewer")
    reviewer = api_as("c02_reviewer")
    for tenant in ("C01", "K0101", "E0101001", "P01"):
        resp = reviewer.get(f"/api/v1/reports/summary?tenant={tenant}&year=2026")
        assert resp.status_code == 404, (tenant, resp.json)
    assert reviewer.get("/api/v1/reports/summary?tenant=C02&year=2026").status_code == 200
    province = summary(api_as, "p01_reviewer", "tenant=P01&year=2026")
    assert [c["tenant"] for c in province["children"]] == ["C01", "C02"]
    assert province["households"]["stock"] == 4 and province["children"][1]["households"]["stock"] == 0
    # the county sees its own subtree only
    assert api_as("k0101_all").get("/api/v1/reports/summary?tenant=C01&year=2026").status_code == 404


def test_without_stats_read_403(city, api_as, factory):
    factory.user("C01", roles=("clerk",), username="c01_clerk_only")
    resp = api_as("c01_clerk_only", lang="zh").get("/api/v1/reports/summary?tenant=C01&year=2026")
    assert resp.status_code == 403


@pytest.mark.parametrize("query, field", [("tenant=C01&year=2026&month=13", "month"),
                                          ("tenant=C01&year=2026&month=0", "month"),
                                          ("tenant=C01&year=1999", "year"),
                                          ("tenant=C01&year=二〇二六", "year"),
                                          ("tenant=C01", "year"), ("year=2026", "tenant"),
                                          ("tenant=C01&year=2026&exact=也许", "exact"),
                                          ("tenant=C01&year=2026&colour=red", "colour")])
def test_bad_input_is_422_in_chinese(tree, api_as, query, field):
    resp = api_as("c01_all", lang="zh").get(f"/api/v1/reports/summary?{query}")
    assert resp.status_code == 422, resp.json
    fields = resp.json["error"]["fields"]
    assert list(fields) == [field]
    message = " ".join(fields[field])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_an_unknown_union_is_404_in_chinese(tree, api_as):
    resp = api_as("p01_all", lang="zh").get("/api/v1/reports/summary?tenant=X999&year=2026")
    assert resp.status_code == 404
    assert any("\u4e00" <= ch <= "\u9fff" for ch in resp.json["error"]["message"])


def test_the_command_line_prints_the_same_summary(app, city, api_as, factory):
    import json

    factory.user("C02", roles=("reviewer",), username="c02_reviewer")
    runner = app.test_cli_runner()
    out = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == summary(api_as)
    out = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026", "--month", "11"])
    assert out.exit_code == 0 and "child\tK0101" in out.output and "stock 2" in out.output, out.output
    bad = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026", "--month", "13"])
    assert bad.exit_code == 2 and "month" in bad.output
    outside = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026",
                                  "--user", "c02_reviewer"])
    assert outside.exit_code != 0 and "K0101" not in outside.output


def test_a_reader_below_the_programs_union_sees_its_aid(city, api_as, factory):
    """The batch of E0101001 runs under K0101's program: the enterprise's own reviewer counts it too (the
    program, above the reader's scope, is read as the aid pages read it)."""
    factory.user("E0101001", roles=("auditor",), username="e_reviewer")
    own = summary(api_as, "e_reviewer", "tenant=E0101001&year=2026")
    assert own["aid"]["total"] == {"amount": "900.00", "households": 2, "person_times": 2, "goods_value": "100.00"}
    assert own["aid"]["by_type"]["warmth"]["person_times"] == 2
    # what the batch drew, kept by the paying county, counts too: the same figures whoever counted them first
    assert own["aid"]["by_source"]["central_finance"]["amount"] == "900.00"
    county = summary(api_as, "k0101_all", "tenant=K0101&year=2026")
    assert {c["tenant"]: c for c in county["children"]}["E0101001"]["aid"] == own["aid"]
