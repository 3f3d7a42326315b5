"""PII key rotation: new values use the new key, old values stay readable, rotate-pii rewrites them."""

import base64
import os

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
