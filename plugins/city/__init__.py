"""Level plugin ``city``: 市总工会: receives special funds and allocates them to counties."""

from tenants.levels import ROLES, STANDARD_MENU, STANDARD_PANELS, LevelPlugin
from tenants.settings import SPEC_DEFAULTS


class CityLevel(LevelPlugin):
    key = "city"
    names = {"zh": "市级工会", "en": "City union"}
    children = ('county', 'industry', 'enterprise')
    roles = tuple(ROLES)
    keeps_archive = False
    menu = STANDARD_MENU
    dashboard_panels = STANDARD_PANELS
    report_forms = ('warmth', 'center_annual', 'monthly_funds', 'relief_progress')
    default_settings = SPEC_DEFAULTS
