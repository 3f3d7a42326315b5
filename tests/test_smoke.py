def test_api_levels_requires_auth(api_as, tree):
    resp = api_as().get("/api/v1/levels")
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unauthorized"


def test_levels_and_tenant(api_as, tree):
    api = api_as("c01_all")
    resp = api.get("/api/v1/levels")
    assert resp.status_code == 200
    assert {lvl["key"] for lvl in resp.json["levels"]} >= {"province", "city", "county", "enterprise", "industry"}
    assert api.get("/api/v1/tenants/K0101").json["parent"] == "C01"
    assert api.get("/api/v1/tenants/K0201").status_code == 404


def test_ui_login_home(client, login, tree):
    login("c01_all")
    page = client.get("/t/C01/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "K0101" in html and "县级工会" in html
    assert client.get("/t/C02/").status_code == 404
