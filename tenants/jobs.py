"""Background jobs of the tenant tree."""

from __future__ import annotations

from contextlib import contextmanager

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from hardship import audit
from hardship.accounts.models import User
from hardship.core.db import db
from hardship.core.jobs import every_tenant, job, scope_restorer
from hardship.core.xlsx import Column, Workbook
from tenants.levels import registry
from tenants.models import Tenant
from tenants.scoping import scope, subtree_filter, system_scope


@scope_restorer
@contextmanager
def tenant_scope(tenant_id: int):
    """A job runs under the scope of the tenant it was started for: that union's subtree, no wider."""
    with system_scope():
        path = db.session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    with scope(path):  # a union that is gone: the empty scope, in which the job finds nothing
        yield


every_tenant(system_scope)  # the runner's own bookkeeping (sweeping the jobs of stopped processes)


@job("reports", label=_l("Union directory export"))
def export_directory(run, tenant_id: int):
    """Write the union directory of a subtree (code, name, level, parent, division, user count) to xlsx.

    Runs under the scope of the tenant it was started for, so it can only see that subtree.
    """
    root = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if root is None:  # outside the job's scope: nothing to export
        raise LookupError("tenant not in scope")
    counts = dict(db.session.execute(
        select(User.tenant_id, func.count()).where(subtree_filter(User, root.path)).group_by(User.tenant_id)).all())
    total = db.session.scalar(select(func.count()).select_from(Tenant).where(subtree_filter(Tenant, root.path)))
    run.report(0.0, total=total)
    with force_locale("zh_Hans_CN"):
        columns = [Column(_("Code"), "code", 12), Column(_("Name"), "text", 32), Column(_("Level"), "text", 10),
                   Column(_("Parent"), "code", 12), Column(_("Division code"), "code", 14),
                   Column(_("Users"), "count", 8)]
    book = Workbook()
    sheet = book.sheet("工会名录", columns)
    rows = db.session.execute(
        select(Tenant).where(subtree_filter(Tenant, root.path)).order_by(Tenant.path)
        .execution_options(yield_per=1000)).scalars()
    for tenant in rows:
        plugin = registry.get(tenant.level)
        sheet.append([tenant.code, tenant.name, plugin.name("zh") if plugin else tenant.level,
                      (tenant.ancestor_codes or [""])[-1], tenant.division_code or "", counts.get(tenant.id, 0)])
    run.output = book.close()
    run.output_name = f"{root.code}-工会名录.xlsx"
    audit.record("tenant.export_directory", root, root, detail={"job": run.id, "rows": total})
    return {"rows": total}
