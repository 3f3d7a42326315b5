"""Login, throttling, bearer tokens, CSRF and user management."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hardship.accounts.models import ApiToken, User
from hardship.audit.models import AuditEvent
from hardship.core.db import db, utcnow
from tests.conftest import IS_PG, PASSWORD, csrf_from, system


def test_token_issue_and_use(api_as, tree):
    anon = api_as()
    resp = anon.post("/api/v1/auth/tokens", json={"username": "c01_all", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.json["token"]
    assert resp.json["expires_at"]
    anon.token = token
    me = anon.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json["username"] == "c01_all" and "users.manage" in me.json["capabilities"]


def test_wrong_password_and_unknown_user_same_text(api_as, tree):
    anon = api_as()
    wrong = anon.post("/api/v1/auth/tokens", json={"username": "c01_all", "password": "nope-nope"})
    unknown = anon.post("/api/v1/auth/tokens", json={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "unauthorized"


def test_wrong_password_message_english(api_as, tree):
    resp = api_as(lang="en").post("/api/v1/auth/tokens", json={"username": "c01_all", "password": "x" * 9})
    assert resp.json["error"]["message"] == "Wrong username or password."


def test_lockout_after_five_failures(app, api_as, tree):
    anon = api_as(lang="en")
    for _ in range(4):
        assert anon.post("/api/v1/auth/tokens", json={"username": "k0101_all", "password": "bad-pass"}).status_code == 401
    fifth = anon.post("/api/v1/auth/tokens", json={"username": "k0101_all", "password": "bad-pass"})
    assert fifth.status_code == 429
    assert "15 minutes" in fifth.json["error"]["message"]
    right = anon.post("/api/v1/auth/tokens", json={"username": "k0101_all", "password": PASSWORD})
    assert right.status_code == 429, "locked accounts refuse even the right password"
    with system(app):
        user = db.session.scalar(sa.select(User).where(User.username == "k0101_all"))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert anon.post("/api/v1/auth/tokens", json={"username": "k0101_all", "password": PASSWORD}).status_code == 201


def test_lockout_message_in_ui(client, tree):
    for _ in range(5):
        page = client.get("/login")
        resp = client.post("/login", data={"username": "c01_all", "password": "wrong-one",
                                           "csrf_token": csrf_from(page.get_data(as_text=True))},
                           headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 429
    assert "15" in resp.get_data(as_text=True)


def test_expired_and_revoked_tokens(app, api_as, factory, tree):
    token = factory.token("c01_all")
    api = api_as()
    api.token = token
    assert api.get("/api/v1/auth/me").status_code == 200
    with system(app):
        db.session.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    resp = api.get("/api/v1/auth/me", headers={"Accept-Language": "en"})
    assert resp.status_code == 401
    assert "expired" in resp.json["error"]["message"]

    fresh = api_as("c01_all")
    assert fresh.delete("/api/v1/auth/tokens/current").status_code == 204
    assert fresh.get("/api/v1/auth/me").status_code == 401


def test_tokens_are_stored_hashed(app, factory, tree):
    token = factory.token("c01_all")
    with system(app):
        hashes = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_passwords_hashed_with_argon2(app, tree):
    with system(app):
        user = db.session.scalar(sa.select(User).where(User.username == "c01_all"))
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_api_ignores_session_cookie(client, login, tree):
    login("c01_all")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bad_authorization_header(api_as, tree):
    resp = api_as().get("/api/v1/levels", headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401 and resp.json["error"]["message"]


def test_login_form_requires_csrf(client, tree):
    resp = client.post("/login", data={"username": "c01_all", "password": PASSWORD})
    assert resp.status_code == 400
    assert "表单" in resp.get_data(as_text=True) or "form" in resp.get_data(as_text=True)


def test_logout_requires_csrf(client, login, tree):
    login("c01_all")
    assert client.post("/logout").status_code == 400
    assert client.get("/t/C01/").status_code == 200


def test_session_cookie_flags(client, login, tree):
    resp = login("c01_all")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_create_user_api(app, api_as, tree):
    api = api_as("c01_all", lang="en")
    resp = api.post("/api/v1/tenants/K0101/users", json={
        "username": "k0101_wang", "password": "Longpass1", "display_name": "王会计", "roles": ["finance"]})
    assert resp.status_code == 201, resp.json
    assert resp.json["tenant"] == "K0101" and resp.json["roles"] == ["finance"]
    dup = api.post("/api/v1/tenants/K0101/users", json={
        "username": "k0101_wang", "password": "Longpass1", "roles": ["finance"]})
    assert dup.status_code == 409 and "username" in dup.json["error"]["fields"]
    with system(app):
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "user.create", AuditEvent.object_id == str(resp.json["id"]))).all()
    assert len(events) == 1
    assert events[0].username == "c01_all" and events[0].detail["roles"] == ["finance"]


def test_create_user_bad_input_writes_nothing(app, api_as, tree):
    api = api_as("c01_all", lang="en")
    with system(app):
        before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    cases = [
        ({"username": "x", "password": "Longpass1", "roles": ["clerk"]}, "username"),
        ({"username": "okname", "password": "short", "roles": ["clerk"]}, "password"),
        ({"username": "okname", "password": "Longpass1", "roles": ["emperor"]}, "roles.0"),
        ({"username": "okname", "password": "Longpass1", "roles": []}, "roles"),
        ({"username": "okname", "password": "Longpass1"}, "roles"),
        ({"username": "okname", "password": "Longpass1", "roles": ["clerk"], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        resp = api.post("/api/v1/tenants/K0101/users", json=body)
        assert resp.status_code == 422, (body, resp.json)
        assert field in resp.json["error"]["fields"], (body, resp.json)
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_enterprise_has_no_finance_role(api_as, tree):
    resp = api_as("k0101_all").post("/api/v1/tenants/E0101001/users", json={
        "username": "e_fin", "password": "Longpass1", "roles": ["finance"]})
    assert resp.status_code == 422 and "roles" in resp.json["error"]["fields"]


def test_roles_without_users_manage_get_403(api_as, factory, tree):
    factory.user("C01", roles=("clerk",), username="c01_clerk_only")
    resp = api_as("c01_clerk_only").post("/api/v1/tenants/K0101/users", json={
        "username": "someone", "password": "Longpass1", "roles": ["clerk"]})
    assert resp.status_code == 403


def test_disable_user_revokes_tokens_and_blocks_login(app, api_as, factory, tree):
    victim_token = factory.token("k0101_all")
    admin = api_as("c01_all")
    with system(app):
        uid = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    resp = admin.patch(f"/api/v1/users/{uid}", json={"active": False})
    assert resp.status_code == 200 and resp.json["active"] is False
    victim = api_as()
    victim.token = victim_token
    assert victim.get("/api/v1/auth/me").status_code == 401
    assert api_as().post("/api/v1/auth/tokens", json={"username": "k0101_all", "password": PASSWORD}).status_code == 401


def test_cannot_disable_self(app, api_as, tree):
    with system(app):
        uid = db.session.scalar(sa.select(User.id).where(User.username == "c01_all"))
    assert api_as("c01_all").patch(f"/api/v1/users/{uid}", json={"active": False}).status_code == 409


def test_user_management_page(client, login, tree, app):
    login("c01_all")
    page = client.get("/t/C01/users")
    assert page.status_code == 200 and "c01_all" in page.get_data(as_text=True)
    resp = client.post("/t/C01/users", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "tenant": "K0102", "username": "k0102_li",
        "display_name": "李经办", "password": "Longpass1", "roles": ["clerk", "approver"]})
    assert resp.status_code == 302
    with system(app):
        user = db.session.scalar(sa.select(User).where(User.username == "k0102_li"))
        assert user.tenant.code == "K0102" and user.roles == ["approver", "clerk"]
    bad = client.post("/t/C01/users", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "tenant": "K0102", "username": "k0102_li",
        "password": "Longpass1", "roles": ["clerk"]})
    assert bad.status_code == 200 and "k0102_li" in bad.get_data(as_text=True)
    outside = client.post("/t/C01/users", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "tenant": "K0201", "username": "intruder",
        "password": "Longpass1", "roles": ["clerk"]})
    assert outside.status_code == 404
    with system(app):
        assert db.session.scalar(sa.select(User).where(User.username == "intruder")) is None


def test_password_change_ends_sessions_and_tokens(app, client, login, api_as, factory, tree):
    token = factory.token("k0101_all")
    login("k0101_all")
    assert client.get("/t/K0101/").status_code == 200
    with system(app):
        uid = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    assert api_as("c01_all").patch(f"/api/v1/users/{uid}", json={"password": "Another-pass-1"}).status_code == 200
    assert client.get("/t/K0101/").status_code == 302  # back to the login page
    old = api_as()
    old.token = token
    assert old.get("/api/v1/auth/me").status_code == 401


def test_logout_ends_a_copied_session_cookie(app, client, login, tree):
    login("c01_all")
    cookie = client.get_cookie("session").value
    page = client.get("/t/C01/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    other = app.test_client()
    other.set_cookie("session", cookie)
    assert other.get("/t/C01/").status_code == 302


def test_admin_cannot_change_own_roles(app, api_as, tree):
    with system(app):
        uid = db.session.scalar(sa.select(User.id).where(User.username == "c01_all"))
    assert api_as("c01_all").patch(f"/api/v1/users/{uid}", json={"roles": ["admin"]}).status_code == 409


def test_parallel_failures_all_count(committed, app, tree):
    import threading

    results = []

    def attempt():
        c = app.test_client()
        results.append(c.post("/api/v1/auth/tokens", json={"username": "k0102_all", "password": "wrong-one"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(429) >= 1, results
    assert app.test_client().post("/api/v1/auth/tokens", json={"username": "k0102_all",
                                                                "password": PASSWORD}).status_code == 429


@pytest.mark.skipif(not IS_PG, reason="parallel commits on separate connections need PostgreSQL")
def test_parallel_wrong_passwords_get_exactly_the_allowed_checks(committed, app, tree, monkeypatch):
    """Forty wrong passwords at once: each check is claimed by an atomic update whose row lock is held until
    commit, so exactly LOGIN_MAX_FAILURES passwords are checked and every other attempt meets the lock."""
    import threading

    from hardship.accounts import operations

    checks = []
    real = operations.verify_password

    def counting(password_hash, password):
        checks.append(password_hash is not None)
        return real(password_hash, password)

    monkeypatch.setattr(operations, "verify_password", counting)
    results = []
    start = threading.Barrier(40)

    def attempt():
        c = app.test_client()
        start.wait()
        results.append(c.post("/api/v1/auth/tokens", json={"username": "k0102_all", "password": "wrong-one"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(checks) == app.config["LOGIN_MAX_FAILURES"] == 5, (len(checks), results)
    assert sorted(results) == [401] * 4 + [429] * 36, results
