"""What the audit log calls the accounts' actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.accounts.models import User
from hardship.audit.registry import action, choice, fields_of, record, text
from hardship.core.db import db
from tenants.levels import ROLES
from tenants.models import Tenant
from tenants.scoping import subtree_filter


def _users(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(User.id, User.username, User.display_name, Tenant.code)
                              .join(Tenant, Tenant.id == User.tenant_id)
                              .where(User.id.in_(numbers), subtree_filter(User))).all()
    return {str(i): (f"{name}（{display}）" if display and display != name else name,
                     url_for("accounts_tenant_ui.edit_user", tenant_code=code, user_id=i))
            for i, name, display, code in rows}


record("User", _l("User"), _users)

_ROLES = choice(_l("Roles"), ROLES)
_STATE = {"roles": _ROLES, "active": text(_l("Enabled")), "display_name": text(_l("Display name"))}
action("user.create", _l("User created"), username=text(_l("User name")), roles=_ROLES)
action("user.update", _l("User changed"), before=fields_of(_l("Before"), _STATE),
       after=fields_of(_l("After"), _STATE), password_changed=text(_l("Password changed")))
action("user.password_change", _l("Own password changed"))
action("user.login", _l("Signed in"))
action("user.login_failed", _l("Wrong password"))
action("token.issue", _l("API token issued"))
action("token.revoke", _l("API token revoked"))
