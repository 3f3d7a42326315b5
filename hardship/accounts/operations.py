"""Account operations: the only code that changes users and tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from hardship import audit
from hardship.accounts.models import ApiToken, User
from hardship.accounts.passwords import hash_password, verify_password
from hardship.core.db import db, utcnow
from hardship.core.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, ValidationFailed
from tenants.scoping import set_scope, system_scope


def require(actor, capability: str) -> None:
    """Raise 403 unless ``actor`` (``None`` = the command line) holds ``capability``."""
    if actor is not None and not actor.can(capability):
        raise Forbidden()


def require_any(actor, *capabilities: str) -> None:
    """403 unless ``actor`` (``None``: the command line) holds one of ``capabilities``."""
    if actor is not None and not any(actor.can(c) for c in capabilities):
        raise Forbidden()


def _check_roles(tenant, roles) -> None:
    """The roles must be roles of the tenant's level (their form is checked by the schema)."""
    plugin = tenant.plugin
    allowed = set(plugin.roles) if plugin else set()
    unknown = [r for r in roles if r not in allowed]
    if unknown:
        raise ValidationFailed(fields={"roles": [_l("Not a role at this level: %(roles)s.",
                                                    roles=", ".join(map(str, unknown)))]})


def create_user(tenant, username: str, password: str, roles, display_name: str = "", actor=None) -> User:
    """Create a user from clean values (loaded with :class:`hardship.accounts.schemas.UserCreate`)."""
    require(actor, "users.manage")
    _check_roles(tenant, roles)
    with system_scope():
        taken = db.session.scalar(select(User.id).where(User.username == username))
    if taken is not None:
        raise Conflict(_l("The username %(u)s is taken.", u=username), fields={"username": [_l("Already taken.")]})
    user = User(tenant_id=tenant.id, tenant=tenant, username=username, display_name=display_name,
                password_hash=hash_password(password))
    user.roles = roles
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", tenant, user, detail={"username": username, "roles": user.roles}, user=actor)
    return user


def update_user(user: User, *, roles=None, active=None, display_name=None, password=None, actor=None) -> User:
    """Change a user from clean values (loaded with :class:`hardship.accounts.schemas.UserUpdate`); ``None``
    leaves a value as it is."""
    require(actor, "users.manage")
    if roles is not None:
        _check_roles(user.tenant, roles)
    before = {"roles": user.roles, "active": user.active, "display_name": user.display_name}
    if actor is not None and actor.id == user.id and (
            active is False or (roles is not None and sorted(set(roles)) != user.roles)):
        raise Conflict(_l("You cannot disable yourself or change your own roles; ask another administrator."))
    if roles is not None:
        user.roles = roles
    if active is not None:
        user.active = bool(active)
        if active:
            user.failed_logins, user.locked_until = 0, None
    if display_name is not None:
        user.display_name = display_name
    if password is not None:
        user.password_hash = hash_password(password)
    if password is not None or active is False or (roles is not None and before["roles"] != user.roles):
        end_sessions(user)
    after = {"roles": user.roles, "active": user.active, "display_name": user.display_name}
    audit.record("user.update", user.tenant, user, user=actor,
                 detail={"before": before, "after": after, "password_changed": password is not None})
    return user


def end_sessions(user: User, tokens: bool = True, keep_token: ApiToken | None = None) -> None:
    """End every browser session of the user (their stamp no longer matches) and, unless
    ``tokens`` is false (a plain logout), its API tokens too (but ``keep_token``)."""
    user.session_stamp = secrets.token_hex(8)
    if tokens:
        revoke_tokens(user, keep=keep_token)


def change_own_password(user: User, current: str, new: str, *, keep_token: ApiToken | None = None) -> User:
    """A user changes their own password (clean values of :class:`hardship.accounts.schemas.PasswordChange`):
    the current one must be right (422 on ``current`` otherwise). Every other session and API token of the
    user ends: the browser session making the change is renewed by its page (``login_user`` again), the API
    token making it (``keep_token``) stays valid."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(fields={"current": [_l("The current password is wrong.")]})
    user.password_hash = hash_password(new)
    end_sessions(user, keep_token=keep_token)
    audit.record("user.password_change", user.tenant, user, user=user)
    return user


def _locked(cfg, until) -> TooManyRequests:
    return TooManyRequests(_l("Too many failed logins: this account is locked for %(m)d minutes, until %(t)s.",
                              m=cfg["LOGIN_LOCK_MINUTES"], t=format_datetime(until, "HH:mm")))


def authenticate(username: str, password: str) -> User:
    """Check a login. Each check of a known user's password is claimed first, atomically: one
    ``UPDATE users SET failed_logins = failed_logins + 1 ... WHERE <not locked> RETURNING`` whose row lock
    is held until the caller commits, so parallel attempts queue and exactly ``LOGIN_MAX_FAILURES`` wrong
    passwords are checked before the lock (the request that reaches it locks the account for
    ``LOGIN_LOCK_MINUTES``); a claim refused is the lock. Failures are audited before the refusal is
    raised: the caller commits them even though its request fails."""
    cfg = current_app.config
    username = (username or "").strip().lower()
    wrong = Unauthorized(_l("Wrong username or password."))
    with system_scope():
        user = db.session.scalar(select(User).where(User.username == username)) if username else None
        if user is None:
            verify_password(None, password or "")  # the same time as a known user's check
            raise wrong
        now = utcnow()
        claimed = db.session.execute(
            update(User).where(User.id == user.id, sa.or_(User.locked_until.is_(None), User.locked_until <= now))
            .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)).scalar()
        if claimed is None:
            until = db.session.scalar(select(User.locked_until).where(User.id == user.id))
            raise _locked(cfg, until)
        if verify_password(user.password_hash, password or "") and user.active:
            db.session.execute(update(User).where(User.id == user.id).values(
                failed_logins=0, locked_until=None, last_login_at=now))
            audit.record("user.login", user.tenant, user, user=user)
        else:
            until = None
            if claimed >= cfg["LOGIN_MAX_FAILURES"]:
                until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
                db.session.execute(update(User).where(User.id == user.id)
                                   .values(failed_logins=0, locked_until=until))
            audit.record("user.login_failed", user.tenant, user, user=user)
            db.session.flush()  # written under the system scope; the caller commits after it ends
            if until is not None:
                raise _locked(cfg, until)
            raise wrong
    set_scope(user.tenant.path)  # from here on the request sees what this user may see
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = "hs_" + secrets.token_urlsafe(32)
    row = ApiToken(tenant_id=user.tenant_id, user_id=user.id, token_hash=_token_hash(token),
                   expires_at=utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]))
    db.session.add(row)
    audit.record("token.issue", user.tenant, user, user=user)
    return token, row


def resolve_token(token: str) -> tuple[User, ApiToken] | None:
    """The active user and token row for a bearer token, or ``None`` (expired, revoked, unknown): one query,
    the token's user and union joined by their relationships."""
    with system_scope():
        row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.user.active:
            return None
        return row.user, row


def revoke_token(row: ApiToken) -> None:
    row.revoked_at = utcnow()
    audit.record("token.revoke", row.user.tenant, row.user)


def revoke_tokens(user: User, keep: ApiToken | None = None) -> None:
    stmt = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(ApiToken.id != keep.id)
    db.session.execute(stmt.values(revoked_at=utcnow()))
