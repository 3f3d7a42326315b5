"""The service desk through its API (SPEC 7, 8.3): the referral round trip with isolation, the figures on a
hand-computed set, masking and the household link, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import system
from tests.fixtures.households import household_body, unique_id


def case_body(tenant="K0101", **overrides) -> dict:
    body = {"tenant": tenant, "kind": "petition", "channel": "visit", "category": "unpaid_wages",
            "person": {"name": "赵六", "phone": "13812345678", "enterprise": "某机械厂"},
            "subject": "企业拖欠工资三个月"}
    body.update(overrides)
    return body


def _count(app, model_name: str) -> int:
    from hardship.audit.models import AuditEvent
    from hardship.desk.models import Case, CaseEvent

    model = {"cases": Case, "events": CaseEvent, "audit": AuditEvent}[model_name]
    stmt = sa.select(sa.func.count()).select_from(model)
    if model is AuditEvent:
        stmt = stmt.where(AuditEvent.action.like("desk.%"))
    with system(app):
        return db.session.scalar(stmt)


def _register(api, **overrides):
    resp = api.post("/api/v1/cases", json=case_body(**overrides))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


# ---------------------------------------------------------------- the referral round trip

def test_referral_round_trip_county_enterprise_with_isolation(app, tree, api_as):
    county, enterprise, sibling = api_as("k0101_all"), api_as("e0101001_all"), api_as("e0201001_all")
    tree.tenant("E0101002", parent="K0101")
    tree.user("E0101002", roles=("clerk",), username="e0101002_clerk")
    cousin = api_as("e0101002_clerk")
    case = _register(county)
    assert case["status"] == "open" and case["tenant"] == "K0101" and case["held_by"] == "K0101"
    cid = case["id"]
    # the enterprise does not see the county's case before the referral
    assert enterprise.get(f"/api/v1/cases/{cid}").status_code == 404

    resp = county.post(f"/api/v1/cases/{cid}/refer", json={"to": "E0101001", "note": "请核实"})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "referred" and resp.json["held_by"] == "E0101001"
    ids = lambda api, queue, tenant: [c["id"] for c in api.get(  # noqa: E731
        f"/api/v1/cases?tenant={tenant}&queue={queue}").json["cases"]]
    assert cid in ids(enterprise, "referred_to_us", "E0101001")
    # the enterprise reads who registered and referred it (its ancestor's code and name only)
    assert enterprise.get(f"/api/v1/cases/{cid}").json["tenant"] == "K0101"
    assert cid in ids(county, "referred_by_us", "K0101")
    # a sibling enterprise (other county) and another enterprise of the same county: absent
    for outsider in (sibling, cousin):
        for path in (f"/api/v1/cases/{cid}", f"/api/v1/cases/{cid}/history"):
            assert outsider.get(path).status_code == 404
        assert outsider.post(f"/api/v1/cases/{cid}/answer", json={"text": "x"}).status_code == 404
    # only the union it was referred to answers
    refused = county.post(f"/api/v1/cases/{cid}/answer", json={"text": "自己答复"})
    assert refused.status_code == 403 and "转办" in refused.json["error"]["message"]
    # the county cannot close while it waits; the enterprise can never close the county's case
    assert county.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"}).status_code == 409
    closing = enterprise.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"})
    assert closing.status_code == 403, closing.json

    answered = enterprise.post(f"/api/v1/cases/{cid}/answer", json={"text": "已督促企业补发工资"})
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    assert enterprise.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"}).status_code == 403
    history = county.get(f"/api/v1/cases/{cid}/history").json["events"]
    assert [e["action"] for e in history] == ["register", "refer", "answer"]
    assert history[-1]["note"] == "已督促企业补发工资" and history[-1]["union"] == "E0101001工会"

    closed = county.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved", "note": "已补发工资，当事人满意",
                                                             "satisfaction": "satisfied"})
    assert closed.status_code == 200 and closed.json["status"] == "closed", closed.json
    assert cid in ids(county, "closed", "K0101") and cid not in ids(county, "open", "K0101")
    # the enterprise keeps seeing what it answered; it sees the history from its referral on
    seen = enterprise.get(f"/api/v1/cases/{cid}/history").json["events"]
    assert [e["action"] for e in seen] == ["refer", "answer", "close"]
    assert seen[0]["union"] == "K0101工会" and seen[0]["note"] == "请核实"
    reopened = county.post(f"/api/v1/cases/{cid}/reopen", json={"reason": "当事人反映仍未足额发放"})
    assert reopened.status_code == 200 and reopened.json["status"] == "open"

    with system(app):
        from hardship.audit.models import AuditEvent

        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "Case")
                                     .order_by(AuditEvent.id)).all()
    assert [a for a in actions if a != "desk.view_unmasked"] == [
        "desk.register", "desk.refer", "desk.answer", "desk.close", "desk.reopen"]


def test_assign_reply_record_and_attachments(app, tree, api_as):
    tree.user("K0101", roles=("clerk",), username="k0101_clerk")
    county = api_as("k0101_all")
    cid = _register(county, kind="legal_aid", category="labour_dispute")["id"]
    resp = county.post(f"/api/v1/cases/{cid}/assign", json={"handler": "k0101_clerk", "note": "请跟进"})
    assert resp.status_code == 200 and resp.json["handler"] == "k0101_clerk"
    mine = api_as("k0101_clerk").get("/api/v1/cases?tenant=K0101&queue=mine").json["cases"]
    assert [c["id"] for c in mine] == [cid]
    bad = county.post(f"/api/v1/cases/{cid}/assign", json={"handler": "e0101001_all"})
    assert bad.status_code == 422 and "handler" in bad.json["error"]["fields"]
    assert county.post(f"/api/v1/cases/{cid}/reply", json={"text": "已电话告知进展"}).status_code == 200
    record = county.post(f"/api/v1/cases/{cid}/record", json={
        "legal_lawyer": "某律师事务所", "legal_dispute_type": "追索劳动报酬", "legal_claimed": "12000.00",
        "legal_won": "9000.50", "legal_outcome": "arbitration"})
    assert record.status_code == 200, record.json
    assert record.json["record"]["legal_won"] == "9000.50" and record.json["record"]["legal_outcome"] == "arbitration"
    wrong = county.post(f"/api/v1/cases/{cid}/record", json={"training_hours": 8})
    assert wrong.status_code == 422 and "training_hours" in wrong.json["error"]["fields"]
    attached = county.post(f"/api/v1/cases/{cid}/attachments", json={"name": "仲裁申请书.pdf"})
    assert attached.status_code == 201 and attached.json["attachments"][0]["name"] == "仲裁申请书.pdf"


# ---------------------------------------------------------------- figures

def test_closure_rate_and_overdue_rolled_up_to_the_city(app, tree, api_as):
    """By hand: K0101 receives 4 cases in March 2026 (2 closed, 1 open past its deadline, 1 open in time),
    E0101001 1 (closed), K0102 2 (none closed, both overdue), K0201 (another city) 1; and one K0101 case of
    2025. C01 in 2026: 7 received, 3 closed, 3/7 = 0.4286, 4 open of which 3 overdue."""
    k1, k2, e1, k21 = (api_as(u) for u in ("k0101_all", "k0102_all", "e0101001_all", "k0201_all"))
    today = date.today()
    past = (today - timedelta(days=400)).isoformat()  # its deadline (15 days later) lies behind us
    march = "2026-03-10" if today >= date(2026, 3, 10) else past

    def case(api, tenant, received, closed=False, kind="petition", channel="visit", category="unpaid_wages",
             **more):
        cid = _register(api, tenant=tenant, received_on=received, kind=kind, channel=channel, category=category,
                        **more)["id"]
        if closed:
            assert api.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"}).status_code == 200
        return cid

    year = int(march[:4])
    later = (today + timedelta(days=30)).isoformat()
    case(k1, "K0101", march, closed=True)
    case(k1, "K0101", march, closed=True, kind="legal_aid", channel="hotline")
    case(k1, "K0101", march, kind="training", category="other")  # overdue: 15 days after the received day
    case(k1, "K0101", march, deadline=later, channel="letter")  # in time
    case(e1, "E0101001", march, closed=True, kind="job_referral", channel="online")
    case(k2, "K0102", march)
    case(k2, "K0102", march, channel="call")
    case(k21, "K0201", march)
    case(k1, "K0101", f"{year - 1}-06-01" if year - 1 >= 2000 else march, closed=True)

    city = api_as("c01_all").get(f"/api/v1/desk/figures?tenant=C01&year={year}").json
    assert (city["received"], city["closed"], city["open"], city["overdue_open"]) == (7, 3, 4, 3), city
    assert city["closure_rate"] == pytest.approx(0.4286)
    assert city["by_kind"] == {"petition": 4, "legal_aid": 1, "job_referral": 1, "training": 1}
    assert city["by_channel"]["visit"] == 3 and city["by_channel"]["hotline"] == 1
    assert city["by_category"]["other"] == 1 and city["by_category"]["unpaid_wages"] == 6
    children = {c["tenant"]: c for c in city["children"]}
    assert (children["K0101"]["received"], children["K0101"]["closed"], children["K0101"]["overdue_open"]) == (5, 3, 1)
    assert children["K0101"]["closure_rate"] == 0.6
    assert (children["K0102"]["received"], children["K0102"]["closed"], children["K0102"]["overdue_open"]) == (2, 0, 2)
    assert children["K0102"]["closure_rate"] == 0.0
    province = api_as("p01_all").get(f"/api/v1/desk/figures?tenant=P01&year={year}").json
    assert province["received"] == 8 and {c["tenant"]: c["received"] for c in province["children"]} == {
        "C01": 7, "C02": 1}
    month = api_as("c01_all").get(f"/api/v1/desk/figures?tenant=C01&year={year}&month={int(march[5:7])}").json
    assert month["received"] == 7
    # a reviewer reads them; a sibling city's union does not exist
    assert api_as("c02_all").get(f"/api/v1/desk/figures?tenant=C01&year={year}").status_code == 404


# ---------------------------------------------------------------- masking and the household link

def test_person_masked_as_in_the_archive_and_linked_to_the_household(app, tree, api_as):
    enterprise, county = api_as("e0101001_all"), api_as("k0101_all")
    head = unique_id(41)
    member = unique_id(42)
    body = household_body(head_id=head, members=[member])
    assert enterprise.post("/api/v1/households", json=body).status_code == 201
    linked = _register(county, person={"name": "李四", "id_number": member, "phone": "13912345678"},
                       subject=f"身份证{member}，电话13912345678，反映医疗费用困难")
    assert linked["person"]["household"] is not None
    assert linked["person"]["id_number"] == member and linked["person"]["phone"] == "13912345678"
    unlinked = _register(county, person={"name": "王五", "id_number": unique_id(43)})
    assert unlinked["person"]["household"] is None

    tree.user("C01", roles=("reviewer",), username="c01_reviewer")
    seen = api_as("c01_reviewer").get(f"/api/v1/cases/{linked['id']}").json
    assert seen["person"]["id_number"] == member[:6] + "********" + member[-4:]
    assert seen["person"]["phone"] == "139****5678" and seen["person"]["name"] == "李四" and seen["masked"]
    assert not linked["masked"]
    assert member not in seen["subject"] and "13912345678" not in seen["subject"]
    listed = api_as("c01_reviewer").get("/api/v1/cases?tenant=K0101").json["cases"]
    assert all(member not in str(c) for c in listed)
    # stored encrypted, bound to the case's row
    with system(app):
        from hardship.desk.models import Case

        row = db.session.scalar(sa.select(Case).where(Case.id == linked["id"]))
        assert member not in (row.id_enc or "") and "13912345678" not in (row.phone_enc or "")


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "complaint"}, "kind"),
    ({"channel": "fax"}, "channel"),
    ({"category": "housing"}, "category"),
    ({"deadline": (date.today() - timedelta(days=1)).isoformat()}, "deadline"),
    ({"subject": "欠" * (2 * 1024 * 1024)}, "subject"),
    ({"person": {"name": "赵六", "id_number": "110105194912310021"}}, "person.id_number"),
    ({"received_on": (date.today() + timedelta(days=3)).isoformat()}, "received_on"),
])
def test_bad_registration_is_refused_in_chinese_and_writes_nothing(app, tree, api_as, change, field):
    county = api_as("k0101_all")
    before = (_count(app, "cases"), _count(app, "events"), _count(app, "audit"))
    resp = county.post("/api/v1/cases", json=case_body(**change))
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    fields = resp.json["error"]["fields"]
    assert list(fields) == [field], fields
    message = " ".join(map(str, fields[field]))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert (_count(app, "cases"), _count(app, "events"), _count(app, "audit")) == before


def test_unknown_kind_names_the_choices_in_chinese(app, tree, api_as):
    resp = api_as("k0101_all").post("/api/v1/cases", json=case_body(kind="complaint"))
    assert "信访" in resp.json["error"]["fields"]["kind"][0] and "petition" not in resp.json["error"]["fields"]["kind"][0]


def test_bad_actions_are_refused_and_write_nothing(app, tree, api_as):
    county = api_as("k0101_all")
    cid = _register(county)["id"]
    before = (_count(app, "events"), _count(app, "audit"))
    # a referral outside the subtree (a sibling county, the parent) is absent; to itself it is no referral
    for to, status in (("K0102", 404), ("C01", 404), ("ZZ99", 404), ("K0101", 422)):
        resp = county.post(f"/api/v1/cases/{cid}/refer", json={"to": to})
        assert resp.status_code == status, (to, resp.json)
    assert county.post(f"/api/v1/cases/{cid}/refer", json={"to": "K0102"}).json == \
        county.post(f"/api/v1/cases/{cid}/refer", json={"to": "ZZ99"}).json
    no_result = county.post(f"/api/v1/cases/{cid}/close", json={"note": "已处理"})
    assert no_result.status_code == 422 and list(no_result.json["error"]["fields"]) == ["result"]
    assert "必填" in str(no_result.json["error"]["fields"]["result"]) or no_result.json["error"]["fields"]["result"]
    bad_result = county.post(f"/api/v1/cases/{cid}/close", json={"result": "done"})
    assert bad_result.status_code == 422
    assert county.post(f"/api/v1/cases/{cid}/reopen", json={"reason": "x"}).status_code == 409
    assert county.post(f"/api/v1/cases/{cid}/answer", json={"text": "x"}).status_code == 403
    assert county.post(f"/api/v1/cases/{cid}/refer", data="[]", content_type="application/json").status_code == 400
    # a city user sees the case but cannot act on the county's case
    assert api_as("c01_all").post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"}).status_code == 403
    # registering at another union's window
    assert api_as("c01_all").post("/api/v1/cases", json=case_body()).status_code == 403
    assert (_count(app, "events"), _count(app, "audit")) == before
    with system(app):
        from hardship.desk.models import Case

        assert db.session.scalar(sa.select(Case.status).where(Case.id == cid)) == "open"


def test_deadline_from_the_settings_by_kind(app, tree, api_as):
    county = api_as("k0101_all")
    received = date.today()
    assert _register(county)["deadline"] == (received + timedelta(days=15)).isoformat()
    resp = api_as("c01_all").put("/api/v1/tenants/C01/settings", json={
        "desk_deadline_days": 20, "desk_deadline_days_by_kind": {"petition": 0, "legal_aid": 30, "job_referral": 0,
                                                                 "training": 0}})
    assert resp.status_code == 200, resp.json
    assert _register(county)["deadline"] == (received + timedelta(days=20)).isoformat()
    assert _register(county, kind="legal_aid")["deadline"] == (received + timedelta(days=30)).isoformat()


def test_export_is_xlsx_with_text_as_text(app, tree, api_as):
    import io

    from openpyxl import load_workbook

    county = api_as("k0101_all")
    _register(county, subject="=HYPERLINK(\"http://x\")")
    resp = county.get("/api/v1/cases/export.xlsx?tenant=K0101")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.data)).active
    header = [c.value for c in sheet[1]]
    assert header[0] == "案件编号" and "信访" in [c.value for c in sheet[2]]
    subject = sheet.cell(row=2, column=header.index("事由") + 1)
    assert subject.value.startswith("=HYPERLINK") and subject.data_type == "s"


def test_demo_cases_of_every_kind_channel_and_state(committed, app, tmp_path):
    result = app.test_cli_runner().invoke(args=["hardship", "demo"])
    assert result.exit_code == 0, result.output
    from hardship.desk.models import CHANNELS, KINDS, STATUSES, Case

    with system(app):
        cases = db.session.scalars(sa.select(Case)).all()
        assert {c.kind for c in cases} == set(KINDS) and {c.channel for c in cases} == set(CHANNELS)
        assert {c.status for c in cases} == set(STATUSES)
        assert any(c.referred and c.status == "answered" for c in cases)
        assert any(c.overdue() for c in cases) and any(c.household_id for c in cases)
        assert any(c.legal_won for c in cases)
        count = len(cases)
    assert app.test_cli_runner().invoke(args=["hardship", "demo"]).exit_code == 0
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == count
    out = app.test_cli_runner().invoke(args=["hardship", "desk", "figures", "--tenant", "C01", "--user", "c01_reviewer"])
    assert out.exit_code == 0 and "K0101" in out.output, out.output
    bad = app.test_cli_runner().invoke(args=["hardship", "desk", "figures", "--tenant", "C01", "--month", "13"])
    assert bad.exit_code == 2 and "month" in bad.output
    path = tmp_path / "cases.xlsx"
    out = app.test_cli_runner().invoke(args=["hardship", "desk", "export", "--tenant", "K0101", "--queue", "closed",
                                             "--user", "k0101_clerk", "--xlsx", str(path)])
    assert out.exit_code == 0 and path.read_bytes()[:2] == b"PK", out.output
    bad = app.test_cli_runner().invoke(args=["hardship", "desk", "export", "--tenant", "K0101", "--kind", "x",
                                             "--xlsx", str(path)])
    assert bad.exit_code == 2 and "kind" in bad.output


def test_referral_deeper_down_and_the_union_between_cannot_answer(app, tree, api_as):
    """The city refers straight to an enterprise two levels down; the county between sees it but may not answer."""
    city, county, enterprise = api_as("c01_all"), api_as("k0101_all"), api_as("e0101001_all")
    cid = _register(city, tenant="C01", kind="job_referral", channel="online", category="other")["id"]
    assert city.post(f"/api/v1/cases/{cid}/refer", json={"to": "E0101001"}).status_code == 200
    assert county.get(f"/api/v1/cases/{cid}").status_code == 200
    assert county.post(f"/api/v1/cases/{cid}/answer", json={"text": "x"}).status_code == 403
    assert county.post(f"/api/v1/cases/{cid}/refer", json={"to": "E0101001"}).status_code == 403
    assert enterprise.post(f"/api/v1/cases/{cid}/answer", json={"text": "已推荐至物流公司"}).status_code == 200
    closed = city.post(f"/api/v1/cases/{cid}/close", json={"result": "resolved"})
    assert closed.status_code == 200 and closed.json["tenant"] == "C01" and closed.json["held_by"] == "E0101001"
    assert [c["id"] for c in api_as("k0201_all").get("/api/v1/cases?tenant=K0201&queue=closed").json["cases"]] == []


def test_rotate_pii_rewrites_the_desk_persons(app, tree, api_as):
    import base64
    import os

    county = api_as("k0101_all")
    number = unique_id(81)
    cid = _register(county, person={"name": "赵六", "id_number": number, "phone": "13812345678"})["id"]
    old = app.config["PII_KEYS"]
    new_key = "k2:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
    app.config["PII_KEYS"] = f"{new_key},{old}"
    try:
        result = app.test_cli_runner().invoke(args=["hardship", "rotate-pii"])
        assert result.exit_code == 0 and "desk_cases: 1" in result.output, result.output
        with system(app):
            values = db.session.execute(sa.text("select id_enc, phone_enc from desk_cases")).all()
            assert all(v.startswith("k2:") for row in values for v in row if v)
        app.config["PII_KEYS"] = new_key
        assert county.get(f"/api/v1/cases/{cid}").json["person"]["id_number"] == number
    finally:
        app.config["PII_KEYS"] = old
