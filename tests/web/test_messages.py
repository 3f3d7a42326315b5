"""What a person reads when a value is refused (issue 14 item 6): choices by their labels in the reader's
language, "required" for a missing value, never a field path or an internal code."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.funds import allocation, post, receipt
from tests.fixtures.households import household_body


@pytest.fixture
def people(tree):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("C01", roles=("finance",), username="c01_fin")
    return tree


@pytest.mark.parametrize("lang, expected", [
    ("zh-CN", "请从以下选项中选择：深度困难、相对困难、意外致困。"),
    ("en", "Choose one of: Deep hardship, Relative hardship, Hardship by accident."),
])
def test_a_choice_lists_labels_not_codes(api_as, people, lang, expected):
    resp = api_as("e_clerk", lang=lang).post("/api/v1/households", json=household_body(category="poor"))
    assert resp.status_code == 422 and resp.json["error"]["fields"]["category"] == [expected]
    assert "deep" not in expected and "relative" not in expected


def test_level_choice_lists_level_names(api_as, people):
    body = {"parent": "K0101", "code": "E0101009", "name": "某厂工会", "level": "galaxy"}
    message = api_as("c01_all", lang="zh-CN").post("/api/v1/tenants", json=body).json["error"]["fields"]["level"][0]
    assert "基层工会" in message and "enterprise" not in message


@pytest.mark.parametrize("amount", ["", "   ", None])
def test_an_empty_amount_is_required_not_invalid(api_as, people, amount):
    fin = api_as("c01_fin", lang="zh-CN")
    body = receipt(amount=amount) if amount is not None else {k: v for k, v in receipt().items() if k != "amount"}
    resp = post(fin, "receipt", body)
    assert resp.status_code == 422 and resp.json["error"]["fields"]["amount"] == ["此项必填。"]


def test_an_empty_choice_is_required(api_as, people):
    fin = api_as("c01_fin", lang="zh-CN")
    assert post(fin, "receipt", receipt()).status_code == 201
    resp = post(fin, "allocation", allocation(source=""))
    assert resp.json["error"]["fields"]["source"] == ["此项必填。"]


def test_a_refusal_without_its_own_input_names_no_field_path(client, login, people, api_as):
    created = api_as("e_clerk").post("/api/v1/households", json=household_body()).json
    people.user("K0101", roles=("approver",), username="k_approver")
    login("k_approver")
    page = client.get(f"/t/K0101/archive/{created['id']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    resp = client.post(f"/t/K0101/archive/{created['id']}/transition", data={"csrf_token": token, "action": "explode"})
    text = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    assert resp.status_code == 422 and "请从以下选项中选择：公示" in text
    assert "action:" not in text and "publicize" not in text
