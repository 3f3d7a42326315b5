"""A hand-computed small tree for the summary (SPEC 6.1): the city C01 with its counties K0101 (enterprise
E0101001) and K0102, households whose history is placed in time, postings with a reversal and a return, one
paid aid batch and desk cases. The expected figures are written out in the tests."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.aid.conftest import county, person, warmth  # noqa: F401 (the aid tests' funded county)
from tests.conftest import system
from tests.fixtures.funds import allocation, post, receipt, refund
from tests.fixtures.goods import donation, item_body
from tests.fixtures.households import household_body, make_id

SURVEY = {"visited_on": "2026-11-20", "visitors": ["王五"], "findings": "属实", "income_per_capita": "800.00"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def register(api, tenant, name, *, archive=True, **overrides) -> int:
    body = household_body(tenant, head_id=make_id(), **overrides)
    body["head"]["name"] = name
    resp = api.post("/api/v1/households", json=body)
    assert resp.status_code == 201, resp.json
    hid = resp.json["id"]
    assert api.post(f"/api/v1/households/{hid}/surveys", json=SURVEY).status_code == 201
    if archive:
        resp = api.post(f"/api/v1/households/{hid}/transitions", json={"action": "publicize"})
        assert resp.status_code == 200 and resp.json["status"] == "archived", resp.json
    return hid


def act(api, hid, action, reason="") -> None:
    resp = api.post(f"/api/v1/households/{hid}/transitions", json={"action": action, "reason": reason})
    assert resp.status_code == 200, resp.json


@contextmanager
def clock(monkeypatch, text: str):
    """Run a block with the application's clock (``hardship.core.db.utcnow``, which stamps the history) at the
    given UTC time: the history is append-only on PostgreSQL, so the test moves the clock, not the rows."""
    from hardship.core import db as core_db

    moment = utc(text)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

    monkeypatch.setattr(core_db, "datetime", Frozen)
    try:
        yield
    finally:
        monkeypatch.setattr(core_db, "datetime", datetime)


@pytest.fixture
def city(app, county, api_as, monkeypatch):  # noqa: F811
    """See the module docstring; returns the households' ids by name."""
    k1, k2 = api_as("k0101_all"), api_as("k0102_all")
    assert k2.put("/api/v1/tenants/K0102/settings", json={"publicity_days": 0}).status_code == 200
    h = {}
    with clock(monkeypatch, "2025-06-01T04:00:00"):
        h["h1"], h["h3"] = register(k1, "E0101001", "甲一"), register(k2, "K0102", "丙三")
        h["h2"] = register(k1, "E0101001", "乙二", archive=False)
    with clock(monkeypatch, "2026-02-01T04:00:00"):
        act(k2, h["h3"], "cancel", "death: 因病去世")
    with clock(monkeypatch, "2026-03-10T04:00:00"):
        act(k1, h["h2"], "publicize")
    with clock(monkeypatch, "2026-05-01T04:00:00"):
        act(k2, h["h3"], "reopen", "家属重新申请")
    with clock(monkeypatch, "2026-06-01T04:00:00"):  # h1's category and reasons corrected
        resp = k1.patch(f"/api/v1/households/{h['h1']}", json={"category": "accident", "reasons": ["unemployment"],
                                                               "reason": "家庭情况变化"})
        assert resp.status_code == 200, resp.json
    with clock(monkeypatch, "2026-11-15T04:00:00"):
        act(k1, h["h2"], "exit", "收入已稳定")
    with clock(monkeypatch, "2026-11-20T04:00:00"):
        h["h4"] = register(k1, "E0101001", "丁四", archive=False, category="relative",
                           reasons=["disability", "illness"])
    with clock(monkeypatch, "2026-12-01T04:00:00"):
        act(k1, h["h4"], "publicize")
    with clock(monkeypatch, "2026-12-02T04:00:00"):
        act(k1, h["h4"], "relieve", "已解困")
    # 2025-12-31 16:30 UTC is 2026-01-01 00:30 in Shanghai; 2026-11-30 16:30 UTC is already December there
    with clock(monkeypatch, "2025-12-31T16:30:00"):
        h["h5"] = register(k1, "K0101", "戊五")
    with clock(monkeypatch, "2026-11-30T16:30:00"):
        h["h6"] = register(k1, "E0101001", "己六")

    # one paid warmth batch of E0101001: 600.00 to h1 and 300.00 plus 2 bags of K0101's rice (100.00 of goods)
    # to a frontline worker, paid 2026-12-01
    program = warmth(api_as)
    rice = api_as("k_clerk").post("/api/v1/goods", json=item_body())
    assert rice.status_code == 201, rice.json
    assert api_as("k_clerk").post(f"/api/v1/goods/{rice.json['id']}/receipts", json=donation(20)).status_code == 201
    clerk = api_as("e_clerk")
    resp = clerk.post(f"/api/v1/programs/{program['id']}/batches", json={"tenant": "E0101001", "items": [
        {"household": h["h1"], "amount": "600.00"},
        {"person": person(), "kind": "frontline", "amount": "300.00",
         "goods": {"item": rice.json["id"], "quantity": 2}}]})
    assert resp.status_code == 201, resp.json
    bid = resp.json["id"]
    assert clerk.post(f"/api/v1/batches/{bid}/submit", json={}).status_code == 200
    assert api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={}).json["status"] == "approved"
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json={"document_no": "县工发〔2026〕30号",
                                                                      "date": "2026-12-01"})
    assert resp.status_code == 200, resp.json

    # the ledger: K0101 receives 5,000.00 of local matching and returns 200.00 to finance; C01 allocates
    # 5,000.00 to K0102 and reverses it
    fin = api_as("k_fin")
    resp = post(fin, "receipt", receipt(tenant="K0101", source="local_matching", amount="5000.00", date="2026-04-01"))
    assert resp.status_code == 201, resp.json
    resp = post(fin, "return", refund(tenant="K0101", to="finance", amount="200.00", date="2026-05-01"))
    assert resp.status_code == 201, resp.json
    resp = post(api_as("c_fin"), "allocation", allocation(to="K0102", amount="5000.00", date="2026-04-02"))
    assert resp.status_code == 201, resp.json
    resp = post(api_as("c01_all"), f"/api/v1/funds/transactions/{resp.json['id']}/reversal",
                {"document_no": "市工发〔2026〕8号", "date": "2026-04-03", "note": "下拨有误"})
    assert resp.status_code == 201, resp.json

    # desk: two cases at K0101 (one closed, one past its deadline), one open at C01
    for api, tenant, deadline in ((k1, "K0101", "2027-06-30"), (k1, "K0101", "2027-06-30"),
                                  (api_as("c01_all"), "C01", "2027-06-30")):
        resp = api.post("/api/v1/cases", json={
            "tenant": tenant, "kind": "petition", "channel": "visit", "category": "unpaid_wages",
            "person": {"name": "赵六", "phone": "13812345678"}, "subject": "企业拖欠工资",
            "received_on": "2026-11-20", "deadline": deadline})
        assert resp.status_code == 201, resp.json
        h.setdefault("cases", []).append(resp.json["id"])
    from hardship.desk.models import Case

    with system(app):  # the first one's deadline passed (a deadline cannot be given in the past)
        db.session.execute(sa.update(Case).where(Case.id == h["cases"][0]).values(deadline=date(2026, 11, 25)))
        db.session.commit()
    resp = k1.post(f"/api/v1/cases/{h['cases'][1]}/close", json={"result": "resolved", "note": "已补发"})
    assert resp.status_code == 200, resp.json
    return h
