"""Corrections that clear (issue 14, editing): an optional field sent empty (null or "") through
``PATCH /api/v1/households/{id}`` or emptied on the correction page is cleared, with its history entry like any
change; a field a registration requires sent empty is 422 此项必填 and nothing is written; a household has up to
20 members, on the page and in the schema."""

from __future__ import annotations

import pytest

from tests.archives import test_editing
from tests.archives.test_editing import _by_field, _counts, _form_values, _last_edit, _patch
from tests.fixtures.households import make_id

edit = test_editing.edit  # the fixtures: a county's clerk, approver and auditor, one household
ui = test_editing.ui


def test_optional_fields_sent_empty_are_cleared_with_their_history(app, api_as, edit):
    api = api_as("k_clerk")
    set_phone = _patch(api, edit.household, {"reason": "补录", "members": [{"id": edit.member, "phone": "13700002222"}],
                                             "head": {"model_worker_grade": "市级"},
                                             "cadres": {"first": "王干事", "second": "赵干事"}})
    assert set_phone.status_code == 200, set_phone.json
    resp = _patch(api, edit.household, {
        "reason": "信息作废", "needs": None, "bank": None, "cadres": "", "subsistence": "",
        "head": {"job": "", "model_worker_grade": None},
        "members": [{"id": edit.member, "phone": "", "health": None, "income": ""}]})
    assert resp.status_code == 200, resp.json
    h = resp.json
    assert h["needs"] == "" and h["bank"] == {"name": None, "card_number": None, "luhn_ok": True}
    assert h["cadres"] == {"first": "", "second": ""} and h["subsistence"] == "none"
    assert h["head"]["job"] == "" and h["head"]["model_worker_grade"] == ""
    member = h["members"][0]
    assert member["phone"] is None and member["health"] == "" and member["income"] == "0.00"
    assert h["head"]["phone"] == "13812345678" and h["address"]  # what was left out is unchanged

    changes = _by_field(_last_edit(api, edit.household))
    assert changes[(edit.member, "phone", None)]["before"] == "13700002222"
    assert changes[(edit.member, "phone", None)]["after"] is None
    assert changes[(None, "card_number", None)]["before"] == "6222020200112233446"
    assert changes[(None, "card_number", None)]["after"] is None
    assert changes[(None, "needs", None)]["after"] == ""
    assert changes[(None, "cadre_first", None)] | {} == {"field": "cadre_first", "before": "王干事", "after": ""}
    head_id = h["head"]["id"]
    assert changes[(head_id, "model_worker_grade", None)]["before"] == "市级"
    assert changes[(edit.member, "health", None)]["after"] == ""

    # the masked reader sees the cleared phone's old value masked
    masked = _by_field(_last_edit(api_as("k_auditor"), edit.household))
    assert masked[(edit.member, "phone", None)]["before"] == "137****2222"


@pytest.mark.parametrize("body, field", [
    ({"head": {"phone": ""}}, "head.phone"),
    ({"head": {"phone": None}}, "head.phone"),
    ({"head": {"name": None}}, "head.name"),
    ({"head": {"id_number": ""}}, "head.id_number"),
    ({"address": ""}, "address"),
    ({"address": None}, "address"),
    ({"category": None}, "category"),
    ({"reasons": None}, "reasons"),
    ({"income_per_capita": ""}, "income_per_capita"),
    ({"members": [{"id": "MEMBER", "relation": ""}]}, "members.0.relation"),
    ({"members": [{"id": "MEMBER", "name": None}]}, "members.0.name"),
    ({"members": [{"id": "MEMBER", "id_number": ""}]}, "members.0.id_number"),
    ({"members": [{"name": "王五", "id_number": None, "relation": "child"}]}, "members.0.id_number"),
])
def test_a_required_field_sent_empty_is_required_and_writes_nothing(app, api_as, edit, body, field):
    if "members" in body and body["members"][0].get("id") == "MEMBER":
        body = {"members": [{**body["members"][0], "id": edit.member}]}
    before = _counts(app)
    resp = _patch(api_as("k_clerk"), edit.household, {"reason": "更正", "needs": None, **body})
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["fields"] == {field: ["此项必填。"]}, resp.json
    assert _counts(app) == before


def test_at_most_twenty_members(app, api_as, edit):
    api = api_as("k_clerk")
    before = _counts(app)
    many = [{"name": f"成员{i}", "id_number": make_id(), "relation": "child"} for i in range(21)]
    resp = _patch(api, edit.household, {"reason": "补录", "members": many})
    assert resp.status_code == 422 and resp.json["error"]["fields"]["members"] == ["家庭成员须为列表，最多 20 人。"]
    assert _counts(app) == before
    resp = _patch(api, edit.household, {"reason": "补录", "members": many[:19]})  # 1 + 19 members
    assert resp.status_code == 200, resp.json
    assert len(resp.json["members"]) == 20


def test_the_correction_page_has_twenty_member_rows_and_an_emptied_input_clears(app, client, ui, api_as, edit):
    api = api_as("k_clerk")
    assert _patch(api, edit.household, {"reason": "补录", "cadres": {"first": "王干事", "second": "赵干事"},
                                        "head": {"model_worker_grade": "市级"}}).status_code == 200
    ui("k_clerk")
    url = f"/t/K0101/archive/{edit.household}/edit"
    html = client.get(url).get_data(as_text=True)
    assert 'name="member_19_name"' in html and 'name="member_20_name"' not in html
    values = _form_values(html, "registration")
    assert values["needs"][0].strip() == "医疗救助" and values["member_0_health"] == ["健康"]
    # an emptied required input is refused as required
    refused = client.post(url, data={**values, "address": "", "reason": "更正"})
    assert refused.status_code == 422 and "此项必填" in refused.get_data(as_text=True)
    added = {f"member_{i}_{k}": v for i in range(1, 9) for k, v in (
        ("name", f"成员{i}"), ("id_number", make_id()), ("relation", "child"))}
    done = client.post(url, data={**values, **added, "needs": "", "member_0_health": "", "cadre_second": "",
                                  "head_model_worker_grade": "", "reason": "信息更正"}, follow_redirects=True)
    assert done.status_code == 200, done.get_data(as_text=True)[:2000]
    h = api.get(f"/api/v1/households/{edit.household}").json
    assert h["needs"] == "" and h["cadres"] == {"first": "王干事", "second": ""}
    assert h["head"]["model_worker_grade"] == "" and len(h["members"]) == 9
    assert next(m for m in h["members"] if m["id"] == edit.member)["health"] == ""
    fields = {e["field"] for e in _last_edit(api, edit.household)["changes"]["fields"]}
    assert {"needs", "cadre_second", "health", "model_worker_grade", "member"} <= fields
    # and all nine members are on the page again
    page = client.get(url).get_data(as_text=True)
    assert "成员8" in page and _form_values(page, "registration")["member_8_name"] == ["成员8"]
