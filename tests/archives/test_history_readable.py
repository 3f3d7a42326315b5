"""A household's history shows its events' values labelled in Chinese, never as JSON or keys."""

from __future__ import annotations

import re

from tests.fixtures.households import household_body


def test_timeline_is_labelled(client, login, api_as, tree):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    created = api_as("e_clerk").post("/api/v1/households", json=household_body(category="deep")).json
    survey = api_as("k_clerk").post(f"/api/v1/households/{created['id']}/surveys", json={
        "visited_on": "2026-03-02", "visitors": "王五、赵六", "findings": "属实", "income_per_capita": "650.00"})
    assert survey.status_code == 201, survey.json
    login("k_clerk")
    html = client.get(f"/t/K0101/archive/{created['id']}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"'):]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", timeline))
    assert "困难类别 深度困难" in text and "650.00 元" in text and "修改后" in text
    for leak in ["{", "income_per_capita", "category", "last_survey_on", "deep"]:
        assert leak not in text, leak
    events = api_as("k_clerk", lang="en").get(f"/api/v1/households/{created['id']}/history").json["events"]
    assert {"label": "Category", "value": "Deep hardship"} in events[0]["change_fields"]
