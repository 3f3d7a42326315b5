"""Bad input to accounts, tenants, jobs and the audit log: the wrong JSON type, control characters, lone
surrogates and overlong text are a 422 naming the field, and nothing is written; the users and new-union pages
load their data through the same schemas and show the same messages."""

from __future__ import annotations

import html
import json

import pytest
import sqlalchemy as sa

from hardship.accounts.models import ApiToken, User
from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tenants.models import Tenant
from tests.conftest import PASSWORD, csrf_from, system

NOT_TEXT = "Must be text."
BAD_CHARS = "Contains characters that are not allowed (control characters or broken text)."


def _written(app) -> tuple:
    """What a refused request must leave as it was: users, tokens, unions and audit events, and the users' rows."""
    with system(app):
        counts = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                       for m in (User, ApiToken, Tenant, AuditEvent))
        users = db.session.execute(sa.select(User.username, User.display_name, User.roles_csv, User.active,
                                             User.password_hash, User.failed_logins).order_by(User.id)).all()
    return counts, users


def _refused(app, api, method, path, body, field, message=None):
    before = _written(app)
    # json.dumps escapes lone surrogates (\ud800), as a client's encoder does; the test client's would fail
    raw = None if body is None else json.dumps(body)
    resp = api.request(method, path, data=raw, content_type="application/json" if raw else None)
    assert resp.status_code == 422, (body, resp.get_data(as_text=True))
    fields = resp.json["error"]["fields"]
    assert field in fields, (body, fields)
    if message is not None:
        assert message in fields[field], (body, fields)
    assert _written(app) == before, body


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"username": 7, "password": PASSWORD}, "username", NOT_TEXT),
    ({"username": ["k0101_all"], "password": PASSWORD}, "username", NOT_TEXT),
    ({"username": "k0101\x07all", "password": PASSWORD}, "username", BAD_CHARS),
    ({"username": "k0101_all\ud800", "password": PASSWORD}, "username", BAD_CHARS),
    ({"username": "k" * 65, "password": PASSWORD}, "username", "At most 64 characters."),
    ({"username": "k0101_all", "password": 12345678}, "password", NOT_TEXT),
    ({"username": "k0101_all", "password": "Secret\x1b-123!"}, "password", BAD_CHARS),
    ({"username": "k0101_all", "password": "x" * 201}, "password", "At most 200 characters."),
])
def test_bad_logins_are_422_and_count_no_failure(app, api_as, tree, body, field, message):
    _refused(app, api_as(lang="en"), "POST", "/api/v1/auth/tokens", body, field, message)


def test_a_password_keeps_its_spaces(app, api_as, tree):
    api = api_as("c01_all")
    resp = api.post("/api/v1/tenants/K0101/users", json={"username": "spaced", "password": "  Longpass1  ",
                                                         "roles": ["clerk"]})
    assert resp.status_code == 201, resp.json
    assert api_as().post("/api/v1/auth/tokens", json={"username": "spaced", "password": "  Longpass1  "}).status_code == 201
    assert api_as().post("/api/v1/auth/tokens", json={"username": "spaced", "password": "Longpass1"}).status_code == 401


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"username": 12345}, "username", NOT_TEXT),
    ({"username": "new\x1buser"}, "username", BAD_CHARS),
    ({"username": "new\udc80user"}, "username", BAD_CHARS),
    ({"password": 123456789}, "password", NOT_TEXT),
    ({"password": "\ud800" * 9}, "password", BAD_CHARS),
    ({"password": "short"}, "password", "At least 8 characters."),
    ({"display_name": {"name": "王"}}, "display_name", NOT_TEXT),
    ({"display_name": "王\x85会计"}, "display_name", BAD_CHARS),
    ({"display_name": "王" * 51}, "display_name", "At most 50 characters."),
    ({"roles": "clerk"}, "roles", "Not a valid list."),
    ({"roles": [1]}, "roles.0", None),
    ({"roles": ["emperor"]}, "roles.0", "Not a role at this level: emperor."),
    ({"roles": []}, "roles", "Choose at least one role."),
])
def test_bad_new_users_are_422(app, api_as, tree, change, field, message):
    body = {"username": "newuser", "password": "Longpass1", "display_name": "王会计", "roles": ["clerk"], **change}
    _refused(app, api_as("c01_all", lang="en"), "POST", "/api/v1/tenants/K0101/users", body, field, message)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"display_name": 5}, "display_name", NOT_TEXT),
    ({"display_name": "a\tb"}, "display_name", BAD_CHARS),
    ({"active": "maybe"}, "active", None),
    ({"active": None}, "active", None),
    ({"active": [True]}, "active", None),
    ({"roles": ["clerk", None]}, "roles.1", None),
    ({"password": ["Longpass1"]}, "password", NOT_TEXT),
    ({"password": "Long\x7fpass1"}, "password", BAD_CHARS),
])
def test_bad_user_changes_are_422(app, api_as, tree, change, field, message):
    with system(app):
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    _refused(app, api_as("c01_all", lang="en"), "PATCH", f"/api/v1/users/{user_id}", change, field, message)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"parent": 1}, "parent", NOT_TEXT),
    ({"code": ["K0199"]}, "code", NOT_TEXT),
    ({"code": "K01\x0799"}, "code", BAD_CHARS),
    ({"code": "K-" * 20}, "code", "At most 32 characters."),
    ({"code": "k 99"}, "code", None),
    ({"name": 3.5}, "name", NOT_TEXT),
    ({"name": "某县\u0085总工会"}, "name", BAD_CHARS),
    ({"name": "某县总工会\udfff"}, "name", BAD_CHARS),
    ({"name": "工" * 101}, "name", "At most 100 characters."),
    ({"name": "   "}, "name", "Required."),
    ({"level": 5}, "level", None),
    ({"level": "galaxy"}, "level", None),
    ({"division_code": 130799}, "division_code", NOT_TEXT),
    ({"division_code": "13079a"}, "division_code", "Six digits (administrative division code)."),
])
def test_bad_new_unions_are_422(app, api_as, tree, change, field, message):
    body = {"parent": "C01", "code": "K0199", "name": "某县总工会", "level": "county", "division_code": "130799",
            **change}
    _refused(app, api_as("c01_all", lang="en"), "POST", "/api/v1/tenants", body, field, message)


def test_a_division_code_in_full_width_digits_is_folded(api_as, tree):
    resp = api_as("c01_all").post("/api/v1/tenants", json={"parent": "C01", "code": "k0199", "name": " 某县总工会 ",
                                                            "level": "county", "division_code": "１３０７９９"})
    assert resp.status_code == 201, resp.json
    assert (resp.json["code"], resp.json["name"], resp.json["division_code"]) == ("K0199", "某县总工会", "130799")


@pytest.mark.parametrize(("query", "field", "message"), [
    ("tenant=C01&action=user%07.create", "action", BAD_CHARS),
    ("tenant=C01&action=" + "a" * 65, "action", "At most 64 characters."),
    ("tenant=C01%1B", "tenant", BAD_CHARS),
    ("tenant=" + "C" * 33, "tenant", "At most 32 characters."),
    ("tenant=C01&page=two", "page", None),
    ("tenant=C01&page=0", "page", None),
])
def test_bad_audit_queries_are_422(app, api_as, tree, query, field, message):
    _refused(app, api_as("c01_all", lang="en"), "GET", f"/api/v1/audit?{query}", None, field, message)


def test_messages_are_chinese_by_default(api_as, tree):
    resp = api_as("c01_all").post("/api/v1/tenants/K0101/users", json={"username": 1, "password": "Longpass1",
                                                                        "roles": ["clerk"]})
    assert resp.status_code == 422
    message = resp.json["error"]["fields"]["username"][0]
    assert message != NOT_TEXT and any("\u4e00" <= ch <= "\u9fff" for ch in message), message


# ---------------------------------------------------------------- the pages load through the same schemas

def _page_error(page, message: str) -> bool:
    return message in html.unescape(page.get_data(as_text=True))


@pytest.mark.parametrize(("change", "message"), [
    ({"username": "new\x07user"}, BAD_CHARS),
    ({"username": "x"}, "3 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."),
    ({"display_name": "王" * 51}, "At most 50 characters."),
    ({"password": "short"}, "At least 8 characters."),
    ({"roles": []}, "Choose at least one role."),
])
def test_users_page_refuses_what_the_api_refuses(app, client, login, tree, change, message):
    login("c01_all")
    page = client.get("/t/C01/users")
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "tenant": "K0102", "username": "newuser",
            "display_name": "王会计", "password": "Longpass1", "roles": ["clerk"], **change}
    before = _written(app)
    resp = client.post("/t/C01/users", data=form, headers={"Accept-Language": "en"})
    assert resp.status_code == 200 and _page_error(resp, message), resp.get_data(as_text=True)[:3000]
    assert _written(app) == before


def test_user_edit_page_refuses_what_the_api_refuses(app, client, login, tree):
    login("c01_all")
    with system(app):
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    page = client.get(f"/t/C01/users/{user_id}")
    before = _written(app)
    resp = client.post(f"/t/C01/users/{user_id}", headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "display_name": "李\x1b主席", "password": "",
        "roles": ["clerk"], "active": "y"})
    assert resp.status_code == 200 and _page_error(resp, BAD_CHARS)
    assert _written(app) == before


@pytest.mark.parametrize(("change", "message"), [
    ({"code": "E01\x0701"}, BAD_CHARS),
    ({"name": "工" * 101}, "At most 100 characters."),
    ({"division_code": "13070a"}, "Six digits (administrative division code)."),
    ({"level": "galaxy"}, "Unknown level galaxy"),
])
def test_new_union_page_refuses_what_the_api_refuses(app, client, login, tree, change, message):
    login("c01_all")
    page = client.get("/t/K0101/children/new")
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "code": "E0101007", "name": "长安区食品厂工会",
            "level": "enterprise", "division_code": "", **change}
    before = _written(app)
    resp = client.post("/t/K0101/children/new", data=form, headers={"Accept-Language": "en"})
    assert resp.status_code == 200 and _page_error(resp, message), resp.get_data(as_text=True)[:3000]
    assert _written(app) == before


# ---------------------------------------------------------------- malformed bodies: 400, documented

@pytest.mark.parametrize("levels", [17, 5000, 200000])
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/auth/tokens"), ("POST", "/api/v1/tenants"), ("POST", "/api/v1/tenants/C01/users"),
    ("PATCH", "/api/v1/users/{user_id}"), ("PUT", "/api/v1/tenants/C01/settings"), ("POST", "/api/v1/households"),
])
def test_a_body_nested_too_deeply_is_400(app, api_as, tree, levels, method, path):
    """Refused before any parser reads it (a deep enough body used to exhaust the stack: 500)."""
    with system(app):
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    api = api_as("c01_all", lang="en")
    before = _written(app)
    body = b'{"name": ' + b"[" * levels + b"]" * levels + b"}"
    resp = api.request(method, path.format(user_id=user_id), data=body, content_type="application/json")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.json["error"]["code"] == "bad_request" and "16 levels" in resp.json["error"]["message"]
    assert _written(app) == before


def test_sixteen_levels_are_not_too_deep(api_as, tree):
    body = b'{"name": ' + b"[" * 15 + b"]" * 15 + b"}"
    resp = api_as("c01_all", lang="en").request("POST", "/api/v1/tenants", data=body, content_type="application/json")
    assert resp.status_code == 422 and "name" in resp.json["error"]["fields"]


def test_every_body_and_parameter_documents_400_and_every_body_422(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "requestBody" in operation or operation.get("parameters"):
                assert "400" in responses, (method, path)
                assert "nested deeper than 16 levels" in responses["400"]["description"]
            if "requestBody" in operation:
                assert "422" in responses, (method, path)
