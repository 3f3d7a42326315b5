"""What the audit log calls the tenant tree's actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.audit.registry import Detail, action, count, joined, labelled, record, text
from hardship.core.db import db
from tenants import settings
from tenants.levels import registry
from tenants.models import Tenant
from tenants.scoping import subtree_filter


def _tenants(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(Tenant.id, Tenant.code, Tenant.name)
                              .where(Tenant.id.in_(numbers), subtree_filter(Tenant))).all()
    return {str(i): (name, url_for("tenants_ui.home", tenant_code=code)) for i, code, name in rows}


def _settings(values) -> str:
    if not isinstance(values, dict):
        return "—"
    return joined(labelled(settings.DEFINITIONS[k].label if k in settings.DEFINITIONS else gettext("Other"),
                           settings.describe(k, v)) for k, v in values.items()) or "—"


def _level(key) -> str:
    plugin = registry.get(key) if key else None
    return plugin.name(str(get_locale())) if plugin else "—"


record("Tenant", _l("Union"), _tenants)
record("tenant", _l("Union"))
action("tenant.create", _l("Union created"), code=text(_l("Code")), name=text(_l("Name")),
       level=Detail(_l("Level"), _level),
       division_code=text(_l("Division code")))
action("settings.update", _l("Settings changed"), before=Detail(_l("Before"), _settings),
       after=Detail(_l("After"), _settings))
action("tenant.export_directory", _l("Union directory exported"), job=text(_l("Job")),
       rows=count(_l("Rows"), _l(" rows")))
