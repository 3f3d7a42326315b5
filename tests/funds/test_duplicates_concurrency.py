"""The duplicate rule under concurrency (issue 14): identical postings (same union, kind, 文号 and amount) sent at
the same instant with different idempotency keys. On PostgreSQL each request reads under READ COMMITTED, so
without :func:`hardship.funds.ledger.lock_document` all of them find no earlier posting and all are written;
on SQLite ``BEGIN IMMEDIATE`` serialises them. Exactly one is posted; the others are 409 naming it."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from hardship.funds.models import FundTransaction
from tests.conftest import system
from tests.fixtures.funds import allocation, receipt

THREADS = 8


def _tree(factory):
    factory.tenant("P01", level="province")
    factory.tenant("C01", parent="P01")
    factory.tenant("K0101", parent="C01")
    factory.user("C01", roles=("finance",), username="c01_fin")


def _at_once(app, token: str, path: str, bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    answers: list = [None] * len(bodies)

    def send(n: int):
        client = app.test_client()
        barrier.wait()
        resp = client.post(path, json=bodies[n], headers={"Authorization": f"Bearer {token}",
                                                          "Idempotency-Key": str(uuid.uuid4())})
        answers[n] = (resp.status_code, resp.json)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return answers


def _posted(app, document_no: str) -> list[int]:
    with system(app):
        return list(db.session.scalars(sa.select(FundTransaction.id)
                                       .where(FundTransaction.document_no == document_no)))


@pytest.mark.parametrize("kind", ["receipt", "allocation"])
def test_identical_postings_at_the_same_instant_post_once(committed, app, factory, kind):
    _tree(factory)
    token = factory.token("c01_fin")
    client = app.test_client()
    if kind == "allocation":
        funded = client.post("/api/v1/funds/receipts", json=receipt(amount="1000000.00"),
                             headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "setup"})
        assert funded.status_code == 201, funded.json
        body, path = allocation(amount="100.00", document_no="市工发〔2026〕77号"), "/api/v1/funds/allocations"
    else:
        body, path = receipt(amount="100.00", document_no="财社〔2026〕77号"), "/api/v1/funds/receipts"

    answers = _at_once(app, token, path, [dict(body) for _ in range(THREADS)])

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: THREADS - 1}, answers
    posted = _posted(app, body["document_no"])
    assert len(posted) == 1
    assert all(js["error"]["duplicate_of"] == posted[0] for status, js in answers if status == 409), answers


def test_confirmed_separate_postings_at_the_same_instant_all_post(committed, app, factory):
    """The lock serialises only what the rule checks: confirmed separate postings are all written."""
    _tree(factory)
    token = factory.token("c01_fin")
    body = receipt(amount="100.00", document_no="财社〔2026〕78号", confirm_separate=True)
    answers = _at_once(app, token, "/api/v1/funds/receipts", [dict(body) for _ in range(4)])
    assert Counter(status for status, _ in answers) == {201: 4}, answers
    assert len(_posted(app, body["document_no"])) == 4
