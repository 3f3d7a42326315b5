"""Level plugin ``enterprise``: 企业基层工会: registers its workers' hardship applications."""

from tenants.levels import STANDARD_MENU, STANDARD_PANELS, LevelPlugin
from tenants.settings import SPEC_DEFAULTS


class EnterpriseLevel(LevelPlugin):
    key = "enterprise"
    names = {"zh": "基层工会", "en": "Enterprise union"}
    children = ()
    roles = ('admin', 'clerk', 'approver', 'head', 'auditor')
    keeps_archive = False
    menu = STANDARD_MENU
    dashboard_panels = STANDARD_PANELS
    report_forms = ()
    default_settings = SPEC_DEFAULTS
