"""The settings page asks with proper inputs (numbers with their units, the aging rule's parts, a per-year
ratio table), names a refused value by its label, and never shows a setting key or JSON."""

from __future__ import annotations

import re

from tests.conftest import csrf_from


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)))


def _form(client, path="/t/K0101/settings") -> tuple[str, dict]:
    """The page and the values its inputs would send as they are (a browser's form data)."""
    html = client.get(path).get_data(as_text=True)
    data: dict = {"csrf_token": csrf_from(html)}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and name[1] != "csrf_token" and 'type="checkbox"' not in tag:
            name, value = name[1], value[1]
            data.setdefault(name, []).append(value)
    return html, data


def test_inputs_are_numbers_and_tables(client, login, tree):
    login("c01_all")
    html, data = _form(client)
    assert re.search(r'name="publicity_days" type="number"[^>]*min="0" max="60"', html)
    assert 'name="aging.warning_pct"' in html and 'name="matching_ratio.default"' in html
    assert data["matching_ratio.year"] == ["", "", ""]
    text = _visible(html)
    for leak in ["publicity_days", "matching_ratio", "warning_pct", "{", "\"default\""]:
        assert leak not in text, leak
    assert "5 天" in text and "默认 1" in text


def test_saving_the_form_unchanged_changes_nothing(client, login, api_as, tree):
    login("c01_all")
    _html, data = _form(client)
    resp = client.post("/t/K0101/settings", data=data, follow_redirects=True)
    assert "未作任何修改" in resp.get_data(as_text=True)
    settings = api_as("c01_all").get("/api/v1/tenants/K0101/settings").json["settings"]
    assert all(v["inherited"] for v in settings.values())


def test_parts_and_ratio_table_are_saved(client, login, api_as, tree):
    login("c01_all")
    _html, data = _form(client)
    data["aging.warning_pct"] = ["40"]
    data["matching_ratio.year"] = ["2025", "２０２６", ""]
    data["matching_ratio.ratio"] = ["0.5", "1.5", ""]
    assert client.post("/t/K0101/settings", data=data).status_code == 302
    settings = api_as("c01_all").get("/api/v1/tenants/K0101/settings").json["settings"]
    assert settings["aging"]["value"] == {"warning_pct": 40, "warning_after_years": 1, "overdue_after_years": 2}
    assert settings["matching_ratio"]["value"] == {"default": 1.0, "2025": 0.5, "2026": 1.5}
    assert settings["publicity_days"]["inherited"]
    text = _visible(client.get("/t/K0101/settings").get_data(as_text=True))
    assert "2025 年：0.5" in text and "使用比例低于 40% 时预警" in text
    # a year removed from the table is gone
    _html, data = _form(client)
    data["matching_ratio.year"] = ["2025", "", "", "", ""]
    assert client.post("/t/K0101/settings", data=data).status_code == 302
    settings = api_as("c01_all").get("/api/v1/tenants/K0101/settings").json["settings"]
    assert settings["matching_ratio"]["value"] == {"default": 1.0, "2025": 0.5}


def test_refused_values_are_named_by_label_and_nothing_is_saved(client, login, api_as, tree):
    login("c01_all")
    _html, data = _form(client)
    data["publicity_days"] = ["7"]
    data["aging.warning_pct"] = ["500"]
    resp = client.post("/t/K0101/settings", data=data)
    assert resp.status_code == 422
    text = _visible(resp.get_data(as_text=True))
    assert "应在 0 到 100 之间" in text and "warning_pct" not in text and "aging" not in text
    settings = api_as("c01_all").get("/api/v1/tenants/K0101/settings").json["settings"]
    assert settings["publicity_days"]["inherited"] and settings["aging"]["inherited"]
    _html, data = _form(client)
    data["matching_ratio.year"] = ["20x5", "", ""]
    data["matching_ratio.ratio"] = ["abc", "", ""]
    resp = client.post("/t/K0101/settings", data=data)
    assert resp.status_code == 422 and "matching_ratio" not in _visible(resp.get_data(as_text=True))
