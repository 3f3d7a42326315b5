"""PII key rotation: new values use the new key, old values stay readable, rotate-pii rewrites them."""

import base64
import os

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import system
from tests.fixtures.households import household_body, make_id


def test_rotation(app, api_as, tree):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    head = make_id()
    hid = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=head)).json["id"]
    old = app.config["PII_KEYS"]
    new_key = "k2:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
    app.config["PII_KEYS"] = f"{new_key},{old}"
    try:
        detail = api_as("e_clerk").get(f"/api/v1/households/{hid}").json
        assert detail["head"]["id_number"] == head  # old values stay readable
        result = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
        assert result.exit_code == 0 and "household_persons: 1" in result.output, result.output
        with system(app):
            values = db.session.execute(sa.text("select id_enc, phone_enc from household_persons")).all()
            assert all(v.startswith("k2:") for row in values for v in row if v)
        again = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
        assert "household_persons: 0" in again.output and "households: 0" in again.output
        app.config["PII_KEYS"] = new_key  # the old key can now be dropped
        assert api_as("e_clerk").get(f"/api/v1/households/{hid}").json["head"]["id_number"] == head
    finally:
        app.config["PII_KEYS"] = old


def _copy_onto(app, table: str, column: str, from_id: int, to_id: int) -> None:
    """Copy an encrypted value from one row onto another with SQL, as the database's owner could."""
    engine = sa.create_engine(app.config["DATABASE_OWNER_URL"], poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"update {table} set {column} = (select {column} from {table} where id = :f) "
                                 "where id = :t"), {"f": from_id, "t": to_id})
    finally:
        engine.dispose()


@pytest.mark.parametrize("table, column", [("household_persons", "id_enc"), ("households", "card_enc")])
def test_an_encrypted_value_copied_onto_another_row_is_refused(committed, app, api_as, tree, table, column, caplog):
    """Values are bound to their row: a ciphertext copied onto another household fails to decrypt there with
    a clear error (in the server's log; the reader gets the error page), it never shows the other person's data."""
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    clerk = api_as("e_clerk")
    bodies = [household_body(head_id=make_id()) for _ in range(2)]
    first, second = (clerk.post("/api/v1/households", json=body).json["id"] for body in bodies)
    if table == "households":
        source, target = first, second
    else:
        with system(app):
            source, target = (db.session.scalar(sa.select(sa.text("id")).select_from(sa.table(table)).where(
                sa.text("household_id = :h and role = 'head'")).params(h=h)) for h in (first, second))
    _copy_onto(app, table, column, source, target)
    original = clerk.get(f"/api/v1/households/{first}")
    assert original.status_code == 200 and original.json["head"]["id_number"] == bodies[0]["head"]["id_number"]
    copied = clerk.get(f"/api/v1/households/{second}")
    assert copied.status_code == 500
    text = copied.get_data(as_text=True)
    assert bodies[0]["head"]["id_number"] not in text and bodies[0]["bank"]["card_number"] not in text
    assert "PiiBindingError" in caplog.text and "was not written for this row and column" in caplog.text


def test_rotation_binds_values_written_before_the_binding(app, api_as, tree):
    """A value written before the row binding (bound to its column only) stays readable; rotate-pii rewrites
    it bound to its row, with the same key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    head = make_id()
    hid = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=head)).json["id"]
    key_id, _, b64 = app.config["PII_KEYS"].split(",")[0].partition(":")
    nonce = os.urandom(12)
    aead = AESGCM(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)))
    legacy = f"{key_id}:{base64.b64encode(nonce + aead.encrypt(nonce, head.encode(), b'persons.id')).decode()}"
    with system(app):
        db.session.execute(sa.text("update household_persons set id_enc = :v where household_id = :h"),
                           {"v": legacy, "h": hid})
        db.session.commit()
    assert api_as("e_clerk").get(f"/api/v1/households/{hid}").json["head"]["id_number"] == head
    result = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
    assert result.exit_code == 0 and "household_persons: 1" in result.output, result.output
    with system(app):
        value = db.session.execute(sa.text("select id_enc from household_persons where household_id = :h"),
                                   {"h": hid}).scalar()
    assert value.startswith(f"{key_id}:r:")
    assert api_as("e_clerk").get(f"/api/v1/households/{hid}").json["head"]["id_number"] == head
