"""Level plugin ``province``: 省总工会: reads consolidated statistics and unspent balances of the province."""

from tenants.levels import ROLES, STANDARD_MENU, STANDARD_PANELS, LevelPlugin
from tenants.settings import SPEC_DEFAULTS


class ProvinceLevel(LevelPlugin):
    key = "province"
    names = {"zh": "省级工会", "en": "Provincial union"}
    children = ('city', 'industry', 'enterprise')
    roles = tuple(ROLES)
    keeps_archive = False
    menu = STANDARD_MENU
    dashboard_panels = STANDARD_PANELS
    report_forms = ()
    default_settings = SPEC_DEFAULTS
