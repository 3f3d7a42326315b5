"""Level plugin ``county``: 县(市、区)总工会 and development zones: keeps the household archive of the enterprises below it."""

from tenants.levels import ROLES, STANDARD_MENU, STANDARD_PANELS, LevelPlugin
from tenants.settings import SPEC_DEFAULTS


class CountyLevel(LevelPlugin):
    key = "county"
    names = {"zh": "县级工会", "en": "County union"}
    children = ('enterprise', 'industry')
    roles = tuple(ROLES)
    keeps_archive = True
    menu = STANDARD_MENU
    dashboard_panels = STANDARD_PANELS
    report_forms = ('warmth', 'center_annual', 'monthly_funds', 'relief_progress')
    default_settings = SPEC_DEFAULTS
