"""The aid pages: a county opens a program, an enterprise starts a batch and adds items, the county approves
and pays, all through the forms (CSRF, the API's schemas, Chinese messages)."""

from __future__ import annotations

import re

from tests.aid.conftest import archived_household
from tests.conftest import PASSWORD, csrf_from
from tests.fixtures.households import make_id


def _post(client, url, data):
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def _text(resp) -> str:
    return re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))


def _as(app, username):
    client = app.test_client()
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302
    return client


def test_campaign_through_the_pages(county, api_as, app):
    h = archived_household(api_as)
    client = _as(app, "k_clerk")
    resp = _post(client, "/t/K0101/aid/", {"type": "warmth", "year": "2026", "name": "2026年两节送温暖",
                                          "sources": ["central_finance"]})
    assert resp.status_code == 302, _text(resp)[:2000]
    program_url = resp.headers["Location"]
    page = client.get(program_url)
    assert "建档困难职工" in _text(page) and "600.00" in _text(page)

    client = _as(app, "e_clerk")
    program_id = program_url.rstrip("/").rsplit("/", 1)[1]
    resp = _post(client, f"/t/E0101001/aid/programs/{program_id}", {})
    assert resp.status_code == 302, _text(resp)[:2000]
    batch_url = resp.headers["Location"]
    resp = _post(client, batch_url, {"item-household": str(h), "item-amount": "599.99", "item-action": "add"})
    assert resp.status_code == 422 and "低于标准" in _text(resp)
    resp = _post(client, batch_url, {"item-name": "赵六", "item-id_number": make_id(), "item-kind": "frontline",
                                     "item-amount": "500.00", "item-action": "add"})
    assert resp.status_code == 302, _text(resp)[:3000]
    resp = _post(client, batch_url, {"step-action": "propose"})
    assert resp.status_code == 302, _text(resp)[:3000]
    page = client.get(batch_url)
    assert "1 户已申报" in _text(page)
    assert "1,100.00" in _text(page) and "赵六" in _text(page) and "********" in _text(page)
    assert _post(client, batch_url, {"step-action": "submit"}).status_code == 302

    client = _as(app, "k_approver")
    page = client.get("/t/K0101/aid/queue")
    assert page.status_code == 200 and "审核人审核" in _text(page)
    approve_url = batch_url.replace("/t/E0101001/", "/t/K0101/")
    assert _post(client, approve_url, {"step-action": "approve"}).status_code == 302

    client = _as(app, "k_fin")
    resp = _post(client, approve_url, {"step-action": "pay", "step-document_no": "县工发〔2026〕30号",
                                       "step-date": "2026-12-01"})
    assert resp.status_code == 302, _text(resp)[:3000]
    page = client.get(approve_url)
    assert "已发放" in _text(page)
    sheet = client.get(approve_url + "/signature-sheet.xlsx")
    assert sheet.status_code == 200 and sheet.mimetype.endswith("sheet")
    # the household's page shows its aid
    page = _as(app, "k0101_all").get(f"/t/K0101/archive/{h}")
    assert page.status_code == 200 and "帮扶记录" in _text(page) and "2026年两节送温暖" in _text(page), _text(page)[-2000:]


def test_receipts_and_the_print_view(county, api_as, app):
    program = api_as("k_clerk").post("/api/v1/programs", json={
        "tenant": "K0101", "type": "warmth", "year": 2026, "name": "2026年两节送温暖", "ends_on": "2026-02-28",
        "starts_on": "2026-01-01", "sources": ["central_finance"]}).json
    number = make_id()
    resp = api_as("e_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={"tenant": "E0101001", "items": [
        {"person": {"name": "赵六", "id_number": number, "phone": "13812345678", "reason": "春节坚守一线"},
         "kind": "frontline", "amount": "500.00"}]})
    bid, item = resp.json["id"], resp.json["items"][0]["id"]
    for user, step, body in (("e_clerk", "submit", {}), ("k_approver", "approve", {}),
                             ("k_fin", "pay", {"document_no": "县工发〔2026〕30号", "date": "2026-12-01"})):
        assert api_as(user).post(f"/api/v1/batches/{bid}/{step}", json=body).status_code == 200
    totals = api_as("k_clerk").get(f"/api/v1/programs/{program['id']}/totals").json
    assert [i["name"] for i in totals["not_received"]] == ["赵六"]  # the period is over
    client = _as(app, "e_clerk")
    page = client.get(f"/t/E0101001/aid/batches/{bid}/signature-sheet")
    text = _text(page)
    assert page.status_code == 200 and "领取人签字" in text and number[:6] + "********" + number[14:] in text
    assert number not in text
    url = f"/t/E0101001/aid/batches/{bid}"
    resp = _post(client, url, {"step-action": f"receive:{item}", f"signed_by-{item}": "赵七"})
    assert resp.status_code == 422 and "不允许代签代领" in _text(resp)
    resp = _post(client, url, {"step-action": f"receive:{item}", f"signed_by-{item}": "赵六"})
    assert resp.status_code == 302
    assert "已签收" in _text(client.get(url))
    assert api_as("k_clerk").get(f"/api/v1/programs/{program['id']}/totals").json["not_received"] == []


def test_never_assisted_page_lists_the_archived_households_no_paid_aid_reached(county, api_as, app):
    """SPEC 3.4 in the archive's menu: the page lists archived households of the subtree without paid aid in the
    year (a paid item takes its household off the list, that year only); a bad ``year`` falls back to this
    year; another county's clerk sees none of them."""
    from datetime import date

    h1 = archived_household(api_as, name="张三")
    archived_household(api_as, name="李四")
    client = _as(app, "k_clerk")
    year = date.today().year
    page = client.get(f"/t/K0101/aid/never-assisted?year={year}")
    assert page.status_code == 200
    text = _text(page)
    assert "本年未获帮扶" in text and "张三" in text and "李四" in text and "2 户" in text
    assert f'href="/t/K0101/archive/{h1}"' in page.get_data(as_text=True)
    assert client.get("/t/K0101/aid/never-assisted?year=abc").status_code == 200
    assert client.get("/t/K0101/aid/never-assisted?year=1999").status_code == 200
    program = api_as("k_clerk").post("/api/v1/programs", json={
        "tenant": "K0101", "type": "warmth", "year": year, "name": "送温暖", "sources": ["central_finance"]}).json
    resp = api_as("e_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={
        "tenant": "E0101001", "items": [{"household": h1, "amount": "600.00"}]})
    bid = resp.json["id"]
    assert api_as("e_clerk").post(f"/api/v1/batches/{bid}/submit", json={}).status_code == 200
    assert api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={}).json["status"] == "approved"
    paid = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json={"document_no": "县工发〔2026〕31号",
                                                                      "date": date.today().isoformat()})
    assert paid.status_code == 200, paid.json
    text = _text(client.get(f"/t/K0101/aid/never-assisted?year={year}"))
    assert "李四" in text and "张三" not in text and "1 户" in text
    assert "张三" in _text(client.get(f"/t/K0101/aid/never-assisted?year={year - 1}"))
    other = _as(app, "k2_clerk")
    assert other.get("/t/K0101/aid/never-assisted").status_code == 404
    assert "李四" not in _text(other.get("/t/K0102/aid/never-assisted"))
