"""The tenant tree, its API and UI, settings inheritance and a level that exists only in the tests."""

import sys
import textwrap

import pytest
import sqlalchemy as sa

from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tenants.levels import registry
from tenants.models import Tenant
from tests.conftest import PASSWORD, csrf_from, system


def _count(app, model):
    with system(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_child_tenant(app, api_as, tree):
    api = api_as("c01_all")
    resp = api.post("/api/v1/tenants", json={"parent": "K0101", "code": "e0101009", "name": "长安区纺织厂工会",
                                             "level": "enterprise", "division_code": None})
    assert resp.status_code == 201, resp.json
    assert resp.json["code"] == "E0101009" and resp.json["ancestors"] == ["P01", "C01", "K0101"]
    with system(app):
        t = db.session.scalar(sa.select(Tenant).where(Tenant.code == "E0101009"))
        assert t.path == "/P01/C01/K0101/E0101009/" and t.depth == 3
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tenant.create",
                                                             AuditEvent.object_id == str(t.id))) is not None
    children = api.get("/api/v1/tenants/K0101/children").json["children"]
    assert [c["code"] for c in children] == ["E0101001", "E0101009"]


def test_industry_union_beside_counties(api_as, tree):
    resp = api_as("p01_all").post("/api/v1/tenants", json={
        "parent": "C01", "code": "I0101", "name": "市建设产业工会", "level": "industry"})
    assert resp.status_code == 201


@pytest.mark.parametrize("body, status, field", [
    ({"parent": "K0101", "code": "E9", "name": "x", "level": "galaxy"}, 422, "level"),
    ({"parent": "K0101", "code": "E9", "name": "x", "level": "city"}, 422, "level"),
    ({"parent": "E0101001", "code": "E9", "name": "x", "level": "enterprise"}, 422, "level"),
    ({"parent": "K0101", "code": "E0101001", "name": "x", "level": "enterprise"}, 409, "code"),
    ({"parent": "K0101", "code": "C01", "name": "x", "level": "enterprise"}, 409, "code"),
    ({"parent": "K0101", "code": "e 1", "name": "x", "level": "enterprise"}, 422, "code"),
    ({"parent": "K0101", "code": "E_1", "name": "x", "level": "enterprise"}, 422, "code"),
    ({"parent": "K0101", "code": "E%", "name": "x", "level": "enterprise"}, 422, "code"),
    ({"parent": "K0101", "code": "X" * 33, "name": "x", "level": "enterprise"}, 422, "code"),
    ({"parent": "K0101", "code": "E9", "name": "  ", "level": "enterprise"}, 422, "name"),
    ({"parent": "K0101", "code": "E9", "name": "名" * 101, "level": "enterprise"}, 422, "name"),
    ({"parent": "K0101", "code": "E9", "name": "x", "level": "enterprise", "division_code": "13010"}, 422,
     "division_code"),
    ({"parent": "K0101", "code": "E9", "name": "x"}, 422, "level"),
    ({"parent": "K0101", "code": 12, "name": "x", "level": "enterprise"}, 422, "code"),
    ({"parent": "K0201", "code": "E9", "name": "x", "level": "enterprise"}, 404, None),
    ({"parent": "NOPE", "code": "E9", "name": "x", "level": "enterprise"}, 404, None),
])
def test_create_tenant_bad_input(app, api_as, tree, body, status, field):
    before = _count(app, Tenant)
    resp = api_as("c01_all").post("/api/v1/tenants", json=body)
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["message"]
    if field:
        assert field in resp.json["error"]["fields"], resp.json
    assert _count(app, Tenant) == before


def test_error_messages_follow_accept_language(api_as, tree):
    body = {"parent": "K0101", "code": "E9", "name": "x", "level": "galaxy"}
    en = api_as("c01_all", lang="en").post("/api/v1/tenants", json=body).json["error"]
    zh = api_as("c01_all", lang="zh-CN").post("/api/v1/tenants", json=body).json["error"]
    assert "Unknown level" in en["fields"]["level"][0]
    assert en["fields"]["level"][0] != zh["fields"]["level"][0]
    missing = api_as("c01_all", lang="en").post("/api/v1/tenants", json={"parent": "K0101"}).json["error"]
    assert missing["fields"]["code"] == ["Required."]


@pytest.mark.parametrize("data, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"code=E1", "application/x-www-form-urlencoded"),
])
def test_malformed_body_is_400(app, client, factory, tree, data, content_type):
    token = factory.token("c01_all")
    resp = client.post("/api/v1/tenants", data=data, headers={"Authorization": f"Bearer {token}",
                                                               "Content-Type": content_type})
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "bad_request" and resp.json["error"]["message"]


def test_missing_tenant_manage_is_403(api_as, factory, tree):
    factory.user("C01", roles=("finance",), username="c01_fin")
    resp = api_as("c01_fin").post("/api/v1/tenants", json={"parent": "K0101", "code": "E9", "name": "x",
                                                           "level": "enterprise"})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden"


def test_api_404_405_format(api_as, tree):
    api = api_as("c01_all")
    nf = api.get("/api/v1/no/such/thing")
    assert nf.status_code == 404 and nf.json["error"]["code"] == "not_found"
    na = api.request("DELETE", "/api/v1/levels")
    assert na.status_code == 405 and na.json["error"]["code"] == "method_not_allowed"


def test_openapi_document(api_as, tree):
    doc = api_as().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ["/api/v1/auth/tokens", "/api/v1/levels", "/api/v1/tenants", "/api/v1/tenants/{code}",
                 "/api/v1/tenants/{code}/children", "/api/v1/tenants/{code}/users", "/api/v1/tenants/{code}/settings"]:
        assert path in doc["paths"], path
    assert "requestBody" in doc["paths"]["/api/v1/tenants"]["post"]


def test_settings_inheritance(app, api_as, tree):
    api = api_as("c01_all", lang="en")
    k = api.get("/api/v1/tenants/K0101/settings").json["settings"]
    assert k["publicity_days"] == {"value": 5, "inherited": True, "source": "level:county",
                                   "source_name": "default of County union"}
    assert k["aging"]["value"] == {"warning_pct": 50, "warning_after_years": 1, "overdue_after_years": 2}
    assert k["matching_ratio"]["value"] == {"default": 1.0}

    resp = api.put("/api/v1/tenants/C01/settings", json={"publicity_days": 7, "matching_ratio": {"default": 1.0, "2010": 0.5}})
    assert resp.status_code == 200, resp.json
    assert resp.json["settings"]["publicity_days"] == {"value": 7, "inherited": False, "source": "C01",
                                                       "source_name": "C01工会"}
    k = api.get("/api/v1/tenants/K0101/settings").json["settings"]
    assert k["publicity_days"] == {"value": 7, "inherited": True, "source": "C01", "source_name": "C01工会"}
    assert k["matching_ratio"]["value"]["2010"] == 0.5
    assert api.get("/api/v1/tenants/K0201/settings").status_code == 404
    assert api_as("k0201_all").get("/api/v1/tenants/K0201/settings").json["settings"]["publicity_days"]["value"] == 5

    assert api.put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0}).status_code == 200
    assert api.get("/api/v1/tenants/E0101001/settings").json["settings"]["publicity_days"] == {
        "value": 0, "inherited": True, "source": "K0101", "source_name": "K0101工会"}
    assert api.put("/api/v1/tenants/K0101/settings", json={"publicity_days": None}).status_code == 200
    assert api.get("/api/v1/tenants/K0101/settings").json["settings"]["publicity_days"]["source"] == "C01"


def test_effective_settings_are_copies_of_the_shared_defaults(app, tree):
    from tenants.settings import effective

    with system(app):
        k0101, k0102 = (db.session.scalar(sa.select(Tenant).where(Tenant.code == c)) for c in ("K0101", "K0102"))
        mine = effective(k0101)
        mine["aging"]["value"]["warning_pct"] = 99  # a caller that changes what it was given
        mine["matching_ratio"]["value"]["default"] = 7.0
        theirs = effective(k0102)
    assert theirs["aging"]["value"]["warning_pct"] == 50
    assert theirs["matching_ratio"]["value"] == {"default": 1.0}


def test_many_unions_settings_at_once_agree_with_each_unions_own(app, api_as, tree):
    """``values_of`` (one setting of many unions in two queries) gives what ``effective`` gives each."""
    from tenants.settings import DEFINITIONS, effective, values_of

    for code, values in [("P01", {"survey_interval_months": 9}), ("C01", {"publicity_days": 7}),
                         ("K0101", {"survey_interval_months": 3, "publicity_days": 0})]:
        assert api_as(f"{code.lower()}_all").put(f"/api/v1/tenants/{code}/settings", json=values).status_code == 200
    with system(app):
        tenants = db.session.scalars(sa.select(Tenant)).all()
        for key in DEFINITIONS:
            assert values_of(tenants, key) == {t.id: effective(t)[key]["value"] for t in tenants}, key
        by_code = {t.code: values_of(tenants, "survey_interval_months")[t.id] for t in tenants}
        db.session.rollback()
    assert by_code["E0101001"] == by_code["K0101"] == 3 and by_code["K0102"] == by_code["C02"] == 9


@pytest.mark.parametrize("body, field", [
    ({"publicity_days": -1}, "publicity_days"),
    ({"publicity_days": "five"}, "publicity_days"),
    ({"survey_interval_months": 0}, "survey_interval_months"),
    ({"aging": {"warning_pct": 150, "warning_after_years": 1, "overdue_after_years": 2}}, "aging"),
    ({"aging": {"warning_pct": 50}}, "aging"),
    ({"matching_ratio": {"2010": 0.5}}, "matching_ratio"),
    ({"matching_ratio": {"default": "x"}}, "matching_ratio"),
    ({"matching_ratio": {"default": 1, "20x0": 1}}, "matching_ratio"),
    ({"no_such_key": 1}, "no_such_key"),
])
def test_settings_bad_input(app, api_as, tree, body, field):
    api = api_as("c01_all")
    resp = api.put("/api/v1/tenants/C01/settings", json={"desk_deadline_days": 20, **body})
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert api.get("/api/v1/tenants/C01/settings").json["settings"]["desk_deadline_days"]["value"] == 15


def test_settings_page(app, client, login, tree):
    login("c01_all")
    page = client.get("/t/K0101/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    resp = client.post("/t/K0101/settings", data={"csrf_token": csrf_from(html), "publicity_days": "9",
                                                  "survey_interval_months": "6"})
    assert resp.status_code == 302
    html = client.get("/t/K0101/settings").get_data(as_text=True)
    assert 'value="9"' in html
    bad = client.post("/t/K0101/settings", data={"csrf_token": csrf_from(html), "publicity_days": "-3"})
    assert bad.status_code == 422 and "应在 0 到 60 之间" in bad.get_data(as_text=True)
    assert 'value="9"' in client.get("/t/K0101/settings").get_data(as_text=True)


def test_new_child_page(app, client, login, tree):
    login("c01_all")
    page = client.get("/t/K0101/children/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="enterprise"' in html and 'value="city"' not in html
    resp = client.post("/t/K0101/children/new", data={"csrf_token": csrf_from(html), "code": "E0101007",
                                                      "name": "长安区食品厂工会", "level": "enterprise"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/t/E0101007/")
    dup = client.post("/t/K0101/children/new", data={"csrf_token": csrf_from(html), "code": "E0101007",
                                                     "name": "又一个", "level": "enterprise"})
    assert dup.status_code == 200 and "E0101007" in dup.get_data(as_text=True)


def test_security_headers(client, tree):
    for path in ["/login", "/api/v1/openapi.json", "/t/C01/"]:
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(client, login, tree):
    login("c01_all")
    for path in ["/t/C01/", "/t/C01/users", "/t/C01/settings", "/t/C01/audit", "/t/C01/children/new"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "onclick" not in html and "http://" not in html.replace(
            "http://localhost", ""), path


WORKSHOP_LEVEL = '''
from tenants.levels import LevelPlugin, MenuEntry, STANDARD_MENU


class WorkshopLevel(LevelPlugin):
    key = "workshop"
    names = {"zh": "车间工会", "en": "Workshop union"}
    parents = ("enterprise",)
    roles = ("admin", "clerk")
    grants = {"admin": frozenset({"tenants.read", "users.manage", "settings.manage"}),
              "clerk": frozenset({"tenants.read", "households.register"})}
    menu = STANDARD_MENU
    default_settings = {"publicity_days": 3}
'''


@pytest.fixture
def workshop_level(tmp_path):
    """A level plugin installed as a distribution that exists only in this test (entry point + module)."""
    (tmp_path / "workshop_level.py").write_text(textwrap.dedent(WORKSHOP_LEVEL))
    dist = tmp_path / "workshop_level-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: workshop-level\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hardship.levels]\nworkshop = workshop_level:WorkshopLevel\n")
    sys.path.insert(0, str(tmp_path))
    registry.load()
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("workshop_level", None)
        registry.load()


def test_level_defined_only_in_tests(app, api_as, client, login, tree, workshop_level):
    api = api_as("k0101_all", lang="en")
    levels = {lvl["key"]: lvl for lvl in api.get("/api/v1/levels").json["levels"]}
    assert levels["workshop"]["names"]["zh"] == "车间工会"
    assert "workshop" in levels["enterprise"]["children"]
    resp = api.post("/api/v1/tenants", json={"parent": "E0101001", "code": "W010100101", "name": "一车间工会",
                                             "level": "workshop"})
    assert resp.status_code == 201, resp.json
    assert resp.json["level_name"] == "Workshop union"
    bad = api.post("/api/v1/tenants", json={"parent": "K0101", "code": "W2", "name": "x", "level": "workshop"})
    assert bad.status_code == 422
    assert api.post("/api/v1/tenants/W010100101/users", json={
        "username": "w_admin", "password": PASSWORD, "roles": ["admin"]}).status_code == 201
    assert api.post("/api/v1/tenants/W010100101/users", json={
        "username": "w_fin", "password": PASSWORD, "roles": ["finance"]}).status_code == 422
    settings = api.get("/api/v1/tenants/W010100101/settings").json["settings"]
    assert settings["publicity_days"]["value"] == 3 and settings["publicity_days"]["source"] == "level:workshop"

    login("w_admin")
    home = client.get("/t/W010100101/", headers={"Accept-Language": "zh-CN"})
    html = home.get_data(as_text=True)
    assert home.status_code == 200 and "车间工会" in html and "/t/W010100101/users" in html
    assert "/t/W010100101/audit" not in html  # the workshop grants no audit.read
    assert client.get("/t/W010100101/audit").status_code == 403
    assert client.get("/t/E0101001/").status_code == 404
