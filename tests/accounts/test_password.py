"""A user changes their own password (SPEC 8.3 ``PUT /api/v1/auth/password``, and a page): the current password
is checked, the rules of any new password apply, and every other session and API token of the user ends."""

from __future__ import annotations

import sqlalchemy as sa

from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tests.conftest import PASSWORD, csrf_from, system

NEW = "Another-456!"


def _has_chinese(text) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in str(text))


def test_the_api_changes_the_password_and_ends_the_other_tokens(app, client, factory, api_as):
    factory.tenant("P01", level="province")
    factory.user("P01", roles=("clerk",), username="alice")
    mine, other = api_as("alice"), api_as("alice")
    resp = mine.put("/api/v1/auth/password", json={"current": PASSWORD, "new": NEW})
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert mine.get("/api/v1/auth/me").status_code == 200  # the token that changed it goes on
    assert other.get("/api/v1/auth/me").status_code == 401  # every other one ended
    assert client.post("/api/v1/auth/tokens", json={"username": "alice", "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/tokens", json={"username": "alice", "password": NEW}).status_code == 201
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).where(
            AuditEvent.action == "user.password_change")) == 1


def test_bad_changes_are_422_naming_the_field_in_chinese_and_change_nothing(app, client, factory, api_as):
    factory.tenant("P01", level="province")
    factory.user("P01", roles=("clerk",), username="alice")
    api, other = api_as("alice"), api_as("alice")
    for body, field in [({"current": "wrong-password", "new": NEW}, "current"),
                        ({"current": PASSWORD, "new": "short"}, "new"),
                        ({"current": PASSWORD, "new": PASSWORD}, "new"),
                        ({"current": PASSWORD, "new": NEW, "repeat": NEW + "x"}, "repeat"),
                        ({"new": NEW}, "current"),
                        ({"current": PASSWORD}, "new")]:
        resp = api.put("/api/v1/auth/password", json=body)
        assert resp.status_code == 422, (body, resp.json)
        assert field in resp.json["error"]["fields"] and _has_chinese(resp.json["error"]["fields"][field]), resp.json
    assert other.get("/api/v1/auth/me").status_code == 200  # nothing ended
    assert client.post("/api/v1/auth/tokens", json={"username": "alice", "password": PASSWORD}).status_code == 201
    assert api_as().put("/api/v1/auth/password", json={"current": PASSWORD, "new": NEW}).status_code == 401


def test_the_page_changes_the_password_and_ends_the_other_sessions(app, factory, login, api_as):
    factory.tenant("P01", level="province")
    factory.user("P01", roles=("clerk",), username="alice")
    token = api_as("alice")
    other_browser = app.test_client()
    page = other_browser.get("/login")
    other_browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert other_browser.get("/account/password").status_code == 200

    browser = app.test_client()
    page = browser.get("/login")
    browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                 "csrf_token": csrf_from(page.get_data(as_text=True))})
    form = browser.get("/account/password")
    assert form.status_code == 200 and "修改密码" in form.get_data(as_text=True)
    csrf = csrf_from(form.get_data(as_text=True))
    refused = browser.post("/account/password", data={"csrf_token": csrf, "current": "wrong-one",
                                                      "new": NEW, "repeat": NEW})
    assert refused.status_code == 422 and "当前密码" in refused.get_data(as_text=True)
    done = browser.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD, "new": NEW,
                                                   "repeat": NEW}, follow_redirects=True)
    assert done.status_code == 200 and "密码已修改" in done.get_data(as_text=True)
    assert browser.get("/account/password").status_code == 200  # this session goes on
    assert other_browser.get("/account/password").status_code == 302  # the other one ended
    assert token.get("/api/v1/auth/me").status_code == 401  # and the API tokens
