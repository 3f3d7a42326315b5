"""The rules of SPEC 5 through the API: standards, no duplicate aid, maker-checker, states, scope, money."""

from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.aid.conftest import archived_household, person, warmth
from tests.conftest import system
from tests.fixtures.funds import lot_balances
from tests.fixtures.households import household_body, make_id


def _batch(api_as, program_id, items, user="e_clerk", tenant="E0101001"):
    return api_as(user).post(f"/api/v1/programs/{program_id}/batches", json={"tenant": tenant, "items": items})


def _through(api_as, bid, *steps):
    for user, step, body in steps:
        resp = api_as(user).post(f"/api/v1/batches/{bid}/{step}", json=body)
        assert resp.status_code == 200, (step, resp.json)
    return resp.json


PAY = {"document_no": "县工发〔2026〕30号", "date": "2026-12-01"}


def test_program_defaults_and_bad_input(county, api_as):
    emergency = warmth(api_as, type="emergency", name="临时救助")
    assert {s["kind"]: (s["min"], s["max"], s["max_with_head"]) for s in emergency["standards"]} == {
        "archived": ("300.00", "500.00", "1000.00"), "non_archived": ("300.00", "500.00", "1000.00")}
    resp = api_as("k_clerk").post("/api/v1/programs", json={
        "tenant": "K0101", "type": "warmth", "year": 2026, "name": "x", "ends_on": "2026-01-01", "starts_on": "2026-02-01",
        "standards": [{"kind": "archived", "min": "600.001"}]})
    assert resp.status_code == 422
    assert set(resp.json["error"]["fields"]) == {"standards.0.min"}
    resp = api_as("k_clerk").post("/api/v1/programs", json={
        "tenant": "K0101", "type": "送温暖", "year": 2026, "name": "x"})
    assert resp.status_code == 422 and "送温暖" in resp.json["error"]["fields"]["type"][0]  # the labels, in Chinese
    assert api_as("e_clerk").post("/api/v1/programs", json={
        "tenant": "K0101", "type": "warmth", "year": 2026, "name": "x"}).status_code == 404  # above its subtree


def test_standards(county, api_as, app):
    program = warmth(api_as)
    h = archived_household(api_as)
    resp = _batch(api_as, program["id"], [{"household": h, "amount": "599.99"}])
    assert resp.status_code == 422, resp.json
    assert "600.00" in resp.json["error"]["fields"]["items.0.amount"][0]
    assert "低于标准" in resp.json["error"]["fields"]["items.0.amount"][0]
    resp = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": "500.01"}])
    assert resp.status_code == 422 and "500.00" in resp.json["error"]["fields"]["items.0.amount"][0]
    assert _batch(api_as, program["id"], [{"household": h, "amount": "600.00"}]).status_code == 201
    # nothing of the refused batches was written
    with system(app):
        from hardship.aid.models import AidBatch, AidItem

        assert db.session.scalar(sa.select(sa.func.count()).select_from(AidBatch)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AidItem)) == 1


def test_non_archived_refused_where_the_program_forbids_it(county, api_as):
    program = warmth(api_as, allow_non_archived=False)
    resp = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": "300.00"}])
    assert resp.status_code == 422 and "未建档" in resp.json["error"]["fields"]["items.0.person"][0]
    # an applied (not yet archived) household is refused as well
    body_id = api_as("k0101_all").post("/api/v1/households", json=household_body()).json["id"]
    resp = _batch(api_as, program["id"], [{"household": body_id, "amount": "600.00"}])
    assert resp.status_code == 422 and "不在档" in resp.json["error"]["fields"]["items.0.household"][0]


def city_program(api_as) -> dict:
    resp = api_as("c01_all").post("/api/v1/programs", json={
        "tenant": "C01", "type": "warmth", "year": 2026, "name": "全市送温暖", "sources": ["central_finance"]})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_no_duplicate_aid_in_a_program(county, api_as):
    program = city_program(api_as)
    someone = person()
    resp = _batch(api_as, program["id"], [{"person": someone, "kind": "frontline", "amount": "500.00"}],
                  user="k_clerk", tenant="K0101")
    assert resp.status_code == 201, resp.json
    resp = _batch(api_as, program["id"], [{"person": {**someone, "name": "赵六"}, "kind": "frontline",
                                           "amount": "400.00"}], user="k2_clerk", tenant="K0102")
    assert resp.status_code == 409, resp.json
    holder = api_as("k_clerk").get("/api/v1/tenants/K0101").json["name"]
    assert holder in resp.json["error"]["message"] and "不重复救助" in resp.json["error"]["message"]
    # removing the item releases the person
    batch = api_as("k_clerk").get(f"/api/v1/batches/{_first_batch(api_as)}").json
    assert api_as("k_clerk").delete(f"/api/v1/batches/{batch['id']}/items/{batch['items'][0]['id']}").status_code == 204
    resp = _batch(api_as, program["id"], [{"person": someone, "kind": "frontline", "amount": "400.00"}],
                  user="k2_clerk", tenant="K0102")
    assert resp.status_code == 201, resp.json


def _first_batch(api_as) -> int:
    programs = api_as("c01_all").get("/api/v1/programs?tenant=C01").json["programs"]
    return api_as("c01_all").get(f"/api/v1/programs/{programs[0]['id']}/batches").json["batches"][0]["id"]


def test_living_aid_twice_a_year_needs_the_heads_override(county, api_as):
    first = warmth(api_as, type="living", name="生活救助一", allow_non_archived=True,
                   standards=[{"kind": "non_archived", "min": "100.00", "max": "800.00"}])
    second = warmth(api_as, type="living", name="生活救助二", allow_non_archived=True,
                    standards=[{"kind": "non_archived", "min": "100.00", "max": "800.00"}])
    someone = person(reason="因病")
    item = {"person": someone, "amount": "500.00"}
    resp = _batch(api_as, first["id"], [item])
    assert resp.status_code == 201, resp.json
    resp = _batch(api_as, second["id"], [item])
    assert resp.status_code == 409 and "主席" in resp.json["error"]["message"], resp.json
    bid = _batch(api_as, second["id"], []).json["id"]
    # a clerk may not override; the head may, with a reason that is recorded
    assert api_as("e_clerk").post(f"/api/v1/batches/{bid}/items", json={"items": [
        {**item, "override_reason": "重病住院，再次救助"}]}).status_code == 403
    resp = api_as("k_head").post(f"/api/v1/batches/{bid}/items", json={"items": [
        {**item, "override_reason": "重病住院，再次救助"}]})
    assert resp.status_code == 201, resp.json
    assert resp.json["items"][0]["override_reason"] == "重病住院，再次救助"
    assert resp.json["history"][-1]["reason"] == "重病住院，再次救助"
    # still once per program
    resp = api_as("k_head").post(f"/api/v1/batches/{bid}/items", json={"items": [
        {**item, "override_reason": "再来一次"}]})
    assert resp.status_code == 409


def test_maker_checker_by_role(county, api_as):
    program = warmth(api_as)
    h = archived_household(api_as)
    bid = api_as("k_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={
        "tenant": "K0101", "items": [{"household": h, "amount": "1000.00"}]}).json["id"]
    assert api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={}).status_code == 409  # a draft
    _through(api_as, bid, ("k_clerk", "submit", {}))
    assert api_as("k_clerk").post(f"/api/v1/batches/{bid}/approve", json={}).status_code == 403  # no right
    assert api_as("e_clerk").post(f"/api/v1/batches/{bid}/approve", json={}).status_code == 404  # above it
    tree = county
    tree.user("K0101", roles=("clerk", "approver"), username="k_both")
    bid2 = api_as("k_both").post(f"/api/v1/programs/{program['id']}/batches", json={
        "tenant": "K0101", "items": [{"person": person(), "kind": "frontline", "amount": "100.00"}]}).json["id"]
    _through(api_as, bid2, ("k_both", "submit", {}))
    resp = api_as("k_both").post(f"/api/v1/batches/{bid2}/approve", json={})
    assert resp.status_code == 403 and "经办人" in resp.json["error"]["message"]  # the author
    # 1,000.00 is at the threshold: the approver alone is not enough
    assert _through(api_as, bid, ("k_approver", "approve", {}))["status"] == "submitted"
    assert api_as("k_approver").post(f"/api/v1/batches/{bid}/approve", json={}).status_code == 403
    assert api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY).status_code == 409  # not approved
    assert _through(api_as, bid, ("k_head", "approve", {}))["status"] == "approved"
    # rejecting returns it with the reason; it can be changed and submitted again
    _through(api_as, bid2, ("k_approver", "reject", {"reason": "名单需重新核实"}))
    got = api_as("k_both").get(f"/api/v1/batches/{bid2}").json
    assert got["status"] == "rejected" and got["reject_reason"] == "名单需重新核实"
    assert api_as("k_approver").post(f"/api/v1/batches/{bid2}/reject", json={}).status_code == 422


def test_outside_the_tree_is_404(county, api_as):
    program = warmth(api_as)
    bid = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": "100.00"}]).json["id"]
    for user in ("k0201_all", "k0102_all"):
        assert api_as(user).get(f"/api/v1/programs/{program['id']}").status_code == 404
        assert api_as(user).get(f"/api/v1/batches/{bid}").status_code == 404
        assert api_as(user).post(f"/api/v1/batches/{bid}/submit", json={}).status_code == 404
    assert api_as("e0101001_all").get(f"/api/v1/programs/{program['id']}").status_code == 200  # below the owner
    assert api_as("c01_all").get(f"/api/v1/batches/{bid}").status_code == 200  # above the batch


def test_a_batch_beyond_the_funds_pays_nothing(county, api_as, app):
    program = warmth(api_as, standards=[{"kind": "archived", "min": "600.00", "max": "40000.00"}],
                     approval_threshold="50000.00")
    h1, h2 = archived_household(api_as), archived_household(api_as, name="李四")
    bid = _batch(api_as, program["id"], [{"household": h1, "amount": "20000.00"},
                                         {"household": h2, "amount": "20000.00"}]).json["id"]
    _through(api_as, bid, ("e_clerk", "submit", {}), ("k_approver", "approve", {}))
    with system(app):
        from tests.fixtures.funds import counts

        before = (lot_balances(db.session), counts(db.session))
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=PAY)
    assert resp.status_code == 409, resp.json
    message = resp.json["error"]["message"]
    assert "缺口 9,200.00 元" in message and "中央财政 30,800.00" in message and "上级工会下拨 0.00" in message, message
    with system(app):
        assert (lot_balances(db.session), counts(db.session)) == before
    got = api_as("k_fin").get(f"/api/v1/batches/{bid}").json
    assert got["status"] == "approved" and {i["status"] for i in got["items"]} == {"pending"}
    # a named lot that lacks the money: 409 as well, nothing written
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json={**PAY, "lot": 1})
    assert resp.status_code in (409, 422), resp.json
    with system(app):
        assert (lot_balances(db.session), counts(db.session)) == before


def test_bank_file_and_signature_sheet(county, api_as, app, tmp_path):
    program = warmth(api_as)
    head_id = make_id()
    h = archived_household(api_as, head_id=head_id)
    someone = person(name="阿依古丽·买买提")
    bid = _batch(api_as, program["id"], [{"household": h, "amount": "600.00"},
                                         {"person": someone, "kind": "frontline", "amount": "500.00"}]).json["id"]
    assert api_as("k_fin").get(f"/api/v1/batches/{bid}/bank-file.xlsx").status_code == 409  # a draft
    _through(api_as, bid, ("e_clerk", "submit", {}), ("k_approver", "approve", {}))
    resp = api_as("k_fin").get(f"/api/v1/batches/{bid}/bank-file.xlsx")
    assert resp.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("序号", "姓名", "身份证号", "开户银行", "银行卡号", "金额", "用途")
    assert rows[1] == (1, "张三", head_id, "中国工商银行", "6222020200112233446", 600, "2026年两节送温暖")
    assert len(rows) == 2
    assert api_as("e_clerk").get(f"/api/v1/batches/{bid}/bank-file.xlsx").status_code == 403  # not finance
    assert api_as("c_fin").get(f"/api/v1/batches/{bid}/bank-file.xlsx").status_code == 403  # not the paying union
    resp = api_as("e_clerk").get(f"/api/v1/batches/{bid}/signature-sheet.xlsx")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:8] == ("序号", "姓名", "身份证号", "联系电话", "事由", "金额", "物资", "领取人签字")
    number = someone["id_number"]
    assert rows[1][:8] == (1, "阿依古丽·买买提", number[:6] + "********" + number[14:], "13812345678", "春节坚守一线",
                           500, None, None)
    assert sheet.cell(2, 3).data_type == "s" and sheet.cell(2, 4).data_type == "s"
    with system(app):
        from hardship.audit.models import AuditEvent

        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "aid.export_bank_file")) == 1
    # the command line writes the same file, audited under the operating-system account
    out = tmp_path / "bank.xlsx"
    result = app.test_cli_runner().invoke(args=["hardship", "aid", "bank-file", str(bid), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))[1][2] == head_id
    result = app.test_cli_runner().invoke(args=["hardship", "aid", "bank-file", "999999", "--out", str(out)])
    assert result.exit_code == 2 and "error" in result.output


@pytest.mark.parametrize("amount", ["abc", "-5.00", "0", "600.001"])
def test_bad_amounts_name_the_field(county, api_as, amount):
    program = warmth(api_as)
    resp = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": amount}])
    assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["items.0.amount"], resp.json


def test_bad_inputs_are_clear_and_write_nothing(county, api_as, app):
    program = warmth(api_as)
    h = archived_household(api_as)
    created = _batch(api_as, program["id"], [{"person": person(), "kind": "frontline", "amount": "100.00"}]).json
    bid, first = created["id"], created["items"][0]["id"]
    clerk = api_as("e_clerk")
    cases = [
        (f"/api/v1/batches/{bid}/items", {"items": "张三"}, 422, "items"),
        (f"/api/v1/batches/{bid}/items", {"items": [{"household": h, "person": person(), "amount": "600.00"}]}, 422,
         "items.0.household"),
        (f"/api/v1/batches/{bid}/items", {"items": [{"household": h, "amount": "600.00", "override_reason": "x"}]},
         403, None),
        (f"/api/v1/batches/{bid}/items", {"items": [{"person": {**person(), "id_number": "110105194912310021"},
                                                     "kind": "frontline", "amount": "100.00"}]}, 422,
         "items.0.person.id_number"),
        (f"/api/v1/batches/{bid}/items", {"items": [{"household": 999999, "amount": "600.00"}]}, 422,
         "items.0.household"),
        (f"/api/v1/batches/{bid}/items/{first}/receipt", {"signed_by": "赵六"}, 409, None),
        (f"/api/v1/batches/{bid}/reject", {"reason": "x"}, 403, None),
    ]
    for url, body, status, field in cases:
        resp = clerk.post(url, json=body)
        assert resp.status_code == status, (url, body, resp.json)
        if field:
            assert field in resp.json["error"]["fields"], resp.json
            message = " ".join(resp.json["error"]["fields"][field])
            assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message  # in Chinese
    resp = api_as("k_head").post(f"/api/v1/batches/{bid}/items", json={"items": [
        {"household": h, "amount": "600.00", "override_reason": "再次救助"}]})
    assert resp.status_code == 422 and "items.0.override_reason" in resp.json["error"]["fields"]  # warmth
    _through(api_as, bid, ("e_clerk", "submit", {}), ("k_approver", "approve", {}))
    for body, field in (({"date": "2026-12-01"}, "document_no"), ({**PAY, "date": "2999-01-01"}, "date"),
                        ({**PAY, "lot": "一号"}, "lot")):
        resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", json=body)
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    resp = api_as("k_fin").post(f"/api/v1/batches/{bid}/pay", data="[]", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    english = api_as("k_fin", lang="en").post(f"/api/v1/batches/{bid}/items", json={"items": []})
    assert english.status_code in (403, 409) and english.json["error"]["message"].isascii()
    with system(app):
        from hardship.aid.models import AidItem

        assert db.session.scalar(sa.select(sa.func.count()).select_from(AidItem)) == 1
    assert api_as("k_fin").get(f"/api/v1/batches/{bid}").json["status"] == "approved"
