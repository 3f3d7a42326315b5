"""The special-fund ledger (SPEC 4): postings, balances, idempotency, bad input, reversals, scoping."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from hardship.funds.models import RUNNING_TOTALS, FundEntry, FundLot, FundTransaction
from hardship.funds.schemas import AllocationIn, DisbursementIn, PostingIn, ReversalIn
from tests.conftest import system
from tests.fixtures.funds import (
    a_day_later,
    allocation,
    counts,
    lot_balances,
    post,
    receipt,
    refund,
)


@pytest.fixture
def ledger(tree):
    """Role-specific users on top of the tree."""
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("C01", roles=("approver",), username="c01_appr")
    tree.user("C01", roles=("auditor",), username="c01_aud")
    tree.user("C01", roles=("clerk",), username="c01_clerk")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    tree.user("K0101", roles=("approver",), username="k0101_appr")
    tree.user("K0102", roles=("finance",), username="k0102_fin")
    tree.user("P01", roles=("reviewer",), username="p01_rev")
    tree.user("P01", roles=("finance",), username="p01_fin")
    return tree


@pytest.fixture
def funded(ledger, api_as):
    """C01 received 100,000.00 of central finance 2026 and allocated 30,000.00 of it to K0101."""
    fin = api_as("c01_fin", lang="en")
    assert post(fin, "receipt", receipt()).status_code == 201
    resp = post(fin, "allocation", allocation(purpose="warmth"))
    assert resp.status_code == 201, resp.json
    return resp.json


def _balances(client, tenant, **args):
    query = "&".join(f"{k}={v}" for k, v in {"tenant": tenant, **args}.items())
    resp = client.get(f"/api/v1/funds/balances?{query}")
    assert resp.status_code == 200, resp.json
    return resp.json


def _row(result, tenant, source="central_finance", year=2026):
    rows = [r for r in result["rows"] if (r["tenant"], r["source"], r["fiscal_year"]) == (tenant, source, year)]
    assert len(rows) == 1, result["rows"]
    return rows[0]


# ---------------------------------------------------------------- the happy path and appendix A's shapes

def test_receipt_allocation_and_balances(app, api_as, funded):
    assert funded["kind"] == "allocation" and funded["from"] == "C01" and funded["to"] == "K0101"
    assert funded["amount"] == "30000.00" and funded["purpose"] == "warmth" and funded["document_no"] == "市工发〔2026〕5号"
    assert sorted((e["tenant"], e["category"], e["amount"]) for e in funded["entries"]) == [
        ("C01", "allocated_out", "-30000.00"), ("K0101", "allocated_in", "30000.00")]

    result = _balances(api_as("c01_fin"), "C01", subtree=1)
    k = _row(result, "K0101")
    assert k == {"lot": k["lot"], "tenant": "K0101", "tenant_name": "K0101工会", "source": "central_finance",
                 "fiscal_year": 2026, "received": "0.00", "allocated_in": "30000.00", "returned_in": "0.00",
                 "allocated_out": "0.00", "disbursed": "0.00", "returned": "0.00", "balance": "30000.00",
                 "consumed_pct": 0.0, "aging": "ok"}
    c = _row(result, "C01")
    assert (c["received"], c["allocated_out"], c["balance"], c["consumed_pct"]) == (
        "100000.00", "30000.00", "70000.00", 30.0)
    totals = result["totals"]
    assert totals["balance"] == "100000.00" and totals["received"] == "100000.00"
    assert totals["allocated_in"] == totals["allocated_out"] == "30000.00"
    assert totals["warning"] == totals["overdue"] == "0.00"

    # without subtree=1 only the union itself
    own = _balances(api_as("c01_fin"), "C01")
    assert [r["tenant"] for r in own["rows"]] == ["C01"] and own["totals"]["balance"] == "70000.00"
    # the county sees its lot, not the city's
    county = _balances(api_as("k0101_fin"), "K0101", subtree=1)
    assert [(r["tenant"], r["balance"]) for r in county["rows"]] == [("K0101", "30000.00")]

    with system(app):
        assert lot_balances(db.session) == {("C01", "central_finance", 2026): 70_000_00,
                                            ("K0101", "central_finance", 2026): 30_000_00}
        # every transaction's entries sum to zero, outside money included
        sums = db.session.execute(sa.select(FundEntry.transaction_id, sa.func.sum(FundEntry.amount))
                                  .group_by(FundEntry.transaction_id)).all()
        assert len(sums) == 2 and all(total == 0 for _tx, total in sums)
        outside = db.session.execute(sa.select(FundEntry.account, FundEntry.amount)
                                     .where(FundEntry.account.is_not(None))).all()
        assert outside == [("outside:central_finance", -100_000_00)]


def test_a_posting_records_its_lots_and_its_audit_event(app, api_as, funded):
    """The response's entries carry the lots' ids and the audit event names each lot by union, source and
    year, on both paths (PostgreSQL writes a posting as one statement, SQLite row by row); the first
    allocation to a county creates its lot."""
    from hardship.audit.models import AuditEvent
    from tenants.models import Tenant

    entries = {e["tenant"]: e for e in funded["entries"]}
    with system(app):
        lots = {code: lot_id for lot_id, code in db.session.execute(
            sa.select(FundLot.id, Tenant.code).join(Tenant, Tenant.id == FundLot.tenant_id))}
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "funds.allocation"))
    assert entries["C01"]["lot"] == lots["C01"] and entries["K0101"]["lot"] == lots["K0101"]
    assert event.object_id == str(funded["id"]) and event.detail["amount"] == "30000.00"
    assert sorted(event.detail["entries"], key=lambda e: e["amount"]) == [
        {"tenant": "C01", "source": "central_finance", "fiscal_year": 2026, "account": None,
         "category": "allocated_out", "amount": "-30000.00"},
        {"tenant": "K0101", "source": "central_finance", "fiscal_year": 2026, "account": None,
         "category": "allocated_in", "amount": "30000.00"}]


def test_returns_to_finance_and_to_the_parent(app, api_as, funded):
    county = api_as("k0101_fin", lang="en")
    up = post(county, "return", refund(amount="1000.00"))
    assert up.status_code == 201, up.json
    assert up.json["to"] == "C01" and up.json["destination"] == "parent" and up.json["from"] == "K0101"
    # the county sees its own entry, not the parent's lot
    assert [(e["tenant"], e["amount"]) for e in up.json["entries"]] == [("K0101", "-1000.00")]
    out = post(county, "return", refund(to="finance", amount="500.00", document_no="县财〔2026〕1号"))
    assert out.status_code == 201 and out.json["to"] == "finance"

    result = _balances(api_as("c01_fin"), "C01", subtree=1)
    c, k = _row(result, "C01"), _row(result, "K0101")
    assert (c["returned_in"], c["balance"]) == ("1000.00", "71000.00")
    assert (k["returned"], k["balance"], k["consumed_pct"]) == ("1500.00", "28500.00", 5.0)
    with system(app):
        rows = db.session.execute(sa.select(FundTransaction.tenant_id, FundTransaction.poster_tenant_id,
                                            FundTransaction.kind).where(FundTransaction.kind == "return")).all()
        assert len({r.tenant_id for r in rows}) == 1  # both belong to the county, which posted them


def test_county_cannot_return_more_than_it_holds_to_the_parent(app, api_as, funded):
    resp = post(api_as("k0101_fin", lang="en"), "return", refund(amount="30000.01"))
    assert resp.status_code == 409
    assert resp.json["error"]["balance"] == "30000.00" and "30,000.00 yuan" in resp.json["error"]["message"]


def test_root_has_no_parent_to_return_to(api_as, ledger):
    fin = api_as("p01_fin", lang="en")
    assert post(fin, "receipt", receipt("P01")).status_code == 201
    resp = post(fin, "return", refund("P01"))
    assert resp.status_code == 422 and "to" in resp.json["error"]["fields"]


# ---------------------------------------------------------------- idempotency (SPEC 4.4)

def test_same_key_posts_once(app, api_as, ledger):
    fin = api_as("c01_fin")
    key = str(uuid.uuid4())
    first = post(fin, "receipt", receipt(), key=key)
    again = post(fin, "receipt", receipt(), key=key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    # the same posting written differently ("100000" for "100000.00") is the same posting
    same = post(fin, "receipt", {**receipt(), "amount": "100000"}, key=key)
    assert same.status_code == 201 and same.json["id"] == first.json["id"]
    with system(app):
        assert counts(db.session)[0] == 1
        assert lot_balances(db.session) == {("C01", "central_finance", 2026): 100_000_00}


def test_same_key_different_body_is_409(app, api_as, ledger):
    fin = api_as("c01_fin", lang="en")
    key = str(uuid.uuid4())
    assert post(fin, "receipt", receipt(), key=key).status_code == 201
    other = post(fin, "receipt", receipt(amount="1.00"), key=key)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json["error"]["message"] and "idempotency_key" in other.json["error"]["fields"]
    # the key belongs to the posting union: the same key for an allocation is another posting too
    assert post(fin, "allocation", allocation(), key=key).status_code == 409
    with system(app):
        assert counts(db.session)[0] == 1


def test_a_failed_posting_does_not_use_up_its_key(app, api_as, ledger):
    fin = api_as("c01_fin")
    key = str(uuid.uuid4())
    assert post(fin, "allocation", allocation(), key=key).status_code == 409  # nothing to allocate yet
    assert post(fin, "receipt", receipt()).status_code == 201
    assert post(fin, "allocation", allocation(), key=key).status_code == 201


@pytest.mark.parametrize("key", [None, "", " ", "x" * 101])
def test_postings_need_a_key(app, api_as, ledger, key):
    resp = post(api_as("c01_fin", lang="en"), "receipt", receipt(), key=key)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.json["error"]["fields"]
    with system(app):
        assert counts(db.session) == (0, 0, 0)


def test_openapi_documents_the_idempotency_key(client):
    doc = client.get("/api/v1/openapi.json").json
    postings = [("/api/v1/funds/receipts", "post"), ("/api/v1/funds/allocations", "post"),
                ("/api/v1/funds/returns", "post"),
                ("/api/v1/funds/transactions/{transaction_id}/reversal", "post")]
    for path, method in postings:
        headers = [p for p in doc["paths"][path][method]["parameters"] if p["in"] == "header"]
        assert [(h["name"], h["required"], h["schema"]["maxLength"]) for h in headers] == \
            [("Idempotency-Key", True, 100)], path
    assert not any(p["in"] == "header" for p in doc["paths"]["/api/v1/funds/balances"]["get"].get("parameters", []))


# ---------------------------------------------------------------- bad input: a clear error, nothing written

BAD_ALLOCATIONS = [
    # (change, status, field or None, words in the message)
    ({"to": "C02"}, 404, None, ""),  # a sibling of the allocating city: outside its subtree
    ({"to": "K0201"}, 404, None, ""),  # a county of another city
    ({"to": "ZZ99"}, 404, None, ""),
    ({"to": "E0101001"}, 422, "to", "direct child"),  # a grandchild
    ({"to": "C01"}, 422, "to", "direct child"),  # itself
    ({"source": "lottery"}, 422, "source", "Central finance, Provincial finance"),
    ({"amount": "0"}, 422, "amount", "more than zero"),
    ({"amount": "0.00"}, 422, "amount", "more than zero"),
    ({"amount": "-1"}, 422, "amount", "negative"),
    ({"amount": "1.001"}, 422, "amount", "two decimals"),
    ({"amount": "abc"}, 422, "amount", "Not an amount"),
    ({"amount": "100000000.01"}, 422, "amount", "100000000.00"),
    ({"amount": 600.5}, 422, "amount", ""),
    ({"amount": "70000.01"}, 409, "amount", "70,000.00"),  # more than the city's balance
    ({"fiscal_year": 2025}, 409, "amount", "0.00"),  # no money of that year
    ({"document_no": ""}, 422, "document_no", "Required"),
    ({"document_no": "  "}, 422, "document_no", "Required"),
    ({"document_no": "x" * 101}, 422, "document_no", ""),
    ({"date": "2026-02-30"}, 422, "date", "2026-03-01"),
    ({"date": "2099-01-01"}, 422, "date", "future"),
    ({"fiscal_year": 1999}, 422, "fiscal_year", ""),
    ({"fiscal_year": 2026.5}, 422, "fiscal_year", "four-digit"),  # never rounded
    ({"fiscal_year": True}, 422, "fiscal_year", ""),
    ({"fiscal_year": 2028}, 422, "fiscal_year", "2027"),  # at most the year after the posting's date
    ({"fiscal_year": "2027", "date": "2026-03-05"}, 409, "amount", "0.00"),  # next year's: allowed, no money
    ({"date": "２０２６-03-05", "amount": "７０００１"}, 409, "amount", "70,000.00"),  # full-width digits fold
    ({"purpose": "holiday"}, 422, "purpose", ""),
    ({"surprise": 1}, 422, "surprise", ""),
]


@pytest.mark.parametrize(("change", "status", "field", "words"), BAD_ALLOCATIONS,
                         ids=[repr(c[0])[:40] for c in BAD_ALLOCATIONS])
def test_bad_allocations(app, api_as, ledger, change, status, field, words):
    fin = api_as("c01_fin", lang="en")
    assert post(fin, "receipt", receipt(amount="70000.00")).status_code == 201
    with system(app):
        before = counts(db.session), lot_balances(db.session)
    resp = post(fin, "allocation", {**allocation(), **change})
    assert resp.status_code == status, resp.json
    error = resp.json["error"]
    if status == 404:
        assert error == post(fin, "allocation", {**allocation(), "to": "ZZ99"}).json["error"]
    if field:
        assert field in error.get("fields", {}), error
        text = error["message"] + " " + " ".join(map(str, error["fields"][field]))
        assert words in text, error
    with system(app):
        assert (counts(db.session), lot_balances(db.session)) == before


def test_full_width_digits_fold_in_every_input(app, api_as, ledger):
    """The API, the pages and the command line load the same schema: ``"１００"`` is 100.00 everywhere."""
    fin = api_as("c01_fin", lang="en")
    resp = post(fin, "receipt", receipt(amount="１００", year="２０２６"))
    assert resp.status_code == 201, resp.json
    assert (resp.json["amount"], resp.json["fiscal_year"]) == ("100.00", 2026)


def test_missing_document_number_field(app, api_as, ledger):
    body = receipt()
    del body["document_no"]
    resp = post(api_as("c01_fin", lang="en"), "receipt", body)
    assert resp.status_code == 422 and "document_no" in resp.json["error"]["fields"]
    with system(app):
        assert counts(db.session) == (0, 0, 0)


def test_insufficient_balance_names_the_balance(api_as, funded):
    resp = post(api_as("c01_fin", lang="en"), "allocation", allocation(amount="70000.01"))
    assert resp.status_code == 409
    error = resp.json["error"]
    assert error["balance"] == "70000.00" and "70,000.00 yuan" in error["message"] and "C01" in error["message"]


def test_county_allocating_to_a_sibling_county_gets_404(api_as, funded):
    fin = api_as("k0101_fin")
    sibling = post(fin, "allocation", allocation("K0101", "K0102"))
    absent = post(fin, "allocation", allocation("K0101", "ZZ99"))
    assert sibling.status_code == absent.status_code == 404 and sibling.json == absent.json


@pytest.mark.parametrize("user", ["c02_all", "e0101001_all"])
def test_allocating_from_outside_the_subtree_is_absent(api_as, funded, user):
    """``from`` names a tenant too (the isolation matrix checks ``tenant`` and ``parent`` bodies)."""
    client = api_as(user)
    outside = post(client, "allocation", allocation("K0101", "E0101001"))
    absent = post(client, "allocation", allocation("ZZ99", "E0101001"))
    assert outside.status_code == absent.status_code == 404 and outside.json == absent.json


# ---------------------------------------------------------------- who may do what

def test_roles(app, api_as, funded):
    assert post(api_as("c01_clerk"), "receipt", receipt()).status_code == 403
    assert post(api_as("c01_appr"), "receipt", receipt()).status_code == 403
    assert post(api_as("c01_aud"), "allocation", allocation()).status_code == 403
    for user in ("c01_aud", "c01_fin", "p01_rev"):
        assert api_as(user).get("/api/v1/funds/balances?tenant=C01").status_code == 200, user
        assert api_as(user).get("/api/v1/funds/transactions?tenant=C01").status_code == 200, user
    assert api_as("c01_clerk").get("/api/v1/funds/balances?tenant=C01").status_code == 403
    # finance posts for its own union only, not for the unions below it
    below = post(api_as("c01_fin", lang="en"), "receipt", receipt("K0101"))
    assert below.status_code == 403
    assert post(api_as("p01_fin"), "allocation", allocation()).status_code == 403
    with system(app):
        assert counts(db.session)[0] == 2


# ---------------------------------------------------------------- reversals

def _reverse(client, tx_id, key="new", **body):
    body = {"document_no": "市工发〔2026〕8号", "date": "2026-04-01", **body}
    headers = {"Idempotency-Key": str(uuid.uuid4()) if key == "new" else key}
    return client.post(f"/api/v1/funds/transactions/{tx_id}/reversal", json=body, headers=headers)


def test_reverse_an_allocation(app, api_as, funded):
    appr = api_as("c01_appr", lang="en")
    resp = _reverse(appr, funded["id"], note="金额有误")
    assert resp.status_code == 201, resp.json
    assert resp.json["kind"] == "reversal" and resp.json["reverses"] == funded["id"]
    assert resp.json["amount"] == "30000.00" and resp.json["from"] == "K0101" and resp.json["to"] == "C01"
    with system(app):
        assert lot_balances(db.session) == {("C01", "central_finance", 2026): 100_000_00,
                                            ("K0101", "central_finance", 2026): 0}
    k = _row(_balances(api_as("c01_fin"), "C01", subtree=1), "K0101")
    assert k["allocated_in"] == "0.00" and k["balance"] == "0.00"
    listed = api_as("c01_fin").get(f"/api/v1/funds/transactions/{funded['id']}").json
    assert listed["reversed_by"] == resp.json["id"]

    again = _reverse(appr, funded["id"], document_no="又一次")
    assert again.status_code == 409 and "already been reversed" in again.json["error"]["message"]
    of_reversal = _reverse(appr, resp.json["id"])
    assert of_reversal.status_code == 409 and "cannot be reversed" in of_reversal.json["error"]["message"]


def test_reversal_does_not_overdraw_the_child(app, api_as, funded):
    assert post(api_as("k0101_fin"), "return", refund(to="finance", amount="0.01")).status_code == 201
    resp = _reverse(api_as("c01_appr", lang="en"), funded["id"])
    assert resp.status_code == 409
    assert resp.json["error"]["balance"] == "29999.99" and "K0101" in resp.json["error"]["message"]
    with system(app):
        assert lot_balances(db.session)[("K0101", "central_finance", 2026)] == 29_999_99
        assert counts(db.session)[0] == 3


def test_reversal_rules(monkeypatch, app, api_as, funded):
    # the county's approver did not post the allocation
    assert _reverse(api_as("k0101_appr"), funded["id"]).status_code == 403
    # finance posts, approvers reverse (finance its own postings of the day only: tests/funds/test_duplicates.py)
    a_day_later(monkeypatch)
    assert _reverse(api_as("c01_fin"), funded["id"]).status_code == 403
    # a reversal needs its own document number and a date not before the original
    bad = _reverse(api_as("c01_appr", lang="en"), funded["id"], document_no="", date="2026-03-04")
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"document_no"}  # the format first
    bad = _reverse(api_as("c01_appr", lang="en"), funded["id"], document_no="冲", date="2026-03-04")
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"date"}  # then the ledger's rule
    # outside the subtree: absent
    other = _reverse(api_as("c02_all"), funded["id"])
    assert other.status_code == 404 and other.json == _reverse(api_as("c02_all"), 999999).json
    with system(app):
        assert counts(db.session)[0] == 2


def test_reverse_a_return_to_the_parent(app, api_as, funded):
    """The reversal takes the money back from the parent's lot: a write outside the county's subtree."""
    up = post(api_as("k0101_fin"), "return", refund(amount="1000.00"))
    assert up.status_code == 201
    resp = _reverse(api_as("k0101_appr", lang="en"), up.json["id"], date="2026-06-02")
    assert resp.status_code == 201, resp.json
    with system(app):
        assert lot_balances(db.session) == {("C01", "central_finance", 2026): 70_000_00,
                                            ("K0101", "central_finance", 2026): 30_000_00}

    # once the parent has allocated the money on, the reversal cannot take it back
    again = post(api_as("k0101_fin"), "return", refund(amount="1000.00", document_no="县工发〔2026〕10号"))
    assert post(api_as("c01_fin"), "allocation", allocation(to="K0102", amount="71000.00")).status_code == 201
    refused = _reverse(api_as("k0101_appr", lang="en"), again.json["id"], date="2026-06-02")
    assert refused.status_code == 409 and refused.json["error"]["balance"] == "0.00"


# ---------------------------------------------------------------- operations directly (aging, matching, lots)

def _tenants():
    from tenants.models import Tenant

    return {t.code: t for t in db.session.scalars(sa.select(Tenant))}


def _loaded(schema, data: dict) -> dict:
    """What the API, the pages and the command line hand the operations: ``data`` loaded through ``schema``."""
    from hardship.api import load_data

    return load_data(schema, data)


def _op_receipt(tenant, amount, source="central_finance", year=2026, on=None):
    from hardship.funds import operations as ops

    return ops.post_receipt(_tenants()[tenant], _loaded(PostingIn, {
        "source": source, "fiscal_year": year, "amount": amount, "document_no": f"R-{tenant}-{source}-{year}-{amount}",
        "date": on or f"{year}-03-01"})).transaction


def _op_allocate(parent, child, amount, source="central_finance", year=2026, on=None):
    from hardship.funds import operations as ops

    t = _tenants()
    return ops.allocate_funds(t[parent], t[child], _loaded(AllocationIn, {
        "from": parent, "to": child, "source": source, "fiscal_year": year, "amount": amount,
        "document_no": f"A-{child}-{source}-{year}-{amount}", "date": on or f"{year}-04-01"})).transaction


def _aging(app, tenant, today, year=None):
    from datetime import date

    from hardship.funds import queries

    with system(app):
        result = queries.balances(_tenants()[tenant], subtree=True, year=year, today=date.fromisoformat(today))
    return {(r["tenant"], r["fiscal_year"]): (r["aging"], r["consumed_pct"]) for r in result["rows"]}, result["totals"]


@pytest.mark.parametrize(("fiscal_year", "inflow", "consumed", "balance", "today", "expected"), [
    # default rule: >= 50% consumed by the end of Y+1, everything by the end of Y+2
    (2024, 100, 40, 60, "2024-12-31", "ok"),
    (2024, 100, 40, 60, "2025-12-31", "ok"),  # the last day of Y+1 is still in time
    (2024, 100, 40, 60, "2026-01-01", "warning"),  # the day after: less than half consumed
    (2024, 100, 50, 50, "2026-01-01", "ok"),  # exactly half is enough
    (2024, 100, 49, 51, "2026-12-31", "warning"),
    (2024, 100, 99, 1, "2027-01-01", "overdue"),  # a fen left after the end of Y+2
    (2024, 100, 100, 0, "2030-01-01", "ok"),  # fully consumed never ages
    (2024, 0, 0, 0, "2030-01-01", "ok"),  # a reversed receipt: nothing there
])
def test_aging_status(fiscal_year, inflow, consumed, balance, today, expected):
    from datetime import date

    from hardship.funds.queries import aging_status
    from tenants.settings import SPEC_DEFAULTS

    assert aging_status(fiscal_year, inflow, consumed, balance, SPEC_DEFAULTS["aging"],
                        date.fromisoformat(today)) == expected


def test_aging_of_lots_across_year_boundaries(app, ledger):
    with system(app):
        _op_receipt("C01", "10000.00", year=2024)
        _op_allocate("C01", "K0101", "4000.00", year=2024)  # 40% of C01's 2024 lot consumed
        _op_receipt("C01", "500.00", year=2026)
        db.session.commit()
    rows, totals = _aging(app, "C01", "2025-12-31")
    assert rows == {("C01", 2024): ("ok", 40.0), ("K0101", 2024): ("ok", 0.0), ("C01", 2026): ("ok", 0.0)}
    rows, totals = _aging(app, "C01", "2026-01-01")
    assert rows[("C01", 2024)] == ("warning", 40.0) and rows[("K0101", 2024)] == ("warning", 0.0)
    assert rows[("C01", 2026)] == ("ok", 0.0)
    assert totals["warning"] == 6000_00 + 4000_00 and totals["overdue"] == 0
    rows, totals = _aging(app, "C01", "2027-01-01")
    assert rows[("C01", 2024)][0] == "overdue" and totals["overdue"] == 10000_00

    with system(app):
        _op_allocate("C01", "K0101", "1000.00", year=2024)  # now 50% consumed
        db.session.commit()
    rows, totals = _aging(app, "C01", "2026-06-30")
    assert rows[("C01", 2024)] == ("ok", 50.0) and totals["warning"] == 5000_00  # K0101's lot still waits


def test_aging_follows_the_setting(app, ledger):
    """A city's stricter rule applies to its counties too (settings are inherited)."""
    from tenants.operations import update_settings

    with system(app):
        _op_receipt("C01", "1000.00", year=2024)
        _op_allocate("C01", "K0101", "500.00", year=2024)
        update_settings(_tenants()["C01"], {"aging": {"warning_pct": 80, "warning_after_years": 0,
                                                      "overdue_after_years": 1}})
        db.session.commit()
    rows, _totals = _aging(app, "C01", "2024-12-31")
    assert rows == {("C01", 2024): ("ok", 50.0), ("K0101", 2024): ("ok", 0.0)}
    rows, _totals = _aging(app, "C01", "2025-01-01")
    assert rows == {("C01", 2024): ("warning", 50.0), ("K0101", 2024): ("warning", 0.0)}
    rows, _totals = _aging(app, "C01", "2026-01-01")
    assert rows == {("C01", 2024): ("overdue", 50.0), ("K0101", 2024): ("overdue", 0.0)}
    # the sibling city keeps the default
    with system(app):
        _op_receipt("C02", "100.00", year=2024)
        db.session.commit()
    rows, _totals = _aging(app, "C02", "2025-06-01")
    assert rows == {("C02", 2024): ("ok", 0.0)}


def _matching(app, tenant, year, subtree=False):
    from hardship.funds import queries

    with system(app):
        return {r["tenant"]: (r["from_above"], r["ratio"], r["required"], r["achieved"], r["shortfall"])
                for r in queries.matching(_tenants()[tenant], year, subtree=subtree)}


def test_matching(app, ledger, api_as):
    from hardship.funds import operations as ops
    from tenants.operations import update_settings

    with system(app):
        for source, amount in [("central_finance", "1000.00"), ("provincial_finance", "500.00"),
                               ("upper_union", "200.00"), ("donation", "300.00"), ("own_funds", "100.00"),
                               ("local_matching", "700.00")]:
            _op_receipt("C01", amount, source=source, year=2026)
        _op_allocate("C01", "K0101", "300.00", year=2026)
        _op_allocate("C01", "K0101", "100.00", source="donation", year=2026)  # donations need no matching
        # money of fiscal year 2025 that arrived in January 2026 counts for 2025
        _op_receipt("C01", "400.00", year=2025, on="2026-01-10")
        db.session.commit()
    # required = ratio x (central + provincial + upper union received or allocated in); achieved = local matching
    assert _matching(app, "C01", 2026) == {"C01": (1700_00, 1.0, 1700_00, 700_00, 1000_00)}
    assert _matching(app, "C01", 2026, subtree=True) == {
        "C01": (1700_00, 1.0, 1700_00, 700_00, 1000_00), "K0101": (300_00, 1.0, 300_00, 0, 300_00)}
    assert _matching(app, "C01", 2025) == {"C01": (400_00, 1.0, 400_00, 0, 400_00)}

    # the ratio is a setting by year, inherited from the province: 0.5 for 2025 only
    with system(app):
        update_settings(_tenants()["P01"], {"matching_ratio": {"default": 1.0, "2025": 0.5}})
        _op_receipt("C01", "0.01", year=2025, on="2026-01-11")  # an odd fen: half of 400.01 rounds half up
        db.session.commit()
    assert _matching(app, "C01", 2025) == {"C01": (400_01, 0.5, 200_01, 0, 200_01)}
    assert _matching(app, "C01", 2026)["C01"][1:3] == (1.0, 1700_00)

    # a reversed allocation no longer needs matching; a union without lots that year needs none
    with system(app):
        tx = db.session.scalar(sa.select(FundTransaction).where(FundTransaction.kind == "allocation",
                                                                FundTransaction.source == "central_finance"))
        ops.reverse_transaction(tx, _loaded(ReversalIn, {"document_no": "冲", "date": "2026-04-02"}))
        db.session.commit()
    assert _matching(app, "K0101", 2026) == {"K0101": (0, 1.0, 0, 0, 0)}
    assert _matching(app, "K0102", 2026) == {"K0102": (0, 1.0, 0, 0, 0)}

    resp = api_as("c01_fin").get("/api/v1/funds/matching?tenant=C01&year=2026&subtree=1")
    assert resp.status_code == 200
    assert resp.json["rows"][0] == {"tenant": "C01", "tenant_name": "C01工会", "year": 2026, "ratio": 1.0,
                                    "from_above": "1700.00", "required": "1700.00", "achieved": "700.00",
                                    "shortfall": "1000.00"}


# ---------------------------------------------------------------- disbursements (for the aid module)

@pytest.fixture
def county_lots(app, ledger):
    """K0101 holds central 2025 1000.00, central 2026 2000.00, donation 2024 500.00, upper union 2026 300.00."""
    with system(app):
        _op_receipt("C01", "3000.00", year=2025)
        _op_receipt("C01", "3000.00", year=2026)
        _op_allocate("C01", "K0101", "1000.00", year=2025)
        _op_allocate("C01", "K0101", "2000.00", year=2026)
        _op_receipt("K0101", "500.00", source="donation", year=2024)
        _op_receipt("K0101", "300.00", source="upper_union", year=2026)
        db.session.commit()
        return {(lot.source, lot.fiscal_year): lot.id for lot in db.session.scalars(
            sa.select(FundLot).where(FundLot.tenant_id == _tenants()["K0101"].id))}


def _plan(app, amount, sources, lot=None):
    from hardship.funds import operations as ops

    with system(app):
        plan = ops.plan_disbursement(_tenants()["K0101"], amount, sources, lot_id=lot)
        result = [(lot.source, lot.fiscal_year, part) for lot, part in plan]
        db.session.rollback()
    return result


def test_lot_selection_oldest_year_first(app, county_lots):
    from hardship.core.errors import Conflict, ValidationFailed

    assert _plan(app, 1200_00, ["central_finance", "donation"]) == [
        ("donation", 2024, 500_00), ("central_finance", 2025, 700_00)]
    assert _plan(app, 1200_00, ["central_finance"]) == [("central_finance", 2025, 1000_00),
                                                        ("central_finance", 2026, 200_00)]
    # within one year, in the program's order of sources
    assert _plan(app, 2100_00, ["upper_union", "central_finance"]) == [
        ("central_finance", 2025, 1000_00), ("upper_union", 2026, 300_00), ("central_finance", 2026, 800_00)]
    # a named lot, whatever its age
    assert _plan(app, 100_00, ["central_finance"], lot=county_lots[("central_finance", 2026)]) == [
        ("central_finance", 2026, 100_00)]
    with pytest.raises(Conflict) as exc:
        _plan(app, 3000_01, ["central_finance"])
    assert exc.value.extra["balance"] == "3000.00"
    with pytest.raises(Conflict) as exc:
        _plan(app, 500_01, [], lot=county_lots[("donation", 2024)])
    assert exc.value.extra["balance"] == "500.00"
    with pytest.raises(ValidationFailed) as exc:
        _plan(app, 1_00, ["central_finance"], lot=county_lots[("donation", 2024)])
    assert "lot" in exc.value.fields
    with pytest.raises(ValidationFailed):
        _plan(app, 1_00, ["lottery"])
    with system(app):
        c01_lot = db.session.scalar(sa.select(FundLot.id).where(FundLot.tenant_id == _tenants()["C01"].id))
    with pytest.raises(ValidationFailed):
        _plan(app, 1_00, ["central_finance"], lot=c01_lot)


def test_disburse(app, county_lots, api_as):
    from hardship.core.errors import Conflict
    from hardship.funds import operations as ops
    from hardship.funds.reconcile import reconcile

    with system(app):
        payment = _loaded(DisbursementIn, {"amount": "1200.00", "sources": ["central_finance", "donation"],
                                           "document_no": "县帮〔2026〕3号", "date": "2026-11-01",
                                           "reference": "batch:5", "purpose": "warmth"})
        posted = ops.disburse(_tenants()["K0101"], payment, idempotency_key="batch-5-pay")
        tx_id = posted.transaction.id
        assert posted.transaction.source is None  # two lots of different sources and years
        again = ops.disburse(_tenants()["K0101"], {**payment, "amount": 1200_00}, idempotency_key="batch-5-pay")
        assert again.replayed and again.transaction.id == tx_id
        db.session.commit()
        entries = db.session.execute(sa.select(FundEntry.lot_id, FundEntry.account, FundEntry.category,
                                               FundEntry.amount).where(FundEntry.transaction_id == tx_id)
                                     .order_by(FundEntry.id)).all()
        assert entries == [
            (county_lots[("donation", 2024)], None, "disbursed", -500_00), (None, "aid:donation", "external", 500_00),
            (county_lots[("central_finance", 2025)], None, "disbursed", -700_00),
            (None, "aid:central_finance", "external", 700_00)]
        balances = lot_balances(db.session)
        assert balances[("K0101", "donation", 2024)] == 0 and balances[("K0101", "central_finance", 2025)] == 300_00
        assert reconcile() == []
        db.session.rollback()

    # disbursements are corrected in the aid batch: the ledger API refuses to reverse them
    resp = _reverse(api_as("k0101_appr", lang="en"), tx_id, date="2026-11-02")
    assert resp.status_code == 409 and "aid batch" in resp.json["error"]["message"]
    with system(app):
        tx = db.session.scalar(sa.select(FundTransaction).where(FundTransaction.id == tx_id))
        ops.reverse_transaction(tx, _loaded(ReversalIn, {"document_no": "冲销", "date": "2026-11-02"}),
                                allow_disbursement=True)
        db.session.commit()
        assert lot_balances(db.session)[("K0101", "donation", 2024)] == 500_00
        with pytest.raises(Conflict):
            ops.disburse(_tenants()["K0101"], _loaded(DisbursementIn, {
                "amount": "5000.00", "sources": ["central_finance"], "document_no": "x", "date": "2026-11-01"}))
        db.session.rollback()
        assert counts(db.session)[0] == 8


# ---------------------------------------------------------------- reconcile (flask hardship reconcile)

def test_reconcile_command(committed, app, funded, api_as):
    from tests.conftest import DATABASE_URL

    assert post(api_as("k0101_fin"), "return", refund(amount="10.00")).status_code == 201
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["hardship", "reconcile"])
    assert clean.exit_code == 0, clean.output
    assert "no differences" in clean.output and "3 lots" not in clean.output and "2 lots" in clean.output

    # corrupt one balance directly in the database, as the owner (the app's role could do it too:
    # balances are the one updatable ledger table; reconcile is what notices)
    owner = sa.create_engine(DATABASE_URL)
    with owner.begin() as conn:
        lot_id = conn.execute(sa.text(
            "select l.id from fund_lots l join tenants t on t.id = l.tenant_id where t.code = 'K0101'")).scalar()
        conn.execute(sa.text("update fund_lots set balance = balance + 1 where id = :id"), {"id": lot_id})
    broken = runner.invoke(args=["hardship", "reconcile"])
    assert broken.exit_code == 1, broken.output
    assert f"balance: lot {lot_id} (K0101 central_finance 2026): stored 29990.01, computed from the entries 29990.00" \
        in broken.output
    assert "1 differences" in broken.output

    # and a transaction whose entries no longer sum to zero (only the owner can write that)
    with owner.begin() as conn:
        conn.execute(sa.text("update fund_lots set balance = balance - 1 where id = :id"), {"id": lot_id})
        entry = conn.execute(sa.text("select id, transaction_id from fund_entries where account is not null")).one()
        conn.execute(sa.text("update fund_entries set amount = amount + 5 where id = :id"), {"id": entry.id})
    broken = runner.invoke(args=["hardship", "reconcile"])
    assert broken.exit_code == 1
    assert f"transaction does not balance: transaction {entry.transaction_id}" in broken.output
    assert "sum 0.05" in broken.output
    owner.dispose()


# ---------------------------------------------------------------- the transaction list and exports

def test_transaction_list_filters_and_change(app, funded, api_as):
    county = api_as("k0101_fin")
    assert post(county, "return", refund(amount="200.00", date="2026-07-01")).status_code == 201
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt(source="donation", amount="50.00", document_no="捐赠2026-1",
                                        date="2026-05-01")).status_code == 201

    def listed(client, **args):
        query = "&".join(f"{k}={v}" for k, v in args.items())
        resp = client.get(f"/api/v1/funds/transactions?{query}")
        assert resp.status_code == 200, resp.json
        return resp.json

    city = listed(fin, tenant="C01")
    assert [(t["kind"], t["change"]) for t in city["transactions"]] == [
        ("return", "200.00"), ("receipt", "50.00"), ("allocation", "-30000.00"), ("receipt", "100000.00")]
    assert city["total"] == 4
    # the county sees what touched it: the allocation in (from its parent, named) and its return
    mine = listed(county, tenant="K0101")["transactions"]
    assert [(t["kind"], t["change"], t["from"], t["to"]) for t in mine] == [
        ("return", "-200.00", "K0101", "C01"), ("allocation", "30000.00", "C01", "K0101")]
    assert mine[1]["from_name"] == "C01工会"
    # the subtree view nets allocations inside the subtree to zero
    sub = listed(fin, tenant="C01", subtree=1)["transactions"]
    assert [(t["kind"], t["change"]) for t in sub][:3] == [("return", "0.00"), ("receipt", "50.00"),
                                                          ("allocation", "0.00")]
    assert [t["kind"] for t in listed(fin, tenant="C01", kind="receipt")["transactions"]] == ["receipt", "receipt"]
    assert [t["document_no"] for t in listed(fin, tenant="C01", source="donation")["transactions"]] == ["捐赠2026-1"]
    assert len(listed(fin, tenant="C01", date_from="2026-03-02", date_to="2026-06-30")["transactions"]) == 2
    assert [t["kind"] for t in listed(fin, tenant="C01", document_no="捐赠")["transactions"]] == ["receipt"]
    assert listed(fin, tenant="C01", document_no="%")["total"] == 0  # LIKE wildcards are literal
    assert [t["kind"] for t in listed(fin, tenant="C01", purpose="warmth")["transactions"]] == ["allocation"]
    assert listed(fin, tenant="C01", year=2025)["total"] == 0
    bad = fin.get("/api/v1/funds/transactions?tenant=C01&kind=gift&date_from=yesterday")
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"kind", "date_from"}


def test_transaction_pages(app, ledger, api_as):
    with system(app):
        for i in range(55):
            _op_receipt("C01", f"{i + 1}.00")
        db.session.commit()
    fin = api_as("c01_fin")
    first = fin.get("/api/v1/funds/transactions?tenant=C01").json
    second = fin.get("/api/v1/funds/transactions?tenant=C01&page=2").json
    assert first["total"] == 55 and len(first["transactions"]) == 50 and len(second["transactions"]) == 5
    assert not {t["id"] for t in first["transactions"]} & {t["id"] for t in second["transactions"]}


def test_exports(app, funded, api_as):
    import io

    import openpyxl

    fin = api_as("c01_fin")
    resp = fin.get("/api/v1/funds/balances.xlsx?tenant=C01&subtree=1")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("zh_Hans_CN"):  # the headers are Chinese (whatever the catalog says today)
            assert rows[0][:4] == tuple(gettext(h) for h in ("Union code", "Union", "Source", "Fiscal year"))
    assert [r[0] for r in rows[1:]] == ["C01", "K0101", rows[-1][0]] and len(rows) == 4
    assert rows[1][10] == 70000.0 and rows[2][10] == 30000.0 and rows[3][10] == 100000.0

    resp = fin.get("/api/v1/funds/transactions.xlsx?tenant=C01&kind=allocation")
    assert resp.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "市工发〔2026〕5号" and rows[1][5] == 30000.0 and rows[1][6] == -30000.0
    with system(app):
        from hardship.audit.models import AuditEvent

        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"funds.export_balances", "funds.export_transactions", "funds.receipt", "funds.allocation"} <= actions


# ---------------------------------------------------------------- PostgreSQL: append-only, CHECK

@pytest.mark.postgres
def test_ledger_rows_are_append_only_for_the_runtime_role(committed, app, funded):
    from tests.conftest import DATABASE_URL, IS_PG

    if not IS_PG:
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("SET ROLE hardship_app"))
        conn.execute(sa.text("select set_config('app.tenant_path', '/', false)"))
        for statement in ("update fund_transactions set amount = 1", "delete from fund_transactions",
                          "update fund_entries set amount = 1", "delete from fund_entries",
                          "truncate fund_entries"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with conn.begin_nested():
                    conn.execute(sa.text(statement))
        # nor may it change a balance (or any money column) but through the ledger's function
        for statement in ("update fund_lots set balance = balance + 100", "update fund_lots set received = 0",
                          "delete from fund_lots", "truncate fund_lots"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with conn.begin_nested():
                    conn.execute(sa.text(statement))
        # it may still lock a lot, as the disbursement planner does
        assert conn.execute(sa.text("select count(*) from (select id from fund_lots for no key update) l")).scalar()
        conn.rollback()
    with engine.begin() as conn:  # and the CHECK backs the ledger's condition up, even for the owner
        with pytest.raises(sa.exc.IntegrityError, match="ck_fund_lots_balance_not_negative"):
            with conn.begin_nested():
                conn.execute(sa.text("update fund_lots set balance = -1"))
    engine.dispose()


@pytest.mark.postgres
def test_the_ledgers_function_is_the_ledgers_update(committed, app, funded):
    """``hardship_change_lots`` takes the parameters of the ledger's conditional update (one array each, by name),
    changes lots in the runtime role's scope only, and never below zero."""
    from hardship.funds.ledger import _CHANGE_LOT
    from tests.conftest import DATABASE_URL, IS_PG

    if not IS_PG:
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    change = "select hardship_change_lots(lot => :lot, delta => :delta, " + ", ".join(
        f"{name} => :zero" for name in RUNNING_TOTALS) + ")"
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("select proargnames from pg_proc where proname = 'hardship_change_lots'"))
            named = {name for name, bind in _CHANGE_LOT.compile().binds.items() if not bind.unique}
            assert set(names.scalar()) == named == {"lot", "delta", *RUNNING_TOTALS}
            lots = dict(conn.execute(sa.text("select t.code, l.id from fund_lots l join tenants t on t.id = l.tenant_id "
                                             "where t.code in ('C01', 'K0101')")).all())
            before = dict(conn.execute(sa.text("select id, balance from fund_lots")).all())
            conn.execute(sa.text("SET ROLE hardship_app"))
            conn.execute(sa.text("select set_config('app.tenant_path', '/P01/C01/K0101/', false)"))

            def apply(code, delta):
                return conn.execute(sa.text(change), {"lot": [lots[code]], "delta": [delta], "zero": [0]}).scalar()

            assert apply("C01", 100) == 0  # outside the scope: not changed
            assert apply("K0101", -before[lots["K0101"]] - 1) == 0  # not enough money
            assert apply("K0101", 100) == 1
            assert conn.execute(sa.text("select balance from fund_lots")).scalars().all() == [before[lots["K0101"]] + 100]
            conn.execute(sa.text("select set_config('app.tenant_path', '/', false)"))
            assert conn.execute(sa.text("select balance from fund_lots where id = :id"),
                                {"id": lots["C01"]}).scalar() == before[lots["C01"]]
            conn.rollback()
    finally:
        engine.dispose()


def test_every_running_total_moves_with_its_entries(app, ledger, api_as):
    """Each category of :data:`RUNNING_TOTALS` is posted at least once and every lot's totals then equal its
    entries (reconcile), on both databases: a total the write path forgot would never move."""
    from hardship.funds import operations as ops
    from hardship.funds.models import RUNNING_TOTALS
    from hardship.funds.reconcile import reconcile

    fin, county = api_as("c01_fin", lang="en"), api_as("k0101_fin", lang="en")
    assert post(fin, "receipt", receipt(amount="1000.00")).status_code == 201
    assert post(fin, "allocation", allocation(amount="300.00")).status_code == 201
    assert post(county, "return", refund(amount="20.00")).status_code == 201
    assert post(county, "return", refund(amount="30.00", to="finance")).status_code == 201
    with system(app):
        ops.disburse(_tenants()["K0101"], _loaded(DisbursementIn, {
            "amount": "40.00", "sources": ["central_finance"], "document_no": "县帮〔2026〕1号", "date": "2026-11-01"}))
        db.session.commit()
        assert set(db.session.scalars(sa.select(FundEntry.category).where(FundEntry.lot_id.is_not(None)))) == \
            set(RUNNING_TOTALS)
        lots = {(lot.tenant_id == _tenants()["C01"].id): lot for lot in db.session.scalars(sa.select(FundLot))}
        city, county_lot = lots[True], lots[False]
        assert (city.received, city.allocated_out, city.returned_in, city.balance) == (1000_00, 300_00, 20_00, 720_00)
        assert (county_lot.allocated_in, county_lot.returned_out, county_lot.disbursed, county_lot.balance) == (
            300_00, 50_00, 40_00, 210_00)
        assert reconcile() == []
        db.session.rollback()


def test_a_lock_timeout_while_changing_the_lots_is_a_clean_busy_error(committed, app, funded, api_as):
    """An error while changing the lots (here a lock timeout: another connection holds the city's lot) is the
    app's "busy" error, before the COMMIT: nothing stays."""
    from tests.conftest import DATABASE_URL, IS_PG

    if not IS_PG:
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    fin = api_as("c01_fin", lang="en")
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    database = engine.url.database
    with engine.connect() as conn:
        conn.execute(sa.text(f"ALTER DATABASE \"{database}\" SET lock_timeout = '300ms'"))
        conn.commit()
    try:
        with app.app_context():
            db.engine.dispose()  # new connections take the setting
        with system(app):
            before = (counts(db.session), lot_balances(db.session))
        with engine.connect() as holder:
            # NO KEY UPDATE: the posting's rows (whose foreign-key checks take KEY SHARE) pass; its lots wait
            holder.execute(sa.text("select l.id from fund_lots l join tenants t on t.id = l.tenant_id "
                                   "where t.code = 'C01' for no key update"))
            resp = post(fin, "allocation", allocation(amount="1.00"))
            holder.rollback()
        assert resp.status_code == 500, resp.json
        assert "busy" in resp.json["error"]["message"] and "nothing was saved" in resp.json["error"]["message"]
        with system(app):
            assert (counts(db.session), lot_balances(db.session)) == before
        assert post(fin, "allocation", allocation(amount="1.00")).status_code == 201  # and then it works
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"ALTER DATABASE \"{database}\" RESET lock_timeout"))
            conn.commit()
        engine.dispose()
        with app.app_context():
            db.engine.dispose()


def _kill_when_waiting(killer, wait_event: str) -> None:
    """Terminate the one other backend of this database that waits on ``wait_event`` (within 5 seconds)."""
    import time

    for _ in range(100):
        waiting = killer.execute(sa.text(
            "select pid from pg_stat_activity where datname = current_database() and wait_event = :w "
            "and pid <> pg_backend_pid()"), {"w": wait_event}).scalars().all()
        if waiting:
            break
        time.sleep(0.05)
    assert len(waiting) == 1, waiting
    killer.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": waiting[0]})


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(committed, app, funded, api_as):
    """A connection lost before the COMMIT was sent: nothing was saved, and the answer says so (500). Lost
    while the COMMIT is carried out (here a deferred trigger sleeps in it): the posting may or may not have
    been saved, and the answer says that (503 outcome_unknown). Repeating with the same key then gives the
    one true outcome: here it was not saved, so it is posted, once."""
    import threading

    from tests.conftest import DATABASE_URL, IS_PG

    if not IS_PG:
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    fin = api_as("c01_fin", lang="en")
    engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
    with system(app):
        before = (counts(db.session), lot_balances(db.session))

    def posting_killed(key, wait_event, hold_lot=False):
        answers = []
        with engine.connect() as holder, engine.connect() as killer:
            if hold_lot:
                holder.execute(sa.text("select l.id from fund_lots l join tenants t on t.id = l.tenant_id "
                                       "where t.code = 'C01' for no key update"))
            poster = threading.Thread(target=lambda: answers.append(
                post(fin, "allocation", allocation(amount="1.00"), key=key)))
            poster.start()
            _kill_when_waiting(killer, wait_event)
            poster.join(10)
            holder.rollback()
        return answers[0]

    try:
        key = str(uuid.uuid4())
        resp = posting_killed(key, "transactionid", hold_lot=True)
        assert resp.status_code == 500 and "nothing was saved" in resp.json["error"]["message"], resp.json
        with system(app):
            assert (counts(db.session), lot_balances(db.session)) == before

        with engine.begin() as conn:  # a COMMIT that takes its time: a deferred trigger sleeps in it
            conn.execute(sa.text("create function test_slow_commit() returns trigger language plpgsql as "
                                 "$$ begin perform pg_sleep(5); return null; end $$"))
            conn.execute(sa.text("grant execute on function test_slow_commit() to public"))
            conn.execute(sa.text("create constraint trigger test_slow_commit after insert on fund_transactions "
                                 "deferrable initially deferred for each row execute function test_slow_commit()"))
        resp = posting_killed(key, "PgSleep")
        assert resp.status_code == 503 and resp.json["error"]["code"] == "outcome_unknown", resp.json
        assert "may or may not have been saved" in resp.json["error"]["message"]
        with engine.begin() as conn:
            conn.execute(sa.text("drop trigger test_slow_commit on fund_transactions"))
            conn.execute(sa.text("drop function test_slow_commit()"))
        with system(app):
            assert (counts(db.session), lot_balances(db.session)) == before
        again = post(fin, "allocation", allocation(amount="1.00"), key=key)
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        replay = post(fin, "allocation", allocation(amount="1.00"), key=key)
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json["id"] == again.json["id"]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("drop trigger if exists test_slow_commit on fund_transactions"))
            conn.execute(sa.text("drop function if exists test_slow_commit()"))
        engine.dispose()


# ---------------------------------------------------------------- the demo ledger

def test_demo_ledger(committed, app):
    from datetime import date

    from hardship.funds import queries

    runner = app.test_cli_runner()
    assert runner.invoke(args=["hardship", "demo"]).exit_code == 0
    y = date.today().year
    with system(app):
        posted = counts(db.session)[0]
        assert posted >= 40
        result = queries.balances(_tenants()["P01"], subtree=True)
        aging = {(r["tenant"], r["source"], r["fiscal_year"]): r["aging"] for r in result["rows"]}
        assert aging[("K0202", "central_finance", y - 3)] == "overdue"
        assert aging[("K0103", "provincial_finance", y - 2)] == "warning"
        assert aging[("C01", "central_finance", y)] == "ok"
        assert result["totals"]["overdue"] == 300_000_00 and result["totals"]["balance"] > 0
        kinds = set(db.session.scalars(sa.select(FundTransaction.kind)))
        assert kinds == {"receipt", "allocation", "return", "disbursement"}
        matching = {r["tenant"]: r for r in queries.matching(_tenants()["C01"], y, subtree=True)}
        assert matching["C01"]["achieved"] == 2_400_000_00 and matching["K0101"]["achieved"] == 300_000_00
        db.session.rollback()
    again = runner.invoke(args=["hardship", "demo"])
    assert again.exit_code == 0
    reconciled = runner.invoke(args=["hardship", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output
    with system(app):
        assert counts(db.session)[0] == posted


@pytest.mark.parametrize("amount", [0, -1, 100_000_000_01, "0", "-1", "1.001", "abc", None, True, 600.5])
def test_disbursement_options_refuse_bad_amounts(app, county_lots, amount):
    from hardship.core.errors import ValidationFailed

    with system(app):
        before = counts(db.session), lot_balances(db.session)
        with pytest.raises(ValidationFailed) as exc:
            _loaded(DisbursementIn, {"amount": amount, "sources": ["central_finance"], "document_no": "x",
                                     "date": "2026-11-01"})
        assert "amount" in exc.value.fields
        db.session.rollback()
        assert (counts(db.session), lot_balances(db.session)) == before


def test_a_posting_never_commits(app, ledger):
    """The owner of the transaction commits: a posting its caller rolls back leaves nothing, with the lot it
    created, on both databases."""
    from hardship.funds import operations as ops

    with system(app):
        before = counts(db.session), lot_balances(db.session)
        posted = ops.post_receipt(_tenants()["C01"], _loaded(PostingIn, {
            "source": "central_finance", "fiscal_year": 2026, "amount": "10.00", "document_no": "测〔2026〕1号",
            "date": "2026-03-01"}), idempotency_key="never-commits")
        assert posted.transaction.id is not None and not posted.replayed
        assert counts(db.session) == (before[0][0] + 1, before[0][1] + 2, before[0][2] + 1)
        db.session.rollback()
        assert (counts(db.session), lot_balances(db.session)) == before


def test_the_transaction_list_page_is_ascii_digits(tree, api_as):
    api = api_as("c01_all")
    assert api.get("/api/v1/funds/transactions?tenant=C01&page=2").status_code == 200
    for page in ("٣", "2.5", "1e2"):  # another script's digit, a fraction, an exponent: never read as a page
        resp = api.get(f"/api/v1/funds/transactions?tenant=C01&page={page}")
        assert resp.status_code == 422 and "page" in resp.json["error"]["fields"], (page, resp.json)
