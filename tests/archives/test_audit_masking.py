"""The audit log masks what people wrote about a household (issue 14, the audit log an auditor reads): a
correction's reason, a decision's reason, an objection's text may quote an ID, bank card or mobile number; a
masked reader of the log (an auditor) sees them masked on the page, in the API and in the xlsx export, through
the archive's masking (``mask=`` of its audit actions)."""

from __future__ import annotations

import io
import json

import openpyxl

from hardship.archives.masking import mask_card, mask_id, mask_phone
from tests.archives import test_editing
from tests.archives.test_editing import _patch
from tests.fixtures.households import make_id

edit = test_editing.edit  # the fixtures: a county's clerk, approver and auditor, one household
ui = test_editing.ui

QUOTED_ID, CARD, MOBILE = make_id(), "6222020200112233446", "13987654321"
TEXT = f"身份证{QUOTED_ID}，卡号{CARD}，电话{MOBILE}"
SECRETS = (QUOTED_ID, CARD, MOBILE)
MASKED = (mask_id(QUOTED_ID), mask_card(CARD), mask_phone(MOBILE))


def _events(app, api_as, edit) -> None:
    assert _patch(api_as("k_clerk"), edit.household, {"reason": f"更正：{TEXT}", "needs": "助学"}).status_code == 200
    resp = api_as("k_approver").post(f"/api/v1/households/{edit.household}/transitions",
                                     json={"action": "reject", "reason": f"不符合条件：{TEXT}"})
    assert resp.status_code == 200, resp.json


def test_an_auditor_reads_household_details_masked_in_the_api(app, api_as, edit):
    _events(app, api_as, edit)
    resp = api_as("k_auditor").get("/api/v1/audit?tenant=K0101&record_type=Household")
    assert resp.status_code == 200
    events = {e["action"]: e for e in resp.json["events"]}
    assert {"household.edit", "household.reject"} <= set(events)
    text = json.dumps(resp.json, ensure_ascii=False)
    assert not any(secret in text for secret in SECRETS), text
    for action in ("household.edit", "household.reject"):
        reason = events[action]["detail"]["reason"]
        shown = {f["label"]: f["value"] for f in events[action]["detail_fields"]}["原因"]
        for masked in MASKED:
            assert masked in reason and masked in shown, (reason, shown)


def test_a_reader_who_keeps_the_household_reads_them_in_full(app, api_as, edit, tree):
    """The masking follows the archive's rule: the clerk of the household's own union who also reads the log
    sees what was written."""
    tree.user("E0101001", roles=("clerk", "auditor"), username="e_clerk_auditor")
    _events(app, api_as, edit)
    resp = api_as("e_clerk_auditor").get("/api/v1/audit?tenant=E0101001&action=household.reject")
    assert resp.status_code == 200 and resp.json["events"]
    assert TEXT in resp.json["events"][0]["detail"]["reason"]


def test_an_auditor_reads_them_masked_on_the_page_and_in_the_export(app, api_as, edit, client, ui):
    _events(app, api_as, edit)
    ui("k_auditor")
    page = client.get("/t/K0101/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "不符合条件" in html and not any(secret in html for secret in SECRETS)
    assert all(masked in html for masked in MASKED)
    export = client.get("/t/K0101/audit/export.xlsx")
    assert export.status_code == 200
    cells = [str(c) for row in openpyxl.load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True)
             for c in row if c is not None]
    joined = "\n".join(cells)
    assert "不符合条件" in joined and not any(secret in joined for secret in SECRETS)
    assert all(masked in joined for masked in MASKED)
