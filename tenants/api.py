"""Levels, the tenant tree and tenant settings (SPEC 8.3)."""

from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.api import json_object, load_body, route
from hardship.core.db import db
from hardship.jobs.api import StartedJob
from tenants import operations as ops
from tenants import settings as tenant_settings
from tenants.levels import registry
from tenants.models import Tenant
from tenants.schemas import LevelList, SettingsOut, TenantCreate, TenantList, TenantOut
from tenants.scoping import get_tenant, subtree_filter


@route("/levels", tags=["tenants"], response=LevelList)
def list_levels():
    """Installed level plugins."""
    return {"levels": [p.to_dict() for p in registry]}


@route("/tenants", ["POST"], body=TenantCreate, response=TenantOut, status=201, tags=["tenants"],
       responses={409: None})
def create_tenant():
    """Create a child union under a tenant of your subtree."""
    data = load_body(TenantCreate)
    parent = get_tenant(data["parent"])
    require(current_user, "tenants.manage")
    return ops.create_tenant(parent, data["code"], data["name"], data["level"], data["division_code"],
                             actor=current_user), 201


@route("/tenants/<code>", tags=["tenants"], response=TenantOut)
def get_tenant_view(code):
    """One union of your subtree."""
    return get_tenant(code)


@route("/tenants/<code>/children", tags=["tenants"], response=TenantList)
def list_children(code):
    """Direct children of a union."""
    tenant = get_tenant(code)
    children = db.session.scalars(
        select(Tenant).where(Tenant.parent_id == tenant.id, subtree_filter(Tenant)).order_by(Tenant.code)
    )
    return {"tenant": tenant.code, "children": children}


@route("/tenants/<code>/settings", tags=["tenants"], response=SettingsOut)
def get_settings(code):
    """Effective settings, each marked inherited or own, with its source."""
    tenant = get_tenant(code)
    return {"tenant": tenant.code, "settings": tenant_settings.effective(tenant)}


@route("/tenants/<code>/settings", ["PUT"], tags=["tenants"], response=SettingsOut, responses={400: None, 422: None})
def put_settings(code):
    """Override settings (partial object); a ``null`` value removes the override."""
    tenant = get_tenant(code)
    require(current_user, "settings.manage")
    return {"tenant": tenant.code, "settings": ops.update_settings(tenant, json_object(), actor=current_user)}


@route("/tenants/<code>/exports", ["POST"], tags=["tenants"], response=StartedJob, status=202)
def export_directory(code):
    """Start a background export of the subtree's union directory (xlsx); poll ``/jobs/{id}``."""
    from tenants.jobs import export_directory as export_job

    tenant = get_tenant(code)
    require(current_user, "tenants.read")
    run = export_job.enqueue(tenant, tenant.id, user=current_user)
    return {"job": run.id, "status": run.status}, 202
