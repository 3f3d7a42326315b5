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


@pytest.mark.parametrize("table, column, field", [("household_persons", "id_enc", "head.id_number"),
                                                   ("households", "card_enc", "bank.card_number")])
def test_an_encrypted_value_copied_onto_another_row_is_refused(committed, app, api_as, tree, table, column, field,
                                                               caplog, login, client):
    """Values are bound to their row: a ciphertext copied onto another household fails to decrypt there (the
    error in the server's log), it never shows the other person's data. The reader gets the rest of the record:
    the page shows the field as 无法解密（数据校验失败，请联系管理员）, the API gives it as null and names it in
    ``unreadable``, the export shows the same text, and the read is one ``household.unreadable`` audit event."""
    import io

    import openpyxl

    from hardship.audit.models import AuditEvent

    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("auditor",), username="k_auditor")
    clerk = api_as("e_clerk")
    bodies = [household_body(head_id=make_id(), bank={"name": "农行", "card_number": card, "confirmed": True})
              for card in ("6222020200112233446", "6217000010012345678")]
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
    assert original.json["unreadable"] == []
    secrets_ = (bodies[0]["head"]["id_number"], bodies[0]["bank"]["card_number"])  # the copied row's

    copied = clerk.get(f"/api/v1/households/{second}")
    assert copied.status_code == 200, copied.get_data(as_text=True)[:300]
    h = copied.json
    assert h["unreadable"] == [field]
    value = h["head"]["id_number"] if field == "head.id_number" else h["bank"]["card_number"]
    assert value is None
    other = h["bank"]["card_number"] if field == "head.id_number" else h["head"]["id_number"]
    assert other == (bodies[1]["bank"]["card_number"] if field == "head.id_number" else bodies[1]["head"]["id_number"])
    assert h["head"]["phone"] == bodies[1]["head"]["phone"] and h["address"] == bodies[1]["address"]
    assert not any(s in copied.get_data(as_text=True) for s in secrets_)
    assert "PiiBindingError" in caplog.text and "was not written for this row and column" in caplog.text
    masked = api_as("k_auditor").get(f"/api/v1/households/{second}")
    assert masked.status_code == 200 and masked.json["unreadable"] == [field] and masked.json["masked"]

    login("e_clerk")
    page = client.get(f"/t/E0101001/archive/{second}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "无法解密（数据校验失败，请联系管理员）" in text and not any(s in text for s in secrets_)
    assert bodies[1]["head"]["name"] in text and bodies[1]["address"] in text
    listing = client.get("/t/E0101001/archive").get_data(as_text=True)
    assert ("无法解密" in listing) == (field == "head.id_number")

    export = client.get("/t/E0101001/archive/export.xlsx")
    assert export.status_code == 200
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True)]
    header = rows[0]
    row = next(r for r in rows[1:] if r[0] == second)
    column_name = "身份证号" if field == "head.id_number" else "银行卡号"
    assert row[header.index(column_name)] == "无法解密（数据校验失败，请联系管理员）"
    assert not any(s in str(cell) for r in rows for cell in r for s in secrets_ if r[0] == second)

    with system(app):
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.unreadable")
                                    .order_by(AuditEvent.id)).all()
    assert len(events) >= 3  # the API twice, the page; then the export
    assert events[0].object_id == str(second) and events[0].detail == {"fields": [field]}
    assert events[-1].detail["households"] == [second] and events[-1].detail["where"] == "export"
    log = api_as("k_auditor").get("/api/v1/audit?tenant=K0101&action=household.unreadable").json["events"]
    assert log and log[0]["action_label"] == "个人信息无法解密"
    labels = {f["label"]: f["value"] for f in log[-1]["detail_fields"]}
    assert labels["字段"] == ("户主 身份证号" if field == "head.id_number" else "银行卡号")

    # the correction page opens, and a correction writes the value again
    assert client.get(f"/t/E0101001/archive/{second}/edit").status_code == 200
    fix = {"head": {"id_number": make_id()}} if field == "head.id_number" else \
        {"bank": {"name": "农行", "card_number": "6222020200112233446"}}
    fixed = clerk.patch(f"/api/v1/households/{second}", json={"reason": "重新录入", **fix})
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["unreadable"] == []


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


def _new_key() -> str:
    return "k2:" + base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_rotation_reencrypts_the_history_and_the_retired_key_can_go(app, api_as, tree, login, client):
    """rotate-pii re-encrypts the personal values a correction's history keeps (on PostgreSQL through
    ``hardship_reseal_event``, the history being append-only); afterwards the old key leaves PII_KEYS and the
    household's page, API and history still read every value."""
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    clerk = api_as("k_clerk")
    head, member, new_member = make_id(), make_id(male=False), make_id(male=False)
    body = household_body(head_id=head, members=[member])
    created = clerk.post("/api/v1/households", json=body).json
    hid = created["id"]
    first = clerk.patch(f"/api/v1/households/{hid}", json={
        "reason": "更正", "head": {"phone": "13900001111"}, "bank": {"name": "农行", "card_number": "6217000010012345678",
                                                                    "confirmed": True},
        "members": [{"id": created["members"][0]["id"], "remove": True},
                    {"name": "张小", "id_number": new_member, "relation": "child"}]})
    assert first.status_code == 200, first.json
    old = app.config["PII_KEYS"]
    app.config["PII_KEYS"] = f"{_new_key()},{old}"
    try:
        result = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
        assert result.exit_code == 0 and "household_events: 1 rows" in result.output, result.output
        with system(app):
            stored = db.session.execute(sa.text("select changes from household_events where action = 'edit'")).scalar()
            stored = stored if isinstance(stored, dict) else __import__("json").loads(stored)
        from hardship.archives.keys import sealed_values
        sealed = [entry[key] for entry in stored["fields"] for key in sealed_values(entry)]
        assert len(sealed) == 6 and all(v.startswith("k2:r:") for v in sealed), sealed
        again = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
        assert "household_events: 0 rows" in again.output, again.output
        app.config["PII_KEYS"] = app.config["PII_KEYS"].split(",")[0]  # the retired key goes
        detail = clerk.get(f"/api/v1/households/{hid}").json
        assert detail["head"]["phone"] == "13900001111" and detail["bank"]["card_number"] == "6217000010012345678"
        assert detail["unreadable"] == []
        events = clerk.get(f"/api/v1/households/{hid}/history").json["events"]
        fields = {(e["field"], e.get("op")): e for e in events[-1]["changes"]["fields"]}
        assert fields[("phone", None)]["before"] == "13812345678" and fields[("phone", None)]["after"] == "13900001111"
        assert fields[("card_number", None)]["before"] == body["bank"]["card_number"]
        assert fields[("member", "remove")]["id_number"] == member
        assert fields[("member", "add")]["id_number"] == new_member
        login("k_clerk")
        page = client.get(f"/t/K0101/archive/{hid}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "13900001111" in text and new_member in text and "无法解密" not in text
    finally:
        app.config["PII_KEYS"] = old


def test_the_history_is_still_append_only_and_the_reseal_function_changes_only_ciphertexts(app, api_as, tree):
    """On PostgreSQL the runtime role may not UPDATE the history; ``hardship_reseal_event`` refuses any change but
    a sealed value's ciphertext."""
    from tests.conftest import IS_PG

    if not IS_PG:
        pytest.skip("the runtime role is PostgreSQL's")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    clerk = api_as("k_clerk")
    hid = clerk.post("/api/v1/households", json=household_body(head_id=make_id())).json["id"]
    assert clerk.patch(f"/api/v1/households/{hid}", json={"reason": "更正", "head": {"phone": "13900001111"},
                                                          "needs": "助学"}).status_code == 200
    with system(app):
        event_id, changes = db.session.execute(sa.text(
            "select id, changes from household_events where action = 'edit'")).one()
        for statement in ("update household_events set reason = 'x'", "update household_events set changes = '{}'",
                          "delete from household_events"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with db.session.begin_nested():
                    db.session.execute(sa.text(statement))
        import json

        def reseal(new):
            return db.session.execute(sa.text("select hardship_reseal_event(:i, cast(:c as json))"),
                                      {"i": event_id, "c": json.dumps(new)}).scalar()

        plain = [dict(e) for e in changes["fields"]]
        for tampered in ([{**e, "after": "助学金"} if e["field"] == "needs" else e for e in plain],  # not sealed
                         [{**e, "after": "13900002222"} if e.get("sealed") else e for e in plain],  # no ciphertext
                         [{**e, "field": "address"} if e.get("sealed") else e for e in plain],
                         plain[:1]):
            with pytest.raises(sa.exc.ProgrammingError, match="hardship_reseal_event"):
                with db.session.begin_nested():
                    reseal({**changes, "fields": tampered})
        other = [{**e, "after": "k9:r:QUJD"} if e.get("sealed") else e for e in plain]
        assert reseal({**changes, "fields": other}) is True
        assert reseal.__name__ and db.session.execute(sa.text("select hardship_reseal_event(0, '{}')")).scalar() is False


def test_a_history_value_copied_from_another_household_is_unreadable_not_an_error(committed, app, api_as, tree,
                                                                                  login, client):
    """A correction's personal values in the history are bound to their household: copied onto another
    household's event they read as unreadable (API: null, the entry's ``unreadable`` names them; page: 无法解密),
    never as the other household's values."""
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    clerk = api_as("k_clerk")
    ids = [clerk.post("/api/v1/households", json=household_body(head_id=make_id())).json["id"] for _ in range(2)]
    for hid, phone in zip(ids, ("13900001111", "13900002222"), strict=True):
        assert clerk.patch(f"/api/v1/households/{hid}", json={"reason": "更正", "head": {"phone": phone}}).status_code == 200
    with system(app):
        source, target = (db.session.scalar(sa.text("select id from household_events where household_id = :h "
                                                     "and action = 'edit'"), {"h": h}) for h in ids)
    _copy_onto(app, "household_events", "changes", source, target)
    events = clerk.get(f"/api/v1/households/{ids[1]}/history")
    assert events.status_code == 200
    entry = events.json["events"][-1]["changes"]["fields"][0]
    assert entry["field"] == "phone" and entry["before"] is None and entry["after"] is None
    assert entry["unreadable"] == ["before", "after"]
    assert "13900001111" not in events.get_data(as_text=True)
    login("k_clerk")
    page = client.get(f"/t/K0101/archive/{ids[1]}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "13900001111" not in text and "13900002222" in text  # its own current phone, not the copied history
    row = text.split("data-field=\"phone\"")[1].split("</tr>")[0]
    assert row.count("无法解密（数据校验失败，请联系管理员）") == 2, row
