"""The demo province loaded by ``hardship demo`` and ``make demo``.

河北省总工会 (P01) with two cities, three counties each and five enterprise unions per county,
plus one industry union under the province. Every tenant gets one user per role of its level,
named ``<code lower-case>_<role>`` (``k0101_clerk``), all with the same demo password. Each county
gets demo households in every status (``hardship.archives.demo``); the special-fund ledger gets a
realistic year and what is left of the years before (``hardship.funds.demo``); K0101 runs a warmth campaign
and an emergency case, paid from it (``hardship.aid.demo``).
"""

from __future__ import annotations

from sqlalchemy import select

from hardship.accounts.models import User
from hardship.accounts.passwords import hash_password
from hardship.core.db import db
from tenants.models import Tenant
from tenants.operations import create_tenant
from tenants.scoping import system_scope

DEMO_PASSWORD = "Demo@2026"

CITIES = [
    ("C01", "石家庄市总工会", "130100", [
        ("K0101", "长安区总工会", "130102"), ("K0102", "桥西区总工会", "130104"), ("K0103", "新华区总工会", "130105"),
    ]),
    ("C02", "邢台市总工会", "130500", [
        ("K0201", "襄都区总工会", "130502"), ("K0202", "信都区总工会", "130503"), ("K0203", "任泽区总工会", "130505"),
    ]),
]
ENTERPRISES = ["钢铁集团", "纺织有限公司", "机械制造厂", "食品有限公司", "建筑工程公司"]


def _ensure(parent, code, name, level, division=None) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
    return tenant or create_tenant(parent, code, name, level, division)


def load(password: str = DEMO_PASSWORD) -> list[tuple[str, str, str]]:
    """Create what is missing of the demo province (the caller commits); return ``(tenant, username,
    roles)`` for the first tenant of each level."""
    with system_scope():
        province = _ensure(None, "P01", "河北省总工会", "province", "130000")
        tenants = [province, _ensure(province, "I01", "省直机关工会", "industry")]
        for c_code, c_name, c_div, counties in CITIES:
            city = _ensure(province, c_code, c_name, "city", c_div)
            tenants.append(city)
            for k_code, k_name, k_div in counties:
                county = _ensure(city, k_code, k_name, "county", k_div)
                tenants.append(county)
                for i, short in enumerate(ENTERPRISES, start=1):
                    e_code = f"E{k_code[1:]}{i:03d}"
                    tenants.append(_ensure(county, e_code, f"{k_name[:-3]}{short}工会", "enterprise"))
        db.session.flush()
        existing = set(db.session.scalars(select(User.username)))
        pw_hash = hash_password(password)  # one hash for all demo users: creating 300 users stays fast
        for tenant in tenants:
            for role in tenant.plugin.roles:
                username = f"{tenant.code.lower()}_{role}"
                if username not in existing:
                    user = User(tenant_id=tenant.id, username=username, display_name=username,
                                password_hash=pw_hash)
                    user.roles = [role]
                    db.session.add(user)
        shown = []
        for code in ("P01", "C01", "K0101", "E0101001"):
            tenant = next(t for t in tenants if t.code == code)
            for role in tenant.plugin.roles:
                shown.append((f"{tenant.code} {tenant.name}", f"{code.lower()}_{role}", role))
        db.session.flush()
        from hardship.archives.demo import load_households

        load_households([county for _c, _n, _d, counties in CITIES for county in counties])
        from hardship.funds.demo import load_funds

        load_funds()
        from hardship.goods.demo import load_goods

        load_goods()
        from hardship.aid.demo import load_campaign

        load_campaign()
        from hardship.desk.demo import load_cases

        load_cases([county for _c, _n, _d, counties in CITIES for county, _k, _v in counties])
        db.session.flush()  # under the system scope; the caller commits
    return shown


def format_logins(logins, password: str = DEMO_PASSWORD) -> str:
    lines = ["Demo logins (every tenant has <code>_<role>; password for all: " + password + ")"]
    current = None
    for tenant, username, role in logins:
        if tenant != current:
            lines.append(f"  {tenant}")
            current = tenant
        lines.append(f"    {username:<22} {role}")
    return "\n".join(lines)
