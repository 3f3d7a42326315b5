"""Tenant settings (SPEC 2.5): declared here, defaulted by level plugins, inherited down the tree.

The value of a key at tenant T is, first found wins:

1. T's own override (a ``TenantSetting`` row);
2. the nearest ancestor's override (a city's choice applies to its counties);
3. the default declared by T's level plugin, then by its ancestors' level plugins;
4. the definition's own default below.

Later modules declare their keys with :func:`define`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import select

from hardship.api import between
from hardship.core.db import db
from hardship.core.errors import ValidationFailed


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    label: object
    field: fields.Field
    default: object
    #: how the settings page asks for it: "number", "parts" (a few named numbers), "ratios" (a per-year table)
    widget: str = "number"
    #: what a number counts, shown beside its box
    unit: object = None
    #: the labels of a "parts" setting's numbers
    parts: dict | None = None


DEFINITIONS: dict[str, SettingDefinition] = {}


def define(key: str, label, field: fields.Field, default, **display) -> SettingDefinition:
    definition = SettingDefinition(key, label, field, default, **display)
    DEFINITIONS[key] = definition
    return definition


class AgingRule(Schema):
    warning_pct = fields.Integer(required=True, validate=between(0, 100))
    warning_after_years = fields.Integer(required=True, validate=between(0, 10))
    overdue_after_years = fields.Integer(required=True, validate=between(0, 10))


def _matching_ratio(value) -> None:
    # str(): marshmallow takes a message that is not a str (a lazy string) for a list of messages
    if not isinstance(value, dict) or "default" not in value:
        raise ValidationError(str(_l('Must be an object with a "default" ratio and optional years.')))
    for year, ratio in value.items():
        if year != "default" and not (isinstance(year, str) and year.isdigit() and len(year) == 4):
            raise ValidationError(str(_l("Keys must be \"default\" or a four-digit year.")))
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 10:
            raise ValidationError(str(_l("Ratios must be numbers from 0 to 10.")))


_AGING_PARTS = (("warning_pct", _l("warn below %(n)s%% used")), ("warning_after_years", _l("warn after %(n)s years")),
                ("overdue_after_years", _l("overdue after %(n)s years")))


def describe(key: str, value) -> str:
    """A setting's value as a person reads it (the settings page, the audit log): never JSON."""
    from flask_babel import format_decimal, gettext

    if value is None:
        return gettext("inherited")
    if key == "aging" and isinstance(value, dict):
        return gettext("; ").join(str(_l(text, n=format_decimal(value[part])))
                                  for part, text in _AGING_PARTS if part in value)
    if key == "desk_deadline_days_by_kind" and isinstance(value, dict):
        parts = DEFINITIONS[key].parts or {}
        return gettext("; ").join(
            gettext("%(label)s: %(value)s", label=parts.get(kind, kind),
                    value=gettext("%(n)s days", n=format_decimal(days)) if days else gettext("general deadline"))
            for kind, days in value.items())
    if key == "annual_filing_deadline" and isinstance(value, dict):
        return gettext("%(month)s/%(day)s of the next year", month=value.get("month"), day=value.get("day"))
    if key == "matching_ratio" and isinstance(value, dict):
        parts = [gettext("default %(ratio)s", ratio=format_decimal(value.get("default", 0)))]
        parts += [gettext("%(year)s: %(ratio)s", year=year, ratio=format_decimal(ratio))
                  for year, ratio in sorted(value.items()) if year != "default"]
        return gettext("; ").join(parts)
    unit = DEFINITIONS[key].unit if key in DEFINITIONS else None
    return format_decimal(value) + (str(unit) if unit else "") if isinstance(value, int | float) else str(value)


define("publicity_days", _l("Publicity period (days)"), fields.Integer(validate=between(0, 60)), 5, unit=_l(" days"))
define("survey_interval_months", _l("Home survey interval (months)"),
       fields.Integer(validate=between(1, 24)), 6, unit=_l(" months"))
define("aging", _l("Unspent balance aging"), fields.Nested(AgingRule),
       {"warning_pct": 50, "warning_after_years": 1, "overdue_after_years": 2}, widget="parts",
       parts={"warning_pct": _l("Warn below this share used (%)"), "warning_after_years": _l("Warn after (years)"),
              "overdue_after_years": _l("Overdue after (years)")})
define("matching_ratio", _l("Local matching ratio by year"),
       fields.Dict(validate=_matching_ratio), {"default": 1.0}, widget="ratios")
define("desk_deadline_days", _l("Service-desk deadline (days)"),
       fields.Integer(validate=between(1, 365)), 15, unit=_l(" days"))


class DeskDeadlines(Schema):
    """Days to handle a service-desk case of each kind; 0 takes ``desk_deadline_days``."""

    petition = fields.Integer(required=True, validate=between(0, 365))
    legal_aid = fields.Integer(required=True, validate=between(0, 365))
    job_referral = fields.Integer(required=True, validate=between(0, 365))
    training = fields.Integer(required=True, validate=between(0, 365))


define("desk_deadline_days_by_kind", _l("Service-desk deadline by kind of case (days; 0: the general deadline)"),
       fields.Nested(DeskDeadlines), {"petition": 0, "legal_aid": 0, "job_referral": 0, "training": 0},
       widget="parts", parts={"petition": _l("Petition"), "legal_aid": _l("Legal aid"),
                              "job_referral": _l("Job referral"), "training": _l("Skills training")})
define("monthly_filing_day", _l("Monthly report due day"), fields.Integer(validate=between(1, 28)), 5,
       unit=_l("th of the month"))

class AnnualDeadline(Schema):
    """The day of the next year by which a year's annual reports are due (day 1 to 28, valid in every month)."""

    month = fields.Integer(required=True, validate=between(1, 12))
    day = fields.Integer(required=True, validate=between(1, 28))


define("annual_filing_deadline", _l("Annual reports due (the next year's month and day)"),
       fields.Nested(AnnualDeadline), {"month": 3, "day": 28}, widget="parts",
       parts={"month": _l("Month"), "day": _l("Day")})

#: The defaults of SPEC 2.5, which the shipped level plugins declare.
SPEC_DEFAULTS = {key: d.default for key, d in DEFINITIONS.items()}


def validate_values(values: dict) -> dict:
    """Validate a partial settings object; ``None`` means "remove my override"."""
    if not isinstance(values, dict):
        raise ValidationFailed(fields={"_schema": [_l("Settings must be a JSON object.")]})
    errors: dict = {}
    clean: dict = {}
    for key, raw in values.items():
        definition = DEFINITIONS.get(key)
        if definition is None:
            errors[key] = [_l("Unknown setting.")]
            continue
        if raw is None:
            clean[key] = None
            continue
        try:
            clean[key] = definition.field.deserialize(raw)
        except ValidationError as exc:
            from hardship.api import translate_messages

            errors[key] = translate_messages(exc.messages)
    if errors:
        raise ValidationFailed(fields=errors)
    return clean


def _chains(tenants, keys) -> tuple[dict, dict]:
    """The tenants of every ``tenants``' chain (root .. tenant) by code, and their overrides of ``keys``
    by (code, key): two queries for any number of tenants. Read under the system scope: a deliberate,
    read-only widening to the ancestors, for setting values only."""
    from tenants.models import Tenant, TenantSetting
    from tenants.scoping import system_scope

    codes = sorted({code for tenant in tenants for code in tenant.path.strip("/").split("/")})
    with system_scope():
        chain = {t.code: t for t in db.session.scalars(select(Tenant).where(Tenant.code.in_(codes)))}
        rows = db.session.execute(
            select(Tenant.code, TenantSetting.key, TenantSetting.value)
            .join(Tenant, Tenant.id == TenantSetting.tenant_id)
            .where(Tenant.code.in_(codes), TenantSetting.key.in_(keys))
        ).all()
    return chain, {(code, key): value for code, key, value in rows}


def _resolve(tenant, key: str, chain: dict, overrides: dict, locale: str) -> dict:
    """One key's effective entry at ``tenant`` (the order of the module docstring)."""
    from tenants.levels import registry

    nearest_first = list(reversed(tenant.path.strip("/").split("/")))
    for code in nearest_first:
        if (code, key) in overrides:
            return {"value": overrides[(code, key)], "inherited": code != tenant.code, "source": code,
                    "source_name": chain[code].name if code in chain else code}
    for code in nearest_first:
        plugin = registry.get(chain[code].level) if code in chain else None
        if plugin is not None and key in plugin.default_settings:
            # a copy: the level's defaults are shared by every tenant of the level
            return {"value": copy.deepcopy(plugin.default_settings[key]), "inherited": True,
                    "source": f"level:{plugin.key}",
                    "source_name": str(_l("default of %(level)s", level=plugin.name(locale)))}
    return {"value": copy.deepcopy(DEFINITIONS[key].default), "inherited": True, "source": "default",
            "source_name": str(_l("system default"))}


def effective(tenant) -> dict[str, dict]:
    """``{key: {"value", "inherited", "source", "source_name"}}`` for ``tenant``; ``source`` is a
    tenant code, ``level:<key>`` or ``default``, ``source_name`` the same for people."""
    chain, overrides = _chains([tenant], list(DEFINITIONS))
    locale = str(get_locale())
    return {key: _resolve(tenant, key, chain, overrides, locale) for key in DEFINITIONS}


def values_of(tenants, key: str) -> dict[int, object]:
    """The effective value of ``key`` at each of ``tenants``, by tenant id, in two queries however many
    tenants there are (for lists and rollups that need one setting of many unions)."""
    return values_by_key(tenants, [key])[key]


def values_by_key(tenants, keys) -> dict[str, dict[int, object]]:
    """:func:`values_of` for several keys at once (still two queries): ``{key: {tenant id: value}}``."""
    tenants = list(tenants)
    chain, overrides = _chains(tenants, list(keys))
    locale = str(get_locale())
    return {key: {tenant.id: _resolve(tenant, key, chain, overrides, locale)["value"] for tenant in tenants}
            for key in keys}


def get(tenant, key: str):
    """The effective value of one setting at ``tenant``."""
    return effective(tenant)[key]["value"]
