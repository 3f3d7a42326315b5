"""Fixtures of the aid tests: a county (K0101) whose city allocated it money in two fiscal years, its clerk,
approver, head and finance officer, an enterprise clerk, and archived households."""

from __future__ import annotations

import pytest

from tests.fixtures.funds import allocation, post, receipt
from tests.fixtures.households import household_body, make_id


@pytest.fixture
def county(tree, api_as):
    """Users ``c_fin`` (C01 finance), ``k_clerk``, ``k_approver``, ``k_head``, ``k_fin`` (K0101), ``e_clerk``
    (E0101001); K0101 archives at once (no publicity days); C01 received central funds of 2025 and 2026 and
    allocated 800.00 of 2025 and 30,000.00 of 2026 to K0101."""
    tree.user("C01", roles=("finance",), username="c_fin")
    for role in ("clerk", "approver", "head"):
        tree.user("K0101", roles=(role,), username=f"k_{role}")
    tree.user("K0101", roles=("finance",), username="k_fin")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0102", roles=("clerk",), username="k2_clerk")
    assert api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0}).status_code == 200
    fin = api_as("c_fin")
    for year, amount, alloc in ((2025, "1000.00", "800.00"), (2026, "100000.00", "30000.00")):
        resp = post(fin, "receipt", receipt(year=year, amount=amount, date=f"{year}-03-01"))
        assert resp.status_code == 201, resp.json
        resp = post(fin, "allocation", allocation(year=year, amount=alloc, date=f"{year}-03-05"))
        assert resp.status_code == 201, resp.json
    return tree


def archived_household(api_as, tenant="E0101001", name="张三", model_worker=False, head_id=None) -> int:
    body = household_body(tenant, head_id=head_id or make_id())
    body["head"].update(name=name, model_worker=model_worker)
    resp = api_as("k0101_all").post("/api/v1/households", json=body)
    assert resp.status_code == 201, resp.json
    hid = resp.json["id"]
    survey = {"visited_on": "2026-11-20", "visitors": ["王五"], "findings": "属实", "income_per_capita": "800.00"}
    assert api_as("k0101_all").post(f"/api/v1/households/{hid}/surveys", json=survey).status_code == 201
    resp = api_as("k0101_all").post(f"/api/v1/households/{hid}/transitions", json={"action": "publicize"})
    assert resp.status_code == 200 and resp.json["status"] == "archived", resp.json
    return hid


def warmth(api_as, **overrides) -> dict:
    body = {"tenant": "K0101", "type": "warmth", "year": 2026, "name": "2026年两节送温暖", "starts_on": "2026-12-15",
            "ends_on": "2027-02-28", "sources": ["central_finance", "upper_union"], **overrides}
    resp = api_as("k_clerk").post("/api/v1/programs", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def person(name="赵六", id_number=None, reason="春节坚守一线") -> dict:
    return {"name": name, "id_number": id_number or make_id(), "phone": "13812345678", "reason": reason}
