"""Duplicate postings caught (SPEC 4.4, issue 14 item 3): a second posting of a union with the same kind, 文号
and amount (and receiving union), not reversed, is refused naming the first unless confirmed as a separate
posting (API ``confirm_separate``, the page's checkbox, ``--confirm-separate``); a finance officer reverses
their own posting of the same day, later reversals and others' postings stay with the approver."""

from __future__ import annotations

import re
import uuid

import pytest

from hardship.core.db import db
from tests.conftest import csrf_from, system
from tests.fixtures.funds import a_day_later, allocation, counts, post, receipt
from tests.funds.test_funds_cli import funds
from tests.funds.test_funds_ui import _form


@pytest.fixture
def users(tree):
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("C01", roles=("finance",), username="c01_fin2")
    tree.user("C01", roles=("approver",), username="c01_appr")
    return tree


@pytest.fixture
def funded(users, api_as):
    fin = api_as("c01_fin")
    assert post(fin, "receipt", receipt(amount="1000000.00")).status_code == 201
    first = post(fin, "allocation", allocation(amount="30000.00"))
    assert first.status_code == 201
    return first.json


def _transactions(app) -> int:
    with system(app):
        return counts(db.session)[0]


def test_api_refuses_the_same_document_and_amount_naming_the_first(app, api_as, funded):
    fin = api_as("c01_fin")
    again = post(fin, "allocation", allocation(amount="30000.00"))
    assert again.status_code == 409
    error = again.json["error"]
    assert error["duplicate_of"] == funded["id"]
    assert "市工发〔2026〕5号" in error["message"] and "2026-03-05" in error["message"]
    assert "30,000.00 元" in error["message"] and "confirm_separate" in error["fields"]
    assert _transactions(app) == 2
    # explicit confirmation: a separate posting of the same document
    separate = post(fin, "allocation", allocation(amount="30000.00", confirm_separate=True))
    assert separate.status_code == 201, separate.json
    assert _transactions(app) == 3
    # not the same posting: another amount, another receiving union, another kind
    assert post(fin, "allocation", allocation(amount="30000.01")).status_code == 201
    assert post(fin, "allocation", allocation(to="K0102", amount="30000.00")).status_code == 201
    assert post(fin, "receipt", receipt(amount="30000.00", document_no="市工发〔2026〕5号")).status_code == 201


def test_a_replay_returns_the_first_and_a_reversed_posting_is_no_duplicate(app, api_as, funded):
    fin, key = api_as("c01_fin"), str(uuid.uuid4())
    body = receipt(amount="500.00", document_no="捐〔2026〕1号")
    assert post(fin, "receipt", body, key=key).status_code == 201
    replay = post(fin, "receipt", body, key=key)  # the same key: the first result, no refusal
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    # once the first is reversed, the document may be posted again (the correction of a wrong posting)
    reversal = api_as("c01_appr").post(f"/api/v1/funds/transactions/{funded['id']}/reversal",
                                       json={"document_no": "冲〔2026〕1号", "date": "2026-03-06"},
                                       headers={"Idempotency-Key": str(uuid.uuid4())})
    assert reversal.status_code == 201, reversal.json
    assert post(fin, "allocation", allocation(amount="30000.00")).status_code == 201


def test_the_page_refuses_and_offers_the_confirmation(app, client, login, funded):
    login("c01_fin")
    _html, hidden = _form(client, "/t/C01/funds/allocations/new")
    data = {**hidden, "to": "K0101", "source": "central_finance", "fiscal_year": "2026", "amount": "30000.00",
            "document_no": "市工发〔2026〕5号", "date": "2026-03-05"}
    refused = client.post("/t/C01/funds/allocations/new", data=data)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert re.search(r'<input[^>]*id="confirm_separate"[^>]*type="checkbox"|type="checkbox"[^>]*id="confirm_separate"',
                     html)
    assert "市工发〔2026〕5号" in html and "30,000.00" in html
    assert _transactions(app) == 2
    done = client.post("/t/C01/funds/allocations/new", data={**data, "confirm_separate": "y"})
    assert done.status_code == 302
    assert _transactions(app) == 3


def test_command_line_refuses_unless_confirmed(app, funded):
    args = ["allocate", "--user", "c01_fin", "--from", "C01", "--to", "K0101", "--amount", "30000",
            "--document-no", "市工发〔2026〕5号", "--source", "central_finance", "--fiscal-year", "2026",
            "--date", "2026-03-05"]
    refused = funds(app, *args, "--key", "dup-1")
    assert refused.exit_code == 2 and "市工发〔2026〕5号" in refused.stderr and "30,000.00" in refused.stderr
    assert _transactions(app) == 2
    done = funds(app, *args, "--key", "dup-1", "--confirm-separate")
    assert done.exit_code == 0, done.output
    assert _transactions(app) == 3


# ---------------------------------------------------------------- finance reverses its own posting of the day

def _reverse(client, tx_id, document_no="冲〔2026〕1号"):
    return client.post(f"/api/v1/funds/transactions/{tx_id}/reversal",
                       json={"document_no": document_no, "date": "2026-03-06"},
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def test_finance_reverses_its_own_posting_of_the_day(app, api_as, funded):
    # another finance officer's posting, even of today, is the approver's
    assert _reverse(api_as("c01_fin2"), funded["id"]).status_code == 403
    done = _reverse(api_as("c01_fin"), funded["id"])
    assert done.status_code == 201, done.json
    assert done.json["reverses"] == funded["id"] and done.json["posted_by"] == "c01_fin"


def test_finance_does_not_reverse_yesterdays_posting(monkeypatch, app, api_as, funded):
    a_day_later(monkeypatch)
    refused = _reverse(api_as("c01_fin", lang="en"), funded["id"])
    assert refused.status_code == 403 and "same day" in refused.json["error"]["message"]
    assert _reverse(api_as("c01_appr"), funded["id"]).status_code == 201


def test_finance_reverses_on_the_page(app, client, login, funded):
    login("c01_fin")
    listing = client.get("/t/C01/funds/transactions").get_data(as_text=True)
    link = f'href="/t/C01/funds/transactions/{funded["id"]}/reverse"'
    assert link in listing
    _html, hidden = _form(client, f"/t/C01/funds/transactions/{funded['id']}/reverse")
    resp = client.post(f"/t/C01/funds/transactions/{funded['id']}/reverse", data={
        **hidden, "document_no": "冲〔2026〕1号", "date": "2026-03-06", "note": "错拨"})
    assert resp.status_code == 302


def test_finance_sees_no_reversal_of_yesterdays_posting_on_the_page(monkeypatch, app, client, login, funded):
    a_day_later(monkeypatch)
    login("c01_fin")
    listing = client.get("/t/C01/funds/transactions").get_data(as_text=True)
    assert f'/transactions/{funded["id"]}/reverse"' not in listing
    page = client.get(f"/t/C01/funds/transactions/{funded['id']}/reverse", follow_redirects=True)
    assert page.status_code == 200 and 'id="reversal"' not in page.get_data(as_text=True)
    resp = client.post(f"/t/C01/funds/transactions/{funded['id']}/reverse", data={
        "csrf_token": csrf_from(listing),
        "document_no": "冲〔2026〕1号", "date": "2026-03-06"})
    assert resp.status_code == 403


def test_approver_sees_the_reversal_of_yesterdays_posting_on_the_page(monkeypatch, app, client, login, funded):
    a_day_later(monkeypatch)
    login("c01_appr")
    assert f'/transactions/{funded["id"]}/reverse"' in client.get("/t/C01/funds/transactions").get_data(as_text=True)
