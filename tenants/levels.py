"""Level plugins (SPEC 2.2).

A level (province, city, county, ...) is a class derived from :class:`LevelPlugin`,
published under the entry-point group ``hardship.levels``::

    [project.entry-points."hardship.levels"]
    province = "plugins.province:ProvinceLevel"

The core knows levels only through this registry: adding a level needs a new distribution
(or package) with an entry point, never a change in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

from flask_babel import lazy_gettext as _l

ENTRY_POINT_GROUP = "hardship.levels"

#: Every role of SPEC 2.4, with its display name.
ROLES = {
    "admin": _l("Administrator"),
    "clerk": _l("Clerk"),
    "approver": _l("Approver"),
    "head": _l("Chair"),
    "finance": _l("Finance officer"),
    "auditor": _l("Auditor"),
    "reviewer": _l("Reviewer"),
}

#: Capabilities the core and its domain modules check. A level plugin grants them to roles.
CAPABILITIES = {
    "tenants.read": _l("Read the union tree"),
    "tenants.manage": _l("Create and edit child unions"),
    "users.manage": _l("Manage users"),
    "settings.manage": _l("Change settings"),
    "audit.read": _l("Read the audit log"),
    "stats.read": _l("Read statistics"),
    "jobs.read": _l("Read background jobs"),
    "households.register": _l("Register hardship households"),
    "households.survey": _l("Record home surveys"),
    "households.decide": _l("Publicize, archive, reject, exit or cancel households"),
    "households.read": _l("Read the household archive"),
    "funds.post": _l("Post receipts, allocations and returns"),
    "funds.reverse": _l("Reverse ledger postings"),
    "funds.read": _l("Read the ledger"),
    "goods.read": _l("Read the goods stock"),
    "goods.manage": _l("Record goods received, handed out and corrected"),
    "aid.prepare": _l("Prepare aid batches"),
    "aid.approve": _l("Approve aid batches"),
    "aid.approve_large": _l("Approve large amounts"),
    "aid.pay": _l("Pay approved batches"),
    "reports.file": _l("File reports upward"),
    "reports.decide": _l("Accept or return filed reports"),
    "desk.handle": _l("Handle service-desk cases"),
    "desk.read": _l("Read service-desk cases and figures"),
}

#: The grants most levels use; a plugin may start from these and change them.
STANDARD_GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"tenants.read", "tenants.manage", "users.manage", "settings.manage", "jobs.read"}),
    "clerk": frozenset({
        "tenants.read", "households.register", "households.survey", "households.read",
        "aid.prepare", "reports.file", "desk.handle", "desk.read", "jobs.read", "goods.read", "goods.manage",
    }),
    "approver": frozenset({
        "tenants.read", "households.decide", "households.read", "aid.approve", "funds.reverse",
        "reports.decide", "desk.handle", "desk.read", "jobs.read", "goods.read",
    }),
    "head": frozenset({"tenants.read", "aid.approve", "aid.approve_large", "households.read", "stats.read",
                       "goods.read", "desk.read"}),
    # a purchase of goods is paid from a lot through the ledger: the finance officer's ``aid.pay``
    "finance": frozenset({"tenants.read", "funds.post", "funds.read", "aid.pay", "stats.read", "jobs.read",
                          "goods.read"}),
    "auditor": frozenset({"tenants.read", "audit.read", "funds.read", "households.read", "stats.read", "goods.read",
                          "desk.read"}),
    "reviewer": frozenset({"tenants.read", "stats.read", "funds.read", "goods.read", "desk.read"}),
}


@dataclass(frozen=True)
class MenuEntry:
    """A link in the tenant menu: shown when the endpoint exists and the user has the capability."""

    endpoint: str
    label: object
    capability: str | None = None


@dataclass(frozen=True)
class DashboardPanel:
    """A part of the union's home page, shown to a user holding any of its capabilities (everyone when none):
    ``template`` renders it with what ``context`` (``"module:function"``, called with the tenant; panels naming
    the same function share one call) returns; a panel without a template is one the home page draws itself."""

    key: str
    title: object
    capability: str | tuple[str, ...] | None = None
    template: str | None = None
    context: str | None = None

    def visible_to(self, user) -> bool:
        needed = (self.capability,) if isinstance(self.capability, str) else (self.capability or ())
        return not needed or any(user.can(c) for c in needed)


class LevelPlugin:
    """Base class of a level. Subclasses override the class attributes below."""

    #: registry key, stored in ``tenants.level``
    key: str = ""
    #: display names by language: ``{"zh": ..., "en": ...}``
    names: dict = {}
    #: keys of the levels allowed as direct children
    children: tuple[str, ...] = ()
    #: keys of the levels this level may sit under, so that a new level can attach itself to
    #: the shipped ones without changing them
    parents: tuple[str, ...] = ()
    #: roles that exist at this level (subset of :data:`ROLES`)
    roles: tuple[str, ...] = tuple(ROLES)
    #: role -> capabilities granted at this level
    grants: dict = STANDARD_GRANTS
    #: whether this level keeps the household archive for the enterprises below it (SPEC 2.3)
    keeps_archive: bool = False
    #: menu entries, in order
    menu: tuple[MenuEntry, ...] = ()
    #: dashboard panels, in order
    dashboard_panels: tuple[DashboardPanel, ...] = ()
    #: report forms this level files upward (SPEC 6.3)
    report_forms: tuple[str, ...] = ()
    #: default values of tenant settings at this level (keys from ``tenants.settings``)
    default_settings: dict = {}

    def name(self, locale: str | None = None) -> str:
        lang = "en" if (locale or "").startswith("en") else "zh"
        return self.names.get(lang) or self.names.get("zh") or self.key

    def capabilities_for(self, roles) -> frozenset[str]:
        caps: set[str] = set()
        for role in roles:
            if role in self.roles:
                caps |= set(self.grants.get(role, ()))
        return frozenset(caps)

    def allows_child(self, level_key: str) -> bool:
        """Whether a union of ``level_key`` may sit directly under a union of this level."""
        if level_key in self.children:
            return True
        child = registry.get(level_key)
        return child is not None and self.key in child.parents

    def allowed_children(self) -> list[str]:
        return [key for key in registry.levels if self.allows_child(key)]

    def get_blueprints(self) -> tuple:
        """Blueprints this level adds to the app (its own pages); none by default."""
        return ()

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "names": dict(self.names),
            "children": self.allowed_children(),
            "parents": list(self.parents),
            "roles": list(self.roles),
            "capabilities": {r: sorted(self.grants.get(r, ())) for r in self.roles},
            "keeps_archive": self.keeps_archive,
            "menu": [{"endpoint": m.endpoint, "label": str(m.label)} for m in self.menu],
            "dashboard_panels": [p.key for p in self.dashboard_panels],
            "report_forms": list(self.report_forms),
            "default_settings": dict(self.default_settings),
        }


class LevelRegistry:
    """The installed levels, read from the entry-point group."""

    def __init__(self) -> None:
        self._levels: dict[str, LevelPlugin] | None = None

    def load(self) -> dict[str, LevelPlugin]:
        levels: dict[str, LevelPlugin] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls = ep.load()
            plugin = cls() if isinstance(cls, type) else cls
            if not isinstance(plugin, LevelPlugin):
                raise TypeError(f"{ep.value} is not a LevelPlugin")
            if plugin.key != ep.name:
                raise ValueError(f"entry point {ep.name!r} names a plugin with key {plugin.key!r}")
            unknown = set(plugin.roles) - set(ROLES)
            if unknown:
                raise ValueError(f"level {plugin.key!r} declares unknown roles {sorted(unknown)}")
            levels[plugin.key] = plugin
        self._levels = levels
        return levels

    @property
    def levels(self) -> dict[str, LevelPlugin]:
        if self._levels is None:
            self.load()
        return self._levels

    def get(self, key: str) -> LevelPlugin | None:
        return self.levels.get(key)

    def __iter__(self):
        return iter(self.levels.values())

    def __contains__(self, key: str) -> bool:
        return key in self.levels


registry = LevelRegistry()


#: Menu entries every shipped level shows; entries whose endpoint is not installed are hidden.
STANDARD_MENU: tuple[MenuEntry, ...] = (
    MenuEntry("tenants_ui.home", _l("Overview")),
    MenuEntry("reports_ui.summary", _l("Statistics summary"), "stats.read"),
    MenuEntry("reports_ui.filings", _l("Report filing"), "reports.file"),
    MenuEntry("reports_ui.filing_board", _l("Children's report filing"), "reports.decide"),
    MenuEntry("archives_ui.index", _l("Hardship household archive"), "households.read"),
    MenuEntry("archives_ui.new", _l("New registration"), "households.register"),
    MenuEntry("imports_ui.households", _l("Import households"), "households.register"),
    MenuEntry("funds_ui.index", _l("Special funds"), "funds.read"),
    MenuEntry("desk_ui.index", _l("Service desk"), "desk.read"),
    MenuEntry("funds_ui.transactions", _l("Fund transactions"), "funds.reverse"),
    MenuEntry("goods_ui.index", _l("Goods stock"), "goods.read"),
    MenuEntry("aid_ui.index", _l("Aid campaigns"), "aid.prepare"),
    MenuEntry("aid_ui.queue", _l("Approval queue"), "aid.approve"),
    MenuEntry("aid_ui.never_assisted", _l("Never assisted this year"), "households.read"),
    MenuEntry("tenants_ui.new_child", _l("New child union"), "tenants.manage"),
    MenuEntry("accounts_tenant_ui.users", _l("Users"), "users.manage"),
    MenuEntry("tenants_ui.settings", _l("Settings"), "settings.manage"),
    MenuEntry("audit_ui.audit", _l("Audit log"), "audit.read"),
    MenuEntry("jobs_ui.jobs", _l("Background jobs"), "jobs.read"),
)

_STATISTICS = "hardship.reports.views:dashboard_context"
STANDARD_PANELS: tuple[DashboardPanel, ...] = (
    DashboardPanel("archive", _l("Hardship households"), ("stats.read", "households.read"),
                   "reports/panels/archive.html", _STATISTICS),
    DashboardPanel("aid", _l("Aid paid"), "stats.read", "reports/panels/aid.html", _STATISTICS),
    DashboardPanel("funds", _l("Special funds"), "stats.read", "reports/panels/funds.html", _STATISTICS),
    DashboardPanel("filing", _l("Children's report filing"), ("stats.read", "reports.decide"),
                   "reports/panels/filing.html", _STATISTICS),
    DashboardPanel("parts", _l("By union below"), ("stats.read", "households.read"), "reports/panels/parts.html",
                   _STATISTICS),
    DashboardPanel("children", _l("Child unions")),
    DashboardPanel("users", _l("Users"), "users.manage"),
)
