"""The audit log: written by operations in the same transaction, read by auditors of the subtree."""

import sqlalchemy as sa

from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tests.conftest import csrf_from, system


def test_auditor_reads_subtree(api_as, factory, tree):
    factory.user("C01", roles=("auditor",), username="c01_aud")
    api_as("c01_all").post("/api/v1/tenants", json={"parent": "K0101", "code": "E0101005", "name": "某厂工会",
                                                    "level": "enterprise"})
    api_as("k0201_all").put("/api/v1/tenants/K0201/settings", json={"publicity_days": 4})
    resp = api_as("c01_aud").get("/api/v1/audit?tenant=C01")
    assert resp.status_code == 200
    events = resp.json["events"]
    actions = {(e["action"], e["tenant"]) for e in events}
    assert ("tenant.create", "K0101") in actions
    assert all(e["tenant"] in {"C01", "K0101", "K0102", "E0101001", "E0101005"} for e in events)
    created = next(e for e in events if e["action"] == "tenant.create")
    assert created["username"] == "c01_all" and created["detail"]["code"] == "E0101005"
    only = api_as("c01_aud").get("/api/v1/audit?tenant=C01&action=tenant.create").json["events"]
    assert {e["action"] for e in only} == {"tenant.create"}


def test_non_auditor_gets_403(api_as, factory, tree):
    factory.user("C01", roles=("clerk",), username="c01_clerk1")
    assert api_as("c01_clerk1").get("/api/v1/audit?tenant=C01").status_code == 403
    assert api_as("c01_all").get("/api/v1/audit?tenant=C02").status_code == 404
    assert api_as("c01_all").get("/api/v1/audit").status_code == 422


def test_failed_operation_leaves_no_audit_entry(app, api_as, tree):
    api = api_as("c01_all")
    with system(app):
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert api.put("/api/v1/tenants/C01/settings",
                                 json={"publicity_days": 3, "aging": {"warning_pct": 500}}).status_code == 422
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_settings_change_records_before_after(app, api_as, tree):
    api_as("c01_all").put("/api/v1/tenants/C01/settings", json={"publicity_days": 8})
    with system(app):
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "settings.update"))
    assert event.detail == {"before": {"publicity_days": 5}, "after": {"publicity_days": 8}}


def test_audit_page(client, login, tree):
    login("c01_all")
    page = client.get("/t/C01/audit")
    assert page.status_code == 200 and "user.login" in page.get_data(as_text=True)


def test_login_and_failed_login_are_audited(app, client, tree):
    page = client.get("/login")
    client.post("/login", data={"username": "c01_all", "password": "bad-password",
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    with system(app):
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.username == "c01_all")).all()
    assert "user.login_failed" in actions


def test_unexpected_error_is_json_500_and_rolls_back(app, api_as, tree, monkeypatch):
    from tenants import operations

    def explode(*args, **kwargs):
        operations.db.session.add(AuditEvent(tenant_id=1, action="half", object_type="x", detail={}))
        raise RuntimeError("boom")

    monkeypatch.setattr(operations, "update_settings", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        resp = api_as("c01_all").put("/api/v1/tenants/C01/settings", json={"publicity_days": 3})
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert resp.status_code == 500 and resp.json["error"]["code"] == "server_error"
    assert "boom" not in resp.get_data(as_text=True)
    with system(app):
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "half")) is None
