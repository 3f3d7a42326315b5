"""Schemas of the tenant tree and settings: what the API, the new-union page and the command line load, and
what the API sends."""

import re

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from hardship.api import BaseSchema
from hardship.core.fields import Choice, Pattern, Text
from tenants.levels import registry

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
DIVISION_RE = re.compile(r"^[0-9]{6}$")


def union_code_field(**kwargs) -> Pattern:
    """A union's code, upper-cased: 2 to 32 capital letters, digits and '-'."""
    return Pattern(CODE_RE, _l("2 to 32 characters: capital letters, digits and '-', starting with a letter or digit."),
                   normalise=str.upper, max_length=32, **kwargs)


def division_code_field(**kwargs) -> Pattern:
    """An administrative division code (six digits), or ``None`` when left empty."""
    return Pattern(DIVISION_RE, _l("Six digits (administrative division code)."), max_length=6, empty_is_none=True,
                   **kwargs)


class InstalledLevels:
    """The keys of the installed level plugins, read when a value is checked (plugins load on first use)."""

    def __contains__(self, key) -> bool:
        return key in registry.levels

    def __iter__(self):
        return iter(sorted(registry.levels))

    def values(self):
        """The levels' names in the reader's language (what a refusal lists)."""
        from flask_babel import get_locale

        return [registry.get(key).name(str(get_locale())) for key in self]


class TenantCreate(BaseSchema):
    parent = Text(required=True, max_length=32, metadata={"description": "code of the parent union"})
    code = union_code_field(required=True)
    name = Text(required=True, max_length=100)
    level = Choice(InstalledLevels(), required=True, unknown=lambda value, known: _l(
        "Unknown level %(level)s; installed: %(known)s.", level=value, known=known))
    division_code = division_code_field()


def _level_name(tenant) -> str:
    plugin = tenant.plugin
    return plugin.name(str(get_locale())) if plugin else tenant.level


class TenantOut(BaseSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    level_name = fields.Function(_level_name, required=True, metadata={"type": "string"})
    parent = fields.Function(lambda t: t.ancestor_codes[-1] if t.ancestor_codes else None, required=True,
                             allow_none=True, metadata={"type": "string"})
    ancestors = fields.List(fields.String(), required=True, attribute="ancestor_codes",
                            metadata={"description": "codes from the root down to the parent"})
    division_code = fields.String(required=True, allow_none=True)
    depth = fields.Integer(required=True)
    active = fields.Boolean(required=True)


class TenantList(BaseSchema):
    tenant = fields.String(required=True)
    children = fields.List(fields.Nested(TenantOut), required=True)


class SettingValue(BaseSchema):
    value = fields.Raw(required=True)
    inherited = fields.Boolean(required=True)
    source = fields.String(required=True, metadata={"description": "a union's code, level:<key> or default"})
    source_name = fields.String(required=True)


class SettingsOut(BaseSchema):
    tenant = fields.String(required=True)
    settings = fields.Dict(keys=fields.String(), values=fields.Nested(SettingValue), required=True)


class MenuEntryOut(BaseSchema):
    endpoint = fields.String(required=True)
    label = fields.String(required=True)


class LevelOut(BaseSchema):
    key = fields.String(required=True)
    names = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    children = fields.List(fields.String(), required=True)
    parents = fields.List(fields.String(), required=True)
    roles = fields.List(fields.String(), required=True)
    capabilities = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    keeps_archive = fields.Boolean(required=True)
    menu = fields.List(fields.Nested(MenuEntryOut), required=True)
    dashboard_panels = fields.List(fields.String(), required=True)
    report_forms = fields.List(fields.String(), required=True)
    default_settings = fields.Dict(required=True)


class LevelList(BaseSchema):
    levels = fields.List(fields.Nested(LevelOut), required=True)
