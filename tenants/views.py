"""Tenant pages: the union's home with its children, new child union, settings."""

from __future__ import annotations

from importlib import import_module

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from hardship.accounts.models import User
from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.core.db import db
from hardship.web import submit, tenant_blueprint
from tenants import operations as ops
from tenants import settings as tenant_settings
from tenants.forms import ChildTenantForm, SettingsForm
from tenants.levels import registry
from tenants.models import Tenant
from tenants.schemas import TenantCreate
from tenants.scoping import subtree_filter

bp = tenant_blueprint("tenants_ui", __name__)


@bp.route("/")
def home():
    tenant = g.tenant
    children = db.session.execute(
        select(Tenant, func.count(User.id))
        .outerjoin(User, User.tenant_id == Tenant.id)
        .where(Tenant.parent_id == tenant.id, subtree_filter(Tenant))
        .group_by(Tenant.id).order_by(Tenant.code)
    ).all()
    descendants = db.session.execute(
        select(Tenant.level, func.count()).where(subtree_filter(Tenant, tenant.path), Tenant.id != tenant.id)
        .group_by(Tenant.level)
    ).all()
    crumbs = []
    if tenant.ancestor_codes:
        visible = {t.code: t for t in db.session.scalars(
            select(Tenant).where(Tenant.code.in_(tenant.ancestor_codes), subtree_filter(Tenant)))}
        crumbs = [visible[c] for c in tenant.ancestor_codes if c in visible]
    locale = str(get_locale())
    level_names = {p.key: p.name(locale) for p in registry}
    panels, context = _panels(tenant)
    return render_template("tenants/home.html", tenant=tenant, children=children, crumbs=crumbs,
                           descendants=[(level_names.get(k, k), n) for k, n in descendants],
                           level_names=level_names, panels=panels, **context)


def _panels(tenant: Tenant) -> tuple[list, dict]:
    """The level's dashboard panels the reader may see, and what their templates need (each context function
    called once)."""
    panels = [p for p in (tenant.plugin.dashboard_panels if tenant.plugin else ()) if p.visible_to(current_user)]
    context: dict = {}
    for name in dict.fromkeys(p.context for p in panels if p.context):
        module, _sep, function = name.partition(":")
        context.update(getattr(import_module(module), function)(tenant))
    return panels, context


@bp.route("/children/new", methods=["GET", "POST"])
def new_child():
    require(current_user, "tenants.manage")
    tenant = g.tenant
    form = ChildTenantForm()
    locale = str(get_locale())
    form.level.choices = [(k, registry.get(k).name(locale)) for k in tenant.plugin.allowed_children()]
    if form.validate_on_submit():
        created = {}

        def action():
            data = load_data(TenantCreate, {"parent": tenant.code, "code": form.code.data, "name": form.name.data,
                                            "level": form.level.data, "division_code": form.division_code.data})
            created["t"] = ops.create_tenant(tenant, data["code"], data["name"], data["level"], data["division_code"],
                                             actor=current_user)

        if submit(form, action, _l("The union was created.")):
            return redirect(url_for("tenants_ui.home", tenant_code=created["t"].code))
    return render_template("tenants/new_child.html", form=form, tenant=tenant)


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    require(current_user, "settings.manage")
    tenant = g.tenant
    form = SettingsForm(tenant_settings.DEFINITIONS, tenant_settings.effective(tenant))
    if request.method == "POST" and form.validate_on_submit():
        changes = form.submitted(request.form)
        if not changes:
            flash(str(_l("Nothing changed.")), "info")
            return redirect(url_for("tenants_ui.settings"))
        if submit(form, lambda: ops.update_settings(tenant, changes, actor=current_user), _l("Settings saved.")):
            return redirect(url_for("tenants_ui.settings"))
    return render_template("tenants/settings.html", form=form, tenant=tenant), \
        getattr(form, "error_status", None) or 200


@bp.route("/export", methods=["POST"])
def export():
    require(current_user, "tenants.read")
    FlaskForm().validate_on_submit()
    from tenants.jobs import export_directory

    run = export_directory.enqueue(g.tenant, g.tenant.id, user=current_user)
    return redirect(url_for("jobs_ui.job", job_id=run.id))
