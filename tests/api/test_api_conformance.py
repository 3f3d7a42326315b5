"""Every API route answers what /api/v1/openapi.json says it answers.

On a seeded tree (the ``tree`` fixture, two households, ledger postings and a finished export job), each
documented route is called once with a valid request. The answer must have the documented success status; a
JSON answer must be documented with a response schema and conform to it (schemathesis' response schema
conformance: types, nullability, required and undeclared keys); an answer that is not JSON (a file, 204) must
not be documented as JSON. :data:`REQUESTS` lists every route of :data:`hardship.api.ENDPOINTS`.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import PASSWORD, ApiClient, system
from tests.fixtures.funds import allocation, receipt, refund
from tests.fixtures.goods import donation, item_body, purchase
from tests.fixtures.households import household_body, unique_id

OPENAPI_PATH = "/api/v1/openapi.json"


@dataclass
class Call:
    """One valid request: ``path`` and ``json`` may hold ``{name}`` fields filled from the seeded ids."""

    user: str | None = "p01_all"
    path: str = ""
    json: dict | None = None
    headers: dict = field(default_factory=dict)
    #: multipart form fields (``(bytes, filename)`` for a file)
    form: dict | None = None


def _posting_key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


CASE = {"tenant": "K0101", "kind": "petition", "channel": "visit", "person": {"name": "赵六", "phone": "13812345678"},
        "subject": "企业拖欠工资", "category": "unpaid_wages"}
SURVEY = {"visited_on": date.today().isoformat(), "visitors": ["王五"], "findings": "家中一人患病，收入低",
          "income_per_capita": "800.00"}

#: "METHOD documented path" -> a valid request
REQUESTS: dict[str, Call] = {
    "GET /api/v1/jobs/{job_id}": Call(path="/api/v1/jobs/{job}"),
    "GET /api/v1/jobs/{job_id}/output": Call(path="/api/v1/jobs/{job}/output"),
    "GET /api/v1/audit": Call(path="/api/v1/audit?tenant=C01"),
    "POST /api/v1/auth/tokens": Call(user=None, json={"username": "k0101_all", "password": PASSWORD}),
    "DELETE /api/v1/auth/tokens/current": Call(user="k0101_all"),
    "GET /api/v1/auth/me": Call(),
    "PUT /api/v1/auth/password": Call(user="k0101_all", json={"current": PASSWORD, "new": "Another-pass-2"}),
    "POST /api/v1/tenants/{code}/users": Call(path="/api/v1/tenants/C01/users", json={
        "username": "c01_fin", "password": "Longpass-1", "display_name": "王会计", "roles": ["finance"]}),
    "GET /api/v1/tenants/{code}/users": Call(path="/api/v1/tenants/C01/users"),
    "PATCH /api/v1/users/{user_id}": Call(path="/api/v1/users/{user}", json={"display_name": "李主席"}),
    "POST /api/v1/households": Call(user="e0101001_all", json=household_body(head_id=unique_id(3))),
    "GET /api/v1/households": Call(path="/api/v1/households?tenant=K0101"),
    "GET /api/v1/households/export.xlsx": Call(path="/api/v1/households/export.xlsx?tenant=K0101"),
    "GET /api/v1/households/{household_id}": Call(path="/api/v1/households/{applied}"),
    "POST /api/v1/households/{household_id}/surveys": Call(user="k0101_all", path="/api/v1/households/{applied}/surveys",
                                                           json=SURVEY),
    "POST /api/v1/households/{household_id}/transitions": Call(
        user="k0101_all", path="/api/v1/households/{publicizing}/transitions",
        json={"action": "reject", "reason": "核实有出租收入"}),
    "POST /api/v1/households/{household_id}/objections": Call(
        user="k0101_all", path="/api/v1/households/{publicizing}/objections", json={"text": "群众反映其有房产出租"}),
    "GET /api/v1/households/{household_id}/history": Call(path="/api/v1/households/{publicizing}/history"),
    "PATCH /api/v1/households/{household_id}": Call(user="k0101_all", path="/api/v1/households/{applied}",
                                                   json={"reason": "职工更换手机号码", "head": {"phone": "13900001111"}}),
    "POST /api/v1/households/{household_id}/objections/{objection_id}/resolve": Call(
        user="k0101_all", path="/api/v1/households/{publicizing}/objections/{objection}/resolve",
        json={"outcome": "dismissed", "reason": "经核实不成立"}),
    "POST /api/v1/households/{household_id}/withdraw": Call(
        user="e0101001_all", path="/api/v1/households/{applied}/withdraw", json={"reason": "职工已调离"}),
    "POST /api/v1/funds/receipts": Call(user="c01_all", json=receipt(document_no="财社〔2026〕13号")),
    "POST /api/v1/funds/allocations": Call(user="c01_all", json=allocation(amount="100.00", document_no="市工发〔2026〕6号")),
    "POST /api/v1/funds/returns": Call(user="k0101_all", json=refund()),
    "POST /api/v1/funds/transactions/{transaction_id}/reversal": Call(
        user="c01_all", path="/api/v1/funds/transactions/{allocation}/reversal",
        json={"document_no": "市工发〔2026〕7号", "date": "2026-03-10"}),
    "GET /api/v1/funds/transactions/{transaction_id}": Call(path="/api/v1/funds/transactions/{allocation}"),
    "GET /api/v1/funds/transactions": Call(path="/api/v1/funds/transactions?tenant=C01"),
    "GET /api/v1/funds/transactions.xlsx": Call(path="/api/v1/funds/transactions.xlsx?tenant=C01"),
    "GET /api/v1/funds/balances": Call(path="/api/v1/funds/balances?tenant=C01&subtree=1"),
    "GET /api/v1/funds/balances.xlsx": Call(path="/api/v1/funds/balances.xlsx?tenant=C01"),
    "GET /api/v1/funds/matching": Call(path="/api/v1/funds/matching?tenant=C01&year=2026"),
    "POST /api/v1/imports/households": Call(user="k0101_all", form={"tenant": "K0101", "file": "{households.csv}"}),
    "GET /api/v1/imports/households/template.xlsx": Call(),
    "GET /api/v1/levels": Call(),
    "POST /api/v1/tenants": Call(json={"parent": "C01", "code": "K0199", "name": "某县总工会", "level": "county",
                                       "division_code": "130799"}),
    "GET /api/v1/tenants/{code}": Call(path="/api/v1/tenants/K0101"),
    "GET /api/v1/tenants/{code}/children": Call(path="/api/v1/tenants/C01/children"),
    "GET /api/v1/tenants/{code}/settings": Call(path="/api/v1/tenants/K0101/settings"),
    "PUT /api/v1/tenants/{code}/settings": Call(path="/api/v1/tenants/K0101/settings", json={"publicity_days": 5}),
    "POST /api/v1/tenants/{code}/exports": Call(path="/api/v1/tenants/K0101/exports"),
    "GET /api/v1/goods": Call(path="/api/v1/goods?tenant=C01&subtree=1"),
    "POST /api/v1/goods": Call(user="k0101_all", json=item_body(name="棉被", unit="床", unit_value="120.00")),
    "GET /api/v1/goods/stock.xlsx": Call(path="/api/v1/goods/stock.xlsx?tenant=K0101"),
    "GET /api/v1/goods/{goods_id}": Call(path="/api/v1/goods/{goods}"),
    "POST /api/v1/goods/{goods_id}/receipts": Call(user="k0101_all", path="/api/v1/goods/{goods_bought}/receipts",
                                                   json=purchase(10)),
    "POST /api/v1/goods/{goods_id}/handouts": Call(user="k0101_all", path="/api/v1/goods/{goods}/handouts",
                                                   json={"quantity": 2, "reference": "batch_item:1"}),
    "POST /api/v1/goods/{goods_id}/corrections": Call(user="k0101_all", path="/api/v1/goods/{goods}/corrections",
                                                      json={"quantity": -1, "reason": "盘亏1袋"}),
    "GET /api/v1/goods/{goods_id}/movements": Call(path="/api/v1/goods/{goods}/movements"),
    # aid (seeded by _aid_seed: a program of K0101 and batches of E0101001 in each state)
    "POST /api/v1/programs": Call(user="k0101_all", json={
        "tenant": "K0101", "type": "emergency", "year": 2026, "name": "2026年临时救助", "sources": ["central_finance"]}),
    "GET /api/v1/programs": Call(path="/api/v1/programs?tenant=E0101001"),
    "GET /api/v1/programs/{program_id}": Call(path="/api/v1/programs/{program}"),
    "GET /api/v1/programs/{program_id}/totals": Call(path="/api/v1/programs/{program}/totals"),
    "PATCH /api/v1/programs/{program_id}": Call(user="k0101_all", path="/api/v1/programs/{program}",
                                               json={"name": "2026年两节送温暖（第二批）"}),
    "POST /api/v1/programs/{program_id}/batches": Call(user="e0101001_all", path="/api/v1/programs/{program}/batches",
                                                      json={"tenant": "E0101001", "items": []}),
    "GET /api/v1/programs/{program_id}/batches": Call(path="/api/v1/programs/{program}/batches"),
    "GET /api/v1/households/{household_id}/aid": Call(path="/api/v1/households/{applied}/aid"),
    "GET /api/v1/aid/never-assisted": Call(path="/api/v1/aid/never-assisted?tenant=K0101&year=2026"),
    "GET /api/v1/aid/paid-items": Call(path="/api/v1/aid/paid-items?tenant=K0101&year=2026"),
    "GET /api/v1/aid/queue": Call(user="k0101_all", path="/api/v1/aid/queue?tenant=K0101"),
    "GET /api/v1/batches/{batch_id}": Call(path="/api/v1/batches/{draft}"),
    "POST /api/v1/batches/{batch_id}/items": Call(user="e0101001_all", path="/api/v1/batches/{draft}/items", json={
        "items": [{"person": {"name": "钱七", "id_number": unique_id(21), "reason": "春节坚守一线"},
                   "kind": "frontline", "amount": "300.00"}]}),
    "POST /api/v1/batches/{batch_id}/items/upload": Call(user="e0101001_all", path="/api/v1/batches/{draft}/items/upload",
                                                         form={"file": "{aid_items.csv}"}),
    "DELETE /api/v1/batches/{batch_id}/items/{item_id}": Call(user="e0101001_all",
                                                             path="/api/v1/batches/{draft}/items/{draft_item}"),
    "POST /api/v1/batches/{batch_id}/propose": Call(user="e0101001_all", path="/api/v1/batches/{draft}/propose",
                                                    json={}),
    "POST /api/v1/batches/{batch_id}/submit": Call(user="e0101001_all", path="/api/v1/batches/{draft}/submit", json={}),
    "POST /api/v1/batches/{batch_id}/approve": Call(user="k0101_all", path="/api/v1/batches/{submitted}/approve",
                                                    json={}),
    "POST /api/v1/batches/{batch_id}/reject": Call(user="k0101_all", path="/api/v1/batches/{submitted}/reject",
                                                   json={"reason": "名单需重新核实"}),
    "POST /api/v1/batches/{batch_id}/pay": Call(user="k0101_all", path="/api/v1/batches/{approved}/pay",
                                                json={"document_no": "县工发〔2026〕30号", "date": "2026-12-01"}),
    "POST /api/v1/batches/{batch_id}/items/{item_id}/receipt": Call(
        user="e0101001_all", path="/api/v1/batches/{paid}/items/{paid_item}/receipt", json={"signed_by": "孙八"}),
    "POST /api/v1/batches/{batch_id}/items/{item_id}/visits": Call(
        user="e0101001_all", path="/api/v1/batches/{paid}/items/{paid_item}/visits",
        json={"visited_on": "2026-12-02", "visitors": ["王五"], "notes": "生活有改善"}),
    "GET /api/v1/batches/{batch_id}/bank-file.xlsx": Call(user="k0101_all", path="/api/v1/batches/{paid}/bank-file.xlsx"),
    "GET /api/v1/batches/{batch_id}/signature-sheet.xlsx": Call(user="k0101_all",
                                                               path="/api/v1/batches/{paid}/signature-sheet.xlsx"),
    "POST /api/v1/cases": Call(user="k0101_all", json=CASE),
    "GET /api/v1/cases": Call(path="/api/v1/cases?tenant=K0101&queue=open"),
    "GET /api/v1/cases/export.xlsx": Call(path="/api/v1/cases/export.xlsx?tenant=K0101"),
    "GET /api/v1/cases/{case_id}": Call(path="/api/v1/cases/{case}"),
    "GET /api/v1/cases/{case_id}/history": Call(path="/api/v1/cases/{case}/history"),
    "POST /api/v1/cases/{case_id}/assign": Call(user="k0101_all", path="/api/v1/cases/{case}/assign",
                                                json={"handler": "k0101_all", "note": "请跟进"}),
    "POST /api/v1/cases/{case_id}/refer": Call(user="k0101_all", path="/api/v1/cases/{case}/refer",
                                               json={"to": "E0101001", "note": "请核实"}),
    "POST /api/v1/cases/{case_id}/answer": Call(user="e0101001_all", path="/api/v1/cases/{referred_case}/answer",
                                                json={"text": "已督促企业补发"}),
    "POST /api/v1/cases/{case_id}/reply": Call(user="k0101_all", path="/api/v1/cases/{case}/reply",
                                               json={"text": "已电话告知"}),
    "POST /api/v1/cases/{case_id}/close": Call(user="k0101_all", path="/api/v1/cases/{case}/close",
                                               json={"result": "resolved", "note": "已补发工资，当事人满意"}),
    "POST /api/v1/cases/{case_id}/reopen": Call(user="k0101_all", path="/api/v1/cases/{closed_case}/reopen",
                                                json={"reason": "当事人反映仍未解决"}),
    "POST /api/v1/cases/{case_id}/record": Call(user="k0101_all", path="/api/v1/cases/{legal_case}/record",
                                                json={"legal_lawyer": "某律师事务所", "legal_claimed": "1200.00"}),
    "POST /api/v1/cases/{case_id}/attachments": Call(user="k0101_all", path="/api/v1/cases/{case}/attachments",
                                                     json={"name": "来信.pdf"}),
    "GET /api/v1/desk/figures": Call(path="/api/v1/desk/figures?tenant=C01&year=2026"),
    "GET /api/v1/reports/summary": Call(path="/api/v1/reports/summary?tenant=C01&year=2026&month=11&exact=1"),
    "GET /api/v1/reports/forms/{form}.xlsx": Call(path="/api/v1/reports/forms/warmth.xlsx?tenant=C01&year=2026"),
    "POST /api/v1/reports/forms/{form}/jobs": Call(path="/api/v1/reports/forms/relief_progress/jobs",
                                                 json={"tenant": "P01", "year": 2026}),
    "POST /api/v1/reports/filings": Call(user="k0101_all", json={"tenant": "K0101", "form": "monthly_funds",
                                                                 "year": 2026, "month": 11}),
    "GET /api/v1/reports/filings": Call(path="/api/v1/reports/filings?tenant=K0101&form=monthly_funds&year=2026"
                                             "&month=11"),
    "GET /api/v1/reports/filings/{filing_id}": Call(path="/api/v1/reports/filings/{filing}"),
    "GET /api/v1/reports/filings/{filing_id}.xlsx": Call(path="/api/v1/reports/filings/{filing}.xlsx"),
    "POST /api/v1/reports/filings/{filing_id}/decision": Call(user="c01_all", path="/api/v1/reports/filings/{filing}/decision",
                                                              json={"action": "return", "reason": "数字有误"}),
    "GET /api/v1/reports/board": Call(path="/api/v1/reports/board?tenant=C01&form=monthly_funds&year=2026&month=11"),
    "GET /api/v1/reports/built": Call(path="/api/v1/reports/built?tenant=C01&form=monthly_funds&year=2026&month=11"),
}
#: postings send an idempotency key
for _route in ("POST /api/v1/funds/receipts", "POST /api/v1/funds/allocations", "POST /api/v1/funds/returns",
               "POST /api/v1/funds/transactions/{transaction_id}/reversal", "POST /api/v1/goods/{goods_id}/receipts"):
    REQUESTS[_route].headers = {"Idempotency-Key": "conformance-" + _route.rsplit("/", 1)[-1]}

@pytest.fixture
def seeded(app, tree, api_as):
    """The tree plus ledger postings, a household applied for, one in publicity and a finished export job of
    ``p01_all``; the ids they got."""
    c01 = api_as("c01_all")
    assert c01.post("/api/v1/funds/receipts", json=receipt(), headers=_posting_key()).status_code == 201
    posted = c01.post("/api/v1/funds/allocations", json=allocation(), headers=_posting_key())
    assert posted.status_code == 201, posted.json
    enterprise, county = api_as("e0101001_all"), api_as("k0101_all")
    households = []
    for n in (1, 2):
        resp = enterprise.post("/api/v1/households", json=household_body(head_id=unique_id(n)))
        assert resp.status_code == 201, resp.json
        households.append(resp.json["id"])
    assert county.post(f"/api/v1/households/{households[1]}/surveys", json=SURVEY).status_code == 201
    resp = county.post(f"/api/v1/households/{households[1]}/transitions", json={"action": "publicize"})
    assert resp.status_code == 200, resp.json
    objection = county.post(f"/api/v1/households/{households[1]}/objections", json={"text": "群众反映收入不实"})
    assert objection.status_code == 201, objection.json
    job = api_as("p01_all").post("/api/v1/tenants/K0101/exports")
    assert job.status_code == 202, job.json
    goods = county.post("/api/v1/goods", json=item_body())
    assert goods.status_code == 201, goods.json
    assert county.post(f"/api/v1/goods/{goods.json['id']}/receipts", json=donation(20)).status_code == 201
    bought = county.post("/api/v1/goods", json=item_body(name="食用油", unit="桶", unit_value="68.00", source="purchase"))
    assert bought.status_code == 201, bought.json
    cases = {}
    for name, body in (("case", CASE), ("referred_case", CASE), ("closed_case", CASE),
                       ("legal_case", {**CASE, "kind": "legal_aid"})):
        resp = county.post("/api/v1/cases", json=body)
        assert resp.status_code == 201, resp.json
        cases[name] = resp.json["id"]
    assert county.post(f"/api/v1/cases/{cases['referred_case']}/refer", json={"to": "E0101001"}).status_code == 200
    assert county.post(f"/api/v1/cases/{cases['closed_case']}/close", json={"result": "resolved"}).status_code == 200
    filing = county.post("/api/v1/reports/filings", json={"tenant": "K0101", "form": "monthly_funds", "year": 2026,
                                                          "month": 11})
    assert filing.status_code == 201, filing.json
    with system(app):
        from hardship.accounts.models import User

        user = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    return {**cases, "goods": goods.json["id"], "goods_bought": bought.json["id"], "job": job.json["job"], "user": user, "applied": households[0], "publicizing": households[1],
            "objection": objection.json["id"], "filing": filing.json["id"],
            "allocation": posted.json["id"], "households.csv": IMPORT_CSV}


def _aid_seed(api_as) -> dict:
    """A warmth program of K0101 (central funds, allocated by ``seeded``) and a batch of E0101001 in each state,
    each with one person: draft, submitted, approved and paid."""
    county, enterprise = api_as("k0101_all"), api_as("e0101001_all")
    resp = county.post("/api/v1/programs", json={"tenant": "K0101", "type": "warmth", "year": 2026,
                                                 "name": "2026年两节送温暖", "sources": ["central_finance"]})
    assert resp.status_code == 201, resp.json
    ids = {"program": resp.json["id"]}
    for n, (state, steps) in enumerate([("draft", []), ("submitted", ["submit"]), ("approved", ["submit", "approve"]),
                                        ("paid", ["submit", "approve", "pay"])]):
        person = {"name": "孙八", "id_number": unique_id(30 + n), "reason": "春节坚守一线"}
        resp = enterprise.post(f"/api/v1/programs/{ids['program']}/batches", json={
            "tenant": "E0101001", "items": [{"person": person, "kind": "frontline", "amount": "500.00"}]})
        assert resp.status_code == 201, resp.json
        ids[state], ids[f"{state}_item"] = resp.json["id"], resp.json["items"][0]["id"]
        for step in steps:
            body = {"document_no": "县工发〔2026〕29号", "date": "2026-12-01"} if step == "pay" else {}
            resp = (enterprise if step == "submit" else county).post(f"/api/v1/batches/{ids[state]}/{step}", json=body)
            assert resp.status_code == 200, resp.json
    return {**ids, "aid_items.csv": AID_ITEMS_CSV}


#: an upload of a batch's items: one good frontline worker, one above the standard (a verdict in the job's result)
AID_ITEMS_CSV = "\r\n".join(["受助类别,身份证号,姓名,原因,金额", f"一线职工,{unique_id(23)},钱八,春节坚守一线,300.00",
                              f"一线职工,{unique_id(24)},周九,春节坚守一线,500.01"]).encode()


#: an import of one good household and one with a wrong ID number (a rejected row in the job's result)
IMPORT_CSV = "\r\n".join([
    "户主姓名,身份证号,联系电话,困难类别,致困原因,家庭人均月收入,家庭住址",
    f"王五,{unique_id(7)},13812345678,深度困难,因病,850.00,石家庄市长安区建设北大街7号",
    "赵六,130102197506150010,13812345679,深度困难,因病,850.00,石家庄市长安区建设北大街8号",
]).encode()


def _send(app, client, tree, call: Call, method: str, path: str, ids: dict):
    api = ApiClient(client, tree.token(call.user) if call.user else None)
    url = (call.path or path).format(**ids)
    if call.form is not None:
        data = {k: (io.BytesIO(ids[v[1:-1]]), v[1:-1]) if v.startswith("{") else v for k, v in call.form.items()}
        return api.request(method, url, data=data, content_type="multipart/form-data", headers=call.headers)
    return api.request(method, url, json=call.json, headers=call.headers)


def _dropped(raw, dumped, path: str = "") -> list[str]:
    """The keys of a handler's result (dicts and lists, nested) that its dump left out."""
    if isinstance(raw, dict) and isinstance(dumped, dict):
        return [p for key, value in raw.items()
                for p in ([path + key] if key not in dumped else _dropped(value, dumped[key], f"{path}{key}."))]
    if isinstance(raw, list | tuple) and isinstance(dumped, list):
        return [p for i, (r, d) in enumerate(zip(raw, dumped, strict=True)) for p in _dropped(r, d, f"{path}{i}.")]
    return []


@pytest.fixture
def dropped(monkeypatch) -> list[str]:
    """What the response schemas' dumps drop of the handlers' dict results, from now on."""
    import hardship.api

    schema_of, found = hardship.api._schema, []

    class Watched:
        def __init__(self, schema):
            self.schema = schema

        def __getattr__(self, name):
            return getattr(self.schema, name)

        def dump(self, obj):
            result = self.schema.dump(obj)
            found.extend(_dropped(obj, result))
            return result

    monkeypatch.setattr(hardship.api, "_schema", lambda cls: Watched(schema_of(cls)))
    return found


@pytest.mark.parametrize("route", list(REQUESTS))
def test_the_answer_is_what_the_document_says(app, client, tree, seeded, dropped, route, api_as):
    import schemathesis

    if any(part in route for part in ("/programs", "/batches", "/aid/")):
        seeded = {**seeded, **_aid_seed(api_as)}

    method, path = route.split(" ", 1)
    document = client.get(OPENAPI_PATH).get_json()
    responses = document["paths"][path][method.lower()]["responses"]
    documented = [code for code in responses if code.startswith("2")]
    assert len(documented) == 1, f"{route} documents {documented} as success"

    resp = _send(app, client, tree, REQUESTS[route], method, path, seeded)
    assert str(resp.status_code) == documented[0], f"{route}: {resp.status_code} {resp.get_data(as_text=True)[:500]}"
    assert not dropped, f"{route}: the response schema does not declare {dropped}"
    content = responses[documented[0]].get("content", {})
    if resp.is_json:
        assert "application/json" in content, f"{route} answers JSON but documents no response schema"
        operation = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)[path][method]
        operation.validate_response(schemathesis.Response.from_any(resp))
    else:
        assert "application/json" not in content, f"{route} is documented as JSON but answers {resp.mimetype}"


def test_every_route_has_a_request(app):
    from hardship.api import ENDPOINTS, api, openapi_path

    routes = {f"{method} {api.url_prefix}{openapi_path(ep.rule)}" for ep in ENDPOINTS for method in ep.methods}
    assert routes == set(REQUESTS), {"without a request": routes - set(REQUESTS),
                                     "not a route": set(REQUESTS) - routes}


def test_a_response_that_differs_from_its_schema_fails(app, client, tree, seeded):
    """The check can fail: a response with an undeclared key, or without a required one, does not conform."""
    import schemathesis
    from schemathesis.core.failures import FailureGroup

    operation = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)["/api/v1/tenants/{code}"]["GET"]
    resp = _send(app, client, tree, REQUESTS["GET /api/v1/tenants/{code}"], "GET", "/api/v1/tenants/{code}", seeded)
    operation.validate_response(schemathesis.Response.from_any(resp))
    for changed in ({**resp.json, "extra": 1}, {k: v for k, v in resp.json.items() if k != "level_name"},
                    {**resp.json, "depth": "2"}):
        resp.set_data(json.dumps(changed))
        with pytest.raises((AssertionError, FailureGroup)):
            operation.validate_response(schemathesis.Response.from_any(resp))


def test_an_import_jobs_answer_is_what_the_document_says(app, client, tree, seeded):
    """A finished import's result (imported, rejected rows, ...) as well as the export's of the route's case."""
    import schemathesis

    call = REQUESTS["POST /api/v1/imports/households"]
    started = _send(app, client, tree, call, "POST", "/api/v1/imports/households", seeded)
    assert started.status_code == 202, started.get_data(as_text=True)
    resp = _send(app, client, tree, Call(user=call.user), "GET", f"/api/v1/jobs/{started.json['job']}", seeded)
    assert resp.status_code == 200 and resp.json["status"] == "finished", resp.json
    assert resp.json["imported"] == 1 and [r["field"] for r in resp.json["rejected"]] == ["head.id_number"]
    operation = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)["/api/v1/jobs/{job_id}"]["GET"]
    operation.validate_response(schemathesis.Response.from_any(resp))
