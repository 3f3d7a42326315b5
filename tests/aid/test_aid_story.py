"""The campaign of issue 15 from the first list to the last signature, through the API."""

from __future__ import annotations

from tests.aid.conftest import archived_household, person, warmth


def _balances(api_as) -> dict:
    resp = api_as("k_fin").get("/api/v1/funds/balances?tenant=K0101")
    assert resp.status_code == 200, resp.json
    return {(r["source"], r["fiscal_year"]): r["balance"] for r in resp.json["rows"]}


def test_a_warmth_campaign_end_to_end(county, api_as):
    program = warmth(api_as)
    assert {s["kind"]: (s["min"], s["max"]) for s in program["standards"]} == {
        "archived": ("600.00", None), "model_worker": ("900.00", None), "frontline": (None, "500.00")}
    assert program["approval_threshold"] == "1000.00"
    # the enterprise sees its county's campaign and proposes
    listed = api_as("e_clerk").get("/api/v1/programs?tenant=E0101001").json["programs"]
    assert [p["id"] for p in listed] == [program["id"]]
    h1, h2 = archived_household(api_as, name="张三"), archived_household(api_as, name="李四")
    resp = api_as("e_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={"tenant": "E0101001", "items": [
        {"household": h1, "amount": "600.00"}, {"household": h2, "amount": "1200.00"},
        {"person": person(), "kind": "frontline", "amount": "500.00"}]})
    assert resp.status_code == 201, resp.json
    batch = resp.json
    assert batch["status"] == "draft" and batch["total"] == "2300.00" and batch["needs_head"]
    assert [i["id_number"].count("*") for i in batch["items"]] == [8, 8, 8]  # masked
    bid = batch["id"]
    unassisted = api_as("k_clerk").get("/api/v1/aid/never-assisted?tenant=K0101&year=2026").json["households"]
    assert {u["household"] for u in unassisted} == {h1, h2}
    before = _balances(api_as)
    assert before == {("central_finance", 2025): "800.00", ("central_finance", 2026): "30000.00"}

    assert api_as("e_clerk").post(f"/api/v1/batches/{bid}/submit", json={}).json["status"] == "submitted"
    queue = api_as("k_approver").get("/api/v1/aid/queue?tenant=K0101").json["batches"]
    assert [(b["id"], b["waiting_for"]) for b in queue] == [(bid, "approver")]
    assert [b["waiting_for"] for b in api_as("k_head").get("/api/v1/aid/queue?tenant=K0101").json["batches"]] == ["head"]
    assert api_as("k_fin").get("/api/v1/aid/queue?tenant=K0101").json["batches"] == []
    resp = api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={})
    assert resp.status_code == 200 and resp.json["status"] == "submitted", resp.json  # the head is still needed
    # paying before the head approved: 409
    pay = {"document_no": "县工发〔2026〕30号", "date": "2026-12-01"}
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=pay)
    assert resp.status_code == 409, resp.json
    assert api_as("k_approver").get("/api/v1/aid/queue?tenant=K0101").json["batches"] == []
    resp = api_as("k_head").post(f"/api/v1/batches/{bid}/approve", json={})
    assert resp.json["status"] == "approved", resp.json
    assert resp.json["approved_by"] == "k_approver" and resp.json["head_approved_by"] == "k_head"

    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=pay)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "paid" and resp.json["transaction"]
    # the oldest fiscal year first: 800.00 of 2025, then 1,500.00 of 2026
    assert _balances(api_as) == {("central_finance", 2025): "0.00", ("central_finance", 2026): "28500.00"}
    tx = api_as("k_fin").get(f"/api/v1/funds/transactions/{resp.json['transaction']}").json
    assert tx["kind"] == "disbursement" and tx["amount"] == "2300.00" and tx["reference"] == f"batch:{bid}"

    items = {i["name"]: i for i in resp.json["items"]}
    assert {i["status"] for i in items.values()} == {"paid"}
    # receipts: the signer must be the recipient
    resp = api_as("e_clerk").post(f"/api/v1/batches/{bid}/items/{items['张三']['id']}/receipt",
                                  json={"signed_by": "张三丰"})
    assert resp.status_code == 422 and "signed_by" in resp.json["error"]["fields"], resp.json
    assert "代签" in resp.json["error"]["fields"]["signed_by"][0]
    for name in ("张三", "李四", "赵六"):
        resp = api_as("e_clerk").post(f"/api/v1/batches/{bid}/items/{items[name]['id']}/receipt",
                                      json={"signed_by": name})
        assert resp.status_code == 200 and resp.json["status"] == "received", resp.json
    # follow-up visits; relief from a visit is the archive's approver's
    visit = {"visited_on": "2026-12-02", "visitors": ["王五", "李六"], "notes": "病情好转，已重新就业"}
    resp = api_as("e_clerk").post(f"/api/v1/batches/{bid}/items/{items['赵六']['id']}/visits", json=visit)
    assert resp.status_code == 201 and resp.json["visitors"] == ["王五", "李六"], resp.json
    url = f"/api/v1/batches/{bid}/items/{items['张三']['id']}/visits"
    assert api_as("e_clerk").post(url, json={**visit, "relieved": True}).status_code == 403
    assert api_as("e_clerk").post(url, json={**visit, "visitors": []}).status_code == 422
    assert api_as("k_approver").post(url, json={**visit, "relieved": True}).status_code == 201
    events = api_as("k0101_all").get(f"/api/v1/households/{h1}/history").json
    assert "relieve" in str(events)
    assert api_as("k_clerk").get("/api/v1/aid/never-assisted?tenant=K0101&year=2026").json["households"] == []
    assert len(api_as("k_clerk").get("/api/v1/aid/never-assisted?tenant=K0101&year=2025").json["households"]) == 2
    totals = api_as("k_clerk").get(f"/api/v1/programs/{program['id']}/totals").json
    assert totals["paid"] == totals["received"] == "2300.00"
    assert {t["kind"]: (t["amount"], t["count"]) for t in totals["by_kind"]} == {
        "archived": ("1800.00", 2), "frontline": ("500.00", 1)}
    assert [(t["tenant"], t["amount"]) for t in totals["by_union"]] == [("E0101001", "2300.00")]
    assert totals["by_source"] == [{"source": "central_finance", "amount": "2300.00"}]
    aid = api_as("e_clerk").get(f"/api/v1/households/{h2}/aid").json["aid"]
    assert [(a["program_name"], a["amount"], a["status"]) for a in aid] == [("2026年两节送温暖", "1200.00", "received")]
    history = api_as("k_clerk").get(f"/api/v1/batches/{bid}").json["history"]
    assert [e["action"] for e in history] == ["batch_create", "submit", "approve", "head_approve", "pay",
                                              "receipt", "receipt", "receipt", "visit", "visit"]
    assert all(e["action_label"] and not e["action_label"].startswith("aid") for e in history)
