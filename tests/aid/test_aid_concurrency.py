"""No duplicate aid under concurrency (SPEC 5.3): two counties propose the same person in one city program at
the same moment, through the whole app (one transaction per request); the UNIQUE claim decides: exactly one
wins, the other is a 409 naming the union that holds the person."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import IS_PG, system
from tests.fixtures.households import unique_id

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not IS_PG, reason="concurrent transactions need DATABASE_URL pointing at PostgreSQL")]


def test_two_counties_one_person_at_once(committed, app, tree):
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0102", roles=("clerk",), username="k2_clerk")
    client = app.test_client()

    def headers(username):
        return {"Authorization": f"Bearer {tree.token(username)}"}

    resp = client.post("/api/v1/programs", headers=headers("c01_all"), json={
        "tenant": "C01", "type": "warmth", "year": 2026, "name": "全市送温暖", "sources": ["central_finance"]})
    assert resp.status_code == 201, resp.json
    program = resp.json["id"]
    batches = {}
    for username, tenant in (("k_clerk", "K0101"), ("k2_clerk", "K0102")):
        resp = client.post(f"/api/v1/programs/{program}/batches", headers=headers(username),
                           json={"tenant": tenant, "items": []})
        assert resp.status_code == 201, resp.json
        batches[username] = (resp.json["id"], headers(username))

    rounds = 8
    results: dict[int, list] = {n: [] for n in range(rounds)}
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def propose(username):
        bid, auth = batches[username]
        mine = app.test_client()
        for n in range(rounds):
            item = {"person": {"name": "赵六", "id_number": unique_id(500 + n), "reason": "春节坚守一线"},
                    "kind": "frontline", "amount": "500.00"}
            barrier.wait()
            resp = mine.post(f"/api/v1/batches/{bid}/items", headers=auth, json={"items": [item]})
            with lock:
                results[n].append((username, resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=propose, args=(u,)) for u in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    for answers in results.values():
        assert sorted(code for _u, code, _b in answers) == [201, 409], answers
        winner = next(u for u, code, _b in answers if code == 201)
        loser_body = next(b for _u, code, b in answers if code == 409)
        holder = "K0101" if winner == "k_clerk" else "K0102"
        assert holder in loser_body["error"]["message"], loser_body
    with system(app):
        from hardship.aid.models import AidClaim, AidItem

        assert db.session.scalar(sa.select(sa.func.count()).select_from(AidItem)) == rounds
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AidClaim)) == rounds
