import pytest


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


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_urls_take_the_psycopg_3_driver(given, expected):
    from hardship.config import normalise_database_url

    assert normalise_database_url(given) == expected


@pytest.mark.parametrize("driver", ["psycopg2", "asyncpg", "pg8000"])
def test_another_postgresql_driver_is_refused_by_name(driver):
    from hardship.config import normalise_database_url

    with pytest.raises(ValueError, match=f"{driver}.*postgresql\\+psycopg://"):
        normalise_database_url(f"postgresql+{driver}://u@h/db")
