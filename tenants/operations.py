"""Tenant operations: create unions in the tree, change their settings."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from hardship import audit
from hardship.accounts.operations import require
from hardship.core.db import db
from hardship.core.errors import Conflict, ValidationFailed
from tenants import settings as tenant_settings
from tenants.levels import registry
from tenants.models import Tenant, TenantSetting
from tenants.scoping import system_scope


def create_tenant(parent: Tenant | None, code: str, name: str, level: str,
                  division_code: str | None = None, actor=None) -> Tenant:
    """Create a union under ``parent`` (``None``: a root, command line only) from clean values (loaded with
    :class:`tenants.schemas.TenantCreate`)."""
    require(actor, "tenants.manage")
    plugin = registry.get(level)
    if parent is not None and not parent.plugin.allows_child(level):
        locale = str(get_locale())
        raise ValidationFailed(fields={"level": [_l("A %(child)s cannot sit under a %(parent)s.",
                                                    child=plugin.name(locale), parent=parent.plugin.name(locale))]})
    with system_scope():
        exists = db.session.scalar(select(Tenant.id).where(Tenant.code == code))
    if exists is not None:
        raise Conflict(_l("The code %(code)s is already used by another union.", code=code),
                       fields={"code": [_l("Already used.")]})
    path = (parent.path if parent else "/") + code + "/"
    tenant = Tenant(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                    division_code=division_code, path=path, depth=path.count("/") - 2)
    db.session.add(tenant)
    db.session.flush()
    audit.record("tenant.create", parent or tenant, tenant, user=actor,
                 detail={"code": code, "name": name, "level": level, "division_code": division_code})
    return tenant


def update_settings(tenant: Tenant, values: dict, actor=None) -> dict:
    """Apply a partial settings object: a value overrides, ``None`` removes the override."""
    require(actor, "settings.manage")
    clean = tenant_settings.validate_values(values)
    before = tenant_settings.effective(tenant)
    for key, value in clean.items():
        db.session.execute(delete(TenantSetting).where(TenantSetting.tenant_id == tenant.id,
                                                       TenantSetting.key == key))
        if value is not None:
            db.session.add(TenantSetting(tenant_id=tenant.id, key=key, value=value))
    db.session.flush()
    after = tenant_settings.effective(tenant)
    audit.record("settings.update", tenant, tenant, user=actor, detail={
        "before": {k: before[k]["value"] for k in clean}, "after": {k: after[k]["value"] for k in clean},
    })
    return after
