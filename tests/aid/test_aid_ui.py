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
    resp = _post(client, batch_url, {"item-household": str(h), "item-amount": "600.00", "item-action": "add"})
    assert resp.status_code == 302, _text(resp)[:3000]
    page = client.get(batch_url)
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
