"""API schemas for the tenant tree and settings."""

from flask_babel import get_locale
from marshmallow import fields

from hardship.api import BaseSchema


class TenantCreate(BaseSchema):
    parent = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    division_code = fields.String(allow_none=True, load_default=None)


def _level_name(tenant) -> str:
    plugin = tenant.plugin
    return plugin.name(str(get_locale())) if plugin else tenant.level


class TenantOut(BaseSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    level_name = fields.Function(_level_name)
    parent = fields.Function(lambda t: t.ancestor_codes[-1] if t.ancestor_codes else None)
    ancestors = fields.Function(lambda t: t.ancestor_codes)
    division_code = fields.String(allow_none=True)
    depth = fields.Integer()
    active = fields.Boolean()


class TenantList(BaseSchema):
    tenant = fields.String()
    children = fields.List(fields.Nested(TenantOut))


class SettingValue(BaseSchema):
    value = fields.Raw()
    inherited = fields.Boolean()
    source = fields.String()
    source_name = fields.String()


class SettingsOut(BaseSchema):
    tenant = fields.String()
    settings = fields.Dict(keys=fields.String(), values=fields.Nested(SettingValue))


class LevelOut(BaseSchema):
    key = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    children = fields.List(fields.String())
    parents = fields.List(fields.String())
    roles = fields.List(fields.String())
    capabilities = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    keeps_archive = fields.Boolean()
    menu = fields.List(fields.Dict())
    dashboard_panels = fields.List(fields.String())
    report_forms = fields.List(fields.String())
    default_settings = fields.Dict()


class LevelList(BaseSchema):
    levels = fields.List(fields.Nested(LevelOut))
