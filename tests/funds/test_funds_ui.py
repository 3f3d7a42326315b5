"""The ledger pages: balances with aging, the posting forms (CSRF, idempotent), reversals, filters, exports."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from hardship.funds.models import FundTransaction
from tests.conftest import csrf_from, system
from tests.fixtures.funds import allocation, counts, lot_balances, post, receipt


@pytest.fixture
def users(tree):
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("C01", roles=("approver",), username="c01_appr")
    tree.user("C01", roles=("clerk",), username="c01_clerk")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    return tree


def _form(client, url):
    page = client.get(url, follow_redirects=True)  # to the form instance's page, ?form=<its key>
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html)
    return html, {"csrf_token": csrf_from(html), "idempotency_key": key.group(1) if key else ""}


def test_funds_page_and_menu(client, login, users, api_as):
    assert post(api_as("c01_fin"), "receipt", receipt(year=2024, date="2024-03-01")).status_code == 201
    login("c01_fin")
    home = client.get("/t/C01/").get_data(as_text=True)
    assert 'href="/t/C01/funds/"' in home  # the menu entry (capability funds.read)
    page = client.get("/t/C01/funds/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = re.search(r'<tr class="aging-(\w+)" data-lot="\d+" data-tenant="C01" data-source="central_finance" '
                    r'data-year="2024">(.*?)</tr>', html, re.S)
    assert row and row.group(1) in ("warning", "overdue")  # a 2024 lot untouched in 2026 or later
    assert "100,000.00" in row.group(2) and "0.0%" in row.group(2)
    assert re.search(r'id="total-balance">100,000.00 元<', html) and "金额单位：元" in html
    assert 'id="new-allocation"' in html and "/t/C01/funds/balances.xlsx" in html
    assert client.get("/t/C01/funds/balances.xlsx?subtree=1").status_code == 200
    assert client.get("/t/C01/funds/transactions.xlsx?kind=receipt").status_code == 200


def test_clerk_has_no_funds_menu_or_page(client, login, users):
    login("c01_clerk")
    assert "/t/C01/funds/" not in client.get("/t/C01/").get_data(as_text=True)
    assert client.get("/t/C01/funds/").status_code == 403
    assert client.get("/t/C01/funds/receipts/new").status_code == 403


def test_post_receipt_and_allocation_through_the_forms(app, client, login, users):
    login("c01_fin")
    _html, hidden = _form(client, "/t/C01/funds/receipts/new")
    data = {**hidden, "source": "central_finance", "fiscal_year": "2026", "amount": "5000.00",
            "document_no": "财社〔2026〕1号", "date": "2026-03-01", "note": ""}
    resp = client.post("/t/C01/funds/receipts/new", data=data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/t/C01/funds/transactions")
    # the same form sent again (a double click, the back button) posts nothing new
    again = client.post("/t/C01/funds/receipts/new", data=data, follow_redirects=True)
    assert again.status_code == 200 and "财社〔2026〕1号" in again.get_data(as_text=True)
    with system(app):
        assert counts(db.session)[0] == 1

    html, hidden = _form(client, "/t/C01/funds/allocations/new")
    assert '<option value="K0101">' in html and '<option value="K0102">' in html and "E0101001" not in html
    resp = client.post("/t/C01/funds/allocations/new", data={
        **hidden, "to": "K0101", "source": "central_finance", "fiscal_year": "2026", "amount": "1200.50",
        "document_no": "石工发〔2026〕3号", "date": "2026-03-02", "purpose": "warmth", "note": "两节送温暖"})
    assert resp.status_code == 302
    with system(app):
        assert lot_balances(db.session) == {("C01", "central_finance", 2026): 3799_50,
                                            ("K0101", "central_finance", 2026): 1200_50}
    listing = client.get("/t/C01/funds/transactions").get_data(as_text=True)
    assert "石工发〔2026〕3号" in listing and "-1,200.50" in listing


def test_form_errors_name_the_fields_and_post_nothing(app, client, login, users):
    login("c01_fin")
    _html, hidden = _form(client, "/t/C01/funds/allocations/new")
    resp = client.post("/t/C01/funds/allocations/new", data={
        **hidden, "to": "K0101", "source": "central_finance", "fiscal_year": "2026", "amount": "1.001",
        "document_no": "", "date": "2026-03-02"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("amount", "document_no"):
        assert re.search(rf'<div class="field has-error">\s*<label for="{field}"', html), field
    # a grandchild is refused, and more than the balance names the balance
    resp = client.post("/t/C01/funds/allocations/new", data={
        **hidden, "to": "E0101001", "source": "central_finance", "fiscal_year": "2026", "amount": "1.00",
        "document_no": "x", "date": "2026-03-02"})
    assert resp.status_code == 422
    resp = client.post("/t/C01/funds/allocations/new", data={
        **hidden, "to": "K0101", "source": "central_finance", "fiscal_year": "2026", "amount": "1.00",
        "document_no": "x", "date": "2026-03-02"})
    assert resp.status_code == 409 and "0.00" in resp.get_data(as_text=True)
    # a union outside the subtree does not exist
    resp = client.post("/t/C01/funds/allocations/new", data={
        **hidden, "to": "K0201", "source": "central_finance", "fiscal_year": "2026", "amount": "1.00",
        "document_no": "x", "date": "2026-03-02"})
    assert resp.status_code == 404
    with system(app):
        assert counts(db.session) == (0, 0, 0)


def test_county_returns_to_the_parent_and_sees_its_lot(app, client, login, users, api_as):
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt()).status_code == 201
    assert post(fin, "allocation", allocation(amount="300.00")).status_code == 201
    login("k0101_fin")
    html = client.get("/t/K0101/funds/").get_data(as_text=True)
    assert 'data-tenant="K0101" data-source="central_finance" data-year="2026"' in html and "300.00" in html
    assert 'data-tenant="C01"' not in html
    page_html, hidden = _form(client, "/t/K0101/funds/returns/new")
    assert 'value="parent"' in page_html
    resp = client.post("/t/K0101/funds/returns/new", data={
        **hidden, "to": "parent", "source": "central_finance", "fiscal_year": "2026", "amount": "100.00",
        "document_no": "县财〔2026〕2号", "date": "2026-05-01"})
    assert resp.status_code == 302
    with system(app):
        assert lot_balances(db.session)[("C01", "central_finance", 2026)] == 99_800_00
    # the county cannot open the city's pages
    assert client.get("/t/C01/funds/").status_code == 404


def test_reverse_through_the_page(app, client, login, users, api_as):
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt()).status_code == 201
    tx_id = post(fin, "allocation", allocation()).json["id"]
    login("c01_appr")
    listing = client.get("/t/C01/funds/transactions").get_data(as_text=True)
    assert f'href="/t/C01/funds/transactions/{tx_id}/reverse"' in listing
    html, hidden = _form(client, f"/t/C01/funds/transactions/{tx_id}/reverse")
    entries = re.search(r'<table class="grid" id="entries">(.*?)</table>', html, re.S).group(1)
    assert "<td>C01工会</td>" in entries and "<td>K0101工会</td>" in entries  # names, not codes
    assert "<td>C01</td>" not in entries and "30,000.00 元" in html
    resp = client.post(f"/t/C01/funds/transactions/{tx_id}/reverse", data={
        **hidden, "document_no": "石工发〔2026〕9号", "date": "2026-03-06", "note": "错拨"})
    assert resp.status_code == 302
    with system(app):
        assert db.session.scalar(sa.select(FundTransaction.reverses_id).where(FundTransaction.kind == "reversal")) \
            == tx_id
        assert lot_balances(db.session)[("K0101", "central_finance", 2026)] == 0
    listing = client.get("/t/C01/funds/transactions").get_data(as_text=True)
    assert f'/transactions/{tx_id}/reverse"' not in listing  # reversed once only


def test_transaction_filters_on_the_page(client, login, users, api_as):
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt()).status_code == 201
    assert post(fin, "receipt", receipt(source="donation", amount="9.99", document_no="捐1")).status_code == 201
    login("c01_fin")
    html = client.get("/t/C01/funds/transactions?source=donation&kind=receipt&year=2026").get_data(as_text=True)
    assert "捐1" in html and "财社〔2026〕12号" not in html
    # nonsense filters are ignored, not errors
    assert client.get("/t/C01/funds/transactions?kind=gift&year=abc&date_from=x&page=0").status_code == 200
