"""Level plugin ``industry``: 产业工会 / 直属单位: a base-level union that may sit directly under any level."""

from tenants.levels import ROLES, STANDARD_MENU, STANDARD_PANELS, LevelPlugin
from tenants.settings import SPEC_DEFAULTS


class IndustryLevel(LevelPlugin):
    key = "industry"
    names = {"zh": "产业工会", "en": "Industry union"}
    children = ('enterprise',)
    roles = tuple(ROLES)
    keeps_archive = False
    menu = STANDARD_MENU
    dashboard_panels = STANDARD_PANELS
    report_forms = ('warmth', 'monthly_funds')
    default_settings = SPEC_DEFAULTS
