"""One owner of the transaction, one commit rule (``hardship.core.db.commit``): a COMMIT that fails because the
connection was lost may or may not have been carried out, so the API and the pages answer 503
``outcome_unknown``; any other failure, and every failure before the COMMIT, stays "nothing was saved"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hardship.core.db import db
from tests.conftest import system
from tests.fixtures.funds import counts, post, receipt


def _failing_commit(monkeypatch, exc: Exception) -> None:
    """Every session's COMMIT fails with ``exc`` (after rolling back, as a lost COMMIT may have)."""
    def commit(self):
        self.rollback()
        raise exc

    monkeypatch.setattr(Session, "commit", commit)


def _lost(invalidated: bool = True) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"),
                                   connection_invalidated=invalidated)


@pytest.fixture
def poster(tree):
    tree.user("C01", roles=("finance",), username="c01_fin")
    return tree


def test_a_commit_lost_with_its_connection_is_outcome_unknown_in_the_api(app, api_as, poster, monkeypatch):
    fin = api_as("c01_fin", lang="en")
    _failing_commit(monkeypatch, _lost())
    resp = post(fin, "receipt", receipt())
    assert resp.status_code == 503 and resp.json["error"]["code"] == "outcome_unknown", resp.json
    assert "Idempotency-Key" in resp.json["error"]["message"]


def test_a_commit_that_fails_otherwise_says_nothing_was_saved(app, api_as, poster, monkeypatch):
    fin = api_as("c01_fin", lang="en")
    _failing_commit(monkeypatch, sa.exc.IntegrityError("COMMIT", {}, Exception("deferred constraint")))
    resp = post(fin, "receipt", receipt())
    assert resp.status_code == 409 and resp.json["error"]["code"] == "conflict", resp.json
    with system(app):
        assert counts(db.session) == (0, 0, 0)


def test_a_commit_lost_with_its_connection_is_outcome_unknown_on_the_pages(app, client, login, poster,
                                                                           monkeypatch):
    from tests.funds.test_funds_ui import _form

    login("c01_fin")
    _html, hidden = _form(client, "/t/C01/funds/receipts/new")
    _failing_commit(monkeypatch, _lost())
    resp = client.post("/t/C01/funds/receipts/new", data={
        **hidden, "source": "central_finance", "fiscal_year": "2026", "amount": "10.00", "document_no": "财1",
        "date": "2026-03-01", "note": ""})
    assert resp.status_code == 503
    assert "无法确定是否已保存" in resp.get_data(as_text=True)
    # no "Posted" beside the error, nor waiting for the next page: the success is flashed after the commit
    assert "flash-success" not in resp.get_data(as_text=True)
    with client.session_transaction() as session:
        assert [m for category, m in session.get("_flashes", []) if category == "success"] == []


def test_a_page_flashes_its_success_after_the_commit(app, client, login, poster):
    from tests.funds.test_funds_ui import _form

    login("c01_fin")
    _html, hidden = _form(client, "/t/C01/funds/receipts/new")
    resp = client.post("/t/C01/funds/receipts/new", follow_redirects=True, data={
        **hidden, "source": "central_finance", "fiscal_year": "2026", "amount": "10.00", "document_no": "财1",
        "date": "2026-03-01", "note": ""})
    assert resp.status_code == 200 and "财1" in resp.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_flashes" not in session  # shown once, on the page after the redirect
