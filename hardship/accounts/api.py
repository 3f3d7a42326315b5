"""Auth tokens and users (SPEC 8.3)."""

from flask import g
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts import operations as ops
from hardship.accounts.models import User
from hardship.accounts.schemas import (
    MeOut,
    PasswordChange,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from hardship.api import load_body, route
from hardship.core.db import db
from hardship.core.errors import AppError
from tenants.scoping import get_owned, get_tenant


@route("/auth/tokens", ["POST"], auth=False, body=TokenRequest, response=TokenResponse, status=201,
       tags=["auth"], responses={401: None, 429: None})
def create_token():
    """Exchange a username and password for a bearer token."""
    data = load_body(TokenRequest)
    try:
        user = ops.authenticate(data["username"], data["password"])
    except AppError:
        db.session.commit()  # a refused login is counted (and audited) although the request fails
        raise
    token, row = ops.issue_token(user)
    return {"token": token, "expires_at": row.expires_at, "user": user}, 201


@route("/auth/tokens/current", ["DELETE"], tags=["auth"], status=204)
def revoke_current_token():
    """Revoke the bearer token used for this request."""
    row = g.get("api_token")
    if row is not None:
        ops.revoke_token(row)
    return "", 204


@route("/auth/password", ["PUT"], body=PasswordChange, tags=["auth"], status=204)
def change_password():
    """Change your own password (``current`` and ``new``): every other API token and browser session of yours
    ends; the token of this request stays valid."""
    data = load_body(PasswordChange)
    ops.change_own_password(current_user, data["current"], data["new"], keep_token=g.get("api_token"))
    return "", 204


@route("/auth/me", tags=["auth"], response=MeOut)
def me():
    """The authenticated user, with capabilities."""
    return current_user


@route("/tenants/<code>/users", ["POST"], body=UserCreate, response=UserOut, status=201, tags=["users"],
       responses={409: None})
def create_user(code):
    """Create a user in a tenant of your subtree."""
    tenant = get_tenant(code)
    ops.require(current_user, "users.manage")
    data = load_body(UserCreate)
    return ops.create_user(tenant, data["username"], data["password"], data["roles"], data["display_name"],
                           actor=current_user), 201


@route("/tenants/<code>/users", tags=["users"], response=UserList)
def list_users(code):
    """Users of one tenant."""
    tenant = get_tenant(code)
    ops.require(current_user, "users.manage")
    users = db.session.scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.username))
    return {"users": users}


@route("/users/<int:user_id>", ["PATCH"], body=UserUpdate, response=UserOut, tags=["users"], responses={409: None})
def update_user(user_id):
    """Change a user's roles, name, password or disable it."""
    user = get_owned(User, user_id)
    ops.require(current_user, "users.manage")
    data = load_body(UserUpdate)
    return ops.update_user(user, actor=current_user, **data)
