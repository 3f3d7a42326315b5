"""Who is calling, and the scope that follows from it.

The UI authenticates with the Flask-Login session cookie; the API only with bearer tokens
(so a browser's cookie can never drive the CSRF-exempt API). Identities are looked up under
the system scope; then the request's scope becomes the user's own subtree.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts import operations as ops
from hardship.accounts.models import User
from hardship.core.db import db
from hardship.extensions import login_manager
from tenants.scoping import set_scope, system_scope


def _is_api() -> bool:
    return request.path.startswith("/api/")


@login_manager.user_loader
def _load_session_user(user_id: str):
    if _is_api():
        return None
    uid, _, stamp = str(user_id).partition(":")
    if not uid.isdigit() or not stamp:
        return None
    with system_scope():
        user = db.session.scalar(select(User).where(User.id == int(uid)))
    if user is None or not user.active or user.session_stamp != stamp:
        return None
    return user


@login_manager.request_loader
def _load_token_user(req):
    if not _is_api():
        return None
    header = req.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.auth_error = _l("Use the header Authorization: Bearer <token>.")
        return None
    found = ops.resolve_token(token.strip())
    if found is None:
        g.auth_error = _l("The token is invalid, revoked or expired; request a new one.")
        return None
    user, row = found
    g.api_token = row
    return user


def establish_scope() -> None:
    """``before_request``: resolve the caller, then scope the request to its subtree."""
    set_scope(None)
    user = current_user._get_current_object()
    if user is not None and user.is_authenticated:
        set_scope(user.tenant.path)
        g.scope_tenant = user.tenant  # the root of the scope, so that looking it up by code costs no query


def init_app(app) -> None:
    login_manager.login_view = "accounts_ui.login"
    login_manager.login_message = _l("Please log in.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(establish_scope)
