"""Corrections of a household (SPEC 3.3, issue 14 item 4): every field, with its history field by field
(who, when, why, before, after), personal values encrypted in the history and masked for a masked reader;
the one-person-one-archive rule (409 naming only the holding union); who may correct what, across the tree
(404 outside the subtree, 403 inside it); publicity objections resolved; an application withdrawn."""

from __future__ import annotations

import json
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from hardship.archives.models import Household, HouseholdEvent, Objection, Person
from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tests.conftest import csrf_from, system
from tests.fixtures.households import household_body, make_id

HEAD, MEMBER, OTHER = make_id(), make_id(male=False), make_id()


@pytest.fixture
def edit(tree, api_as):
    """Clerk, approver and auditor of K0101; a clerk of E0101001, of its sibling E0101002, of K0201; one
    ``applied`` household of E0101001 (head ``HEAD``, member ``MEMBER``)."""
    tree.tenant("E0101002", parent="K0101")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("E0101002", roles=("clerk",), username="sibling_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("approver",), username="k_approver")
    tree.user("K0101", roles=("auditor",), username="k_auditor")
    tree.user("K0201", roles=("clerk",), username="k2_clerk")
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=HEAD, members=[MEMBER]))
    assert resp.status_code == 201, resp.json
    tree.household = resp.json["id"]
    tree.member = resp.json["members"][0]["id"]
    return tree


def _patch(api, hid, body):
    return api.patch(f"/api/v1/households/{hid}", json=body)


def _counts(app) -> tuple:
    with system(app):
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                     for m in (Household, Person, HouseholdEvent, Objection))


def _last_edit(api, hid) -> dict:
    events = api.get(f"/api/v1/households/{hid}/history").json["events"]
    edits = [e for e in events if e["action"] == "edit"]
    return edits[-1]


def _by_field(event) -> dict:
    return {(e.get("person"), e["field"], e.get("op")): e for e in event["changes"]["fields"]}


NEW_ID = make_id(born=date(1980, 2, 3))
NEW_MEMBER = make_id(born=date(2005, 9, 9), male=False)
CHANGE = {
    "reason": "户主申请更正",
    "head": {"name": "张三丰", "id_number": NEW_ID, "phone": "13900001111", "job": "焊工", "union_member": False,
             "model_worker": True, "model_worker_grade": "省级", "migrant_worker": True},
    "category": "relative", "reasons": ["unemployment", "education"], "income_per_capita": "620.50",
    "subsistence": "dibao", "medical_insurance": "resident", "address": "石家庄市桥西区中华南大街8号",
    "bank": {"name": "中国建设银行", "card_number": "6217000010012345678", "confirmed": True},
    "needs": "助学", "cadres": {"first": "王干事", "second": "赵干事"},
}


def test_every_field_is_corrected_and_the_history_keeps_it_field_by_field(app, api_as, edit):
    api = api_as("k_clerk")
    body = {**CHANGE, "members": [
        {"id": edit.member, "name": "李四", "relation": "spouse", "income": "1200.00", "health": "慢性病",
         "occupation": "务工", "phone": "13700002222"},
        {"name": "张小", "id_number": NEW_MEMBER, "relation": "child"},
    ]}
    resp = _patch(api, edit.household, body)
    assert resp.status_code == 200, resp.json
    h = resp.json
    assert h["head"]["name"] == "张三丰" and h["head"]["id_number"] == NEW_ID and h["head"]["phone"] == "13900001111"
    assert h["head"]["birth_date"] == "1980-02-03" and h["head"]["model_worker_grade"] == "省级"
    assert (h["category"], h["reasons"], h["income_per_capita"]) == ("relative", ["unemployment", "education"],
                                                                     "620.50")
    assert (h["subsistence"], h["medical_insurance"], h["needs"]) == ("dibao", "resident", "助学")
    assert h["address"] == CHANGE["address"] and h["bank"]["card_number"] == "6217000010012345678"
    assert h["cadres"] == {"first": "王干事", "second": "赵干事"}
    members = {m["name"]: m for m in h["members"]}
    assert members["李四"]["income"] == "1200.00" and members["李四"]["relation"] == "spouse"
    assert members["张小"]["id_number"] == NEW_MEMBER and members["张小"]["gender"] == "female"

    event = _last_edit(api, edit.household)
    assert event["username"] == "k_clerk" and event["reason"] == "户主申请更正" and event["at"]
    changes = _by_field(event)
    head_id = h["head"]["id"]
    assert changes[(head_id, "phone", None)]["before"] == "13812345678"
    assert changes[(head_id, "phone", None)]["after"] == "13900001111"
    assert changes[(head_id, "id_number", None)]["before"] == HEAD
    assert changes[(head_id, "id_number", None)]["after"] == NEW_ID
    assert changes[(head_id, "name", None)]["before"] == "张三"
    assert changes[(None, "address", None)]["after"] == CHANGE["address"]
    assert changes[(None, "card_number", None)]["before"] == "6222020200112233446"
    assert changes[(None, "income_per_capita", None)] | {} == {
        "field": "income_per_capita", "before": "850.00", "after": "620.50"}
    assert changes[(None, "reasons", None)]["after"] == ["unemployment", "education"]
    assert changes[(edit.member, "income", None)]["after"] == "1200.00"
    for field in ("category", "subsistence", "medical_insurance", "bank_name", "needs", "cadre_first",
                  "cadre_second"):
        assert (None, field, None) in changes, field
    for field in ("job", "union_member", "model_worker", "model_worker_grade", "migrant_worker"):
        assert (head_id, field, None) in changes, field
    added = [e for e in event["changes"]["fields"] if e.get("op") == "add"]
    assert [(a["after"], a["id_number"]) for a in added] == [("张小", NEW_MEMBER)]

    # personal values are stored encrypted in the history, like the rest of the archive
    with system(app):
        stored = json.dumps(db.session.scalars(sa.select(HouseholdEvent.changes).where(
            HouseholdEvent.action == "edit")).all(), ensure_ascii=False)
    for secret in ("13900001111", "13812345678", NEW_ID, HEAD, "中华南大街", "6217000010012345678", NEW_MEMBER):
        assert secret not in stored
    assert "张三丰" in stored  # names are not encrypted anywhere in the archive

    # the old ID number is free again, the new one is held
    other = api_as("k2_clerk")
    taken = other.post("/api/v1/households", json=household_body("K0201", head_id=NEW_ID))
    assert taken.status_code == 409
    assert other.post("/api/v1/households", json=household_body("K0201", head_id=HEAD)).status_code == 201


def test_a_member_is_removed_and_the_history_says_who(app, api_as, edit):
    api = api_as("k_approver")
    resp = _patch(api, edit.household, {"reason": "已分户", "members": [{"id": edit.member, "remove": True}]})
    assert resp.status_code == 200, resp.json
    assert resp.json["members"] == []
    event = _last_edit(api, edit.household)
    (entry,) = event["changes"]["fields"]
    assert (entry["op"], entry["before"], entry["after"], entry["id_number"]) == ("remove", "家属0", None, MEMBER)
    # the removed member may be registered elsewhere now
    assert api_as("k2_clerk").post("/api/v1/households",
                                   json=household_body("K0201", head_id=MEMBER)).status_code == 201


def test_a_masked_reader_sees_the_history_masked(app, api_as, edit):
    assert _patch(api_as("k_clerk"), edit.household, {
        "reason": "更正", "head": {"phone": "13900001111", "id_number": NEW_ID},
        "address": "石家庄市桥西区中华南大街8号",
        "bank": {"name": "中国建设银行", "card_number": "6217000010012345678", "confirmed": True}}).status_code == 200
    resp = api_as("c01_all").get(f"/api/v1/households/{edit.household}/history")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    for secret in ("13900001111", "13812345678", NEW_ID, HEAD, "中华南大街", "6217000010012345678",
                   "6222020200112233446"):
        assert secret not in text
    changes = {e["field"]: e for e in _last_edit(api_as("c01_all"), edit.household)["changes"]["fields"]}
    assert changes["phone"]["after"] == "139****1111"
    assert changes["id_number"]["after"].startswith(NEW_ID[:6]) and "*" in changes["id_number"]["after"]
    assert "*" in changes["card_number"]["after"] and "*" in changes["address"]["after"]
    # and the page's timeline too
    page = api_as("c01_all")
    assert page.get(f"/api/v1/households/{edit.household}").json["masked"] is True


def test_an_id_number_held_in_another_county_is_409_naming_only_the_union(app, api_as, edit):
    resp = api_as("k2_clerk").post("/api/v1/households", json=household_body("E0201001", head_id=OTHER))
    assert resp.status_code == 201
    before = _counts(app)
    resp = _patch(api_as("k_clerk"), edit.household,
                  {"reason": "更正", "members": [{"id": edit.member, "id_number": OTHER}]})
    assert resp.status_code == 409, resp.json
    error = resp.json["error"]
    assert "E0201001工会" in error["message"] and list(error["fields"]) == ["members.0.id_number"]
    assert "张三" not in json.dumps(error, ensure_ascii=False)  # the holder's union, never its people
    assert _counts(app) == before
    # a new member with that number, or the head's: the same
    for body in ({"members": [{"name": "王五", "id_number": OTHER, "relation": "child"}]},
                 {"head": {"id_number": OTHER}}):
        resp = _patch(api_as("k_clerk"), edit.household, {"reason": "更正", **body})
        assert resp.status_code == 409 and "E0201001工会" in resp.json["error"]["message"]
    assert _counts(app) == before


def test_the_same_id_number_twice_in_the_household_is_422(app, api_as, edit):
    before = _counts(app)
    resp = _patch(api_as("k_clerk"), edit.household, {"reason": "更正", "head": {"id_number": MEMBER}})
    assert resp.status_code == 422 and "head.id_number" in resp.json["error"]["fields"]
    resp = _patch(api_as("k_clerk"), edit.household,
                  {"reason": "更正", "members": [{"name": "王五", "id_number": HEAD, "relation": "child"}]})
    assert resp.status_code == 422 and "members.0.id_number" in resp.json["error"]["fields"]
    assert _counts(app) == before


@pytest.mark.parametrize("body, field", [
    ({"head": {"phone": "12345"}}, "head.phone"),
    ({"head": {"id_number": "130102197506150000"}}, "head.id_number"),
    ({"head": {"name": "x" * 51}}, "head.name"),
    ({"income_per_capita": "-1"}, "income_per_capita"),
    ({"category": "rich"}, "category"),
    ({"bank": {"name": "银行", "card_number": "6222020200112233445"}}, "bank.card_number"),
    ({"members": [{"name": "王五", "relation": "child"}]}, "members.0.id_number"),
    ({"members": [{"id": 999999, "income": "1.00"}]}, "members.0.id"),
])
def test_bad_input_is_422_naming_the_field_in_chinese_and_writes_nothing(app, api_as, edit, body, field):
    before = _counts(app)
    resp = _patch(api_as("k_clerk"), edit.household, {"reason": "更正", **body})
    assert resp.status_code == 422, resp.json
    messages = resp.json["error"]["fields"]
    assert field in messages, messages
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(messages[field])), messages
    assert _counts(app) == before


def test_a_correction_needs_a_reason_and_a_change(app, api_as, edit):
    before = _counts(app)
    resp = _patch(api_as("k_clerk"), edit.household, {"head": {"phone": "13900001111"}})
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]
    resp = _patch(api_as("k_clerk"), edit.household, {"reason": "更正", "head": {"phone": "13812345678"}})
    assert resp.status_code == 422
    assert _counts(app) == before


def test_who_may_correct_across_the_tree(app, api_as, edit):
    body = {"reason": "更正", "head": {"phone": "13900001111"}}
    hid = edit.household
    assert _patch(api_as("k2_clerk"), hid, body).status_code == 404  # another county
    assert _patch(api_as("sibling_clerk"), hid, body).status_code == 404  # a sibling enterprise
    assert _patch(api_as("k_auditor"), hid, body).status_code == 403  # the keeper, but a role that may not
    assert _patch(api_as("c01_all"), hid, body).status_code == 403  # the city above: not the keeper
    assert _patch(api_as("e_clerk"), hid, body).status_code == 200  # the registering union while applied
    survey = {"visited_on": date.today().isoformat(), "visitors": ["王干事"], "findings": "属实",
              "income_per_capita": "800.00"}
    assert api_as("k_clerk").post(f"/api/v1/households/{hid}/surveys", json=survey).status_code == 201
    resp = _patch(api_as("e_clerk"), hid, {**body, "head": {"phone": "13900002222"}})
    assert resp.status_code == 403  # surveyed: the county corrects it now
    assert _patch(api_as("k_approver"), hid, {**body, "head": {"phone": "13900002222"}}).status_code == 200
    with system(app):
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "household.edit")).all()
    assert len(actions) == 2


def _to_publicity(api_as, hid, days=5):
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": days})
    survey = {"visited_on": date.today().isoformat(), "visitors": ["王干事"], "findings": "属实",
              "income_per_capita": "800.00"}
    assert api_as("k_clerk").post(f"/api/v1/households/{hid}/surveys", json=survey).status_code == 201
    resp = api_as("k_approver").post(f"/api/v1/households/{hid}/transitions", json={"action": "publicize"})
    assert resp.json["status"] == "publicizing", resp.json
    resp = api_as("k_clerk").post(f"/api/v1/households/{hid}/objections", json={"text": "收入不实"})
    assert resp.status_code == 201
    return resp.json["id"]


def test_an_upheld_objection_sends_the_household_back_to_surveyed(app, api_as, edit):
    oid = _to_publicity(api_as, edit.household)
    url = f"/api/v1/households/{edit.household}/objections/{oid}/resolve"
    assert api_as("k_clerk").post(url, json={"outcome": "upheld", "reason": "核实"}).status_code == 403
    resp = api_as("k_approver").post(url, json={"outcome": "upheld"})
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]
    resp = api_as("k_approver").post(url, json={"outcome": "maybe", "reason": "核实"})
    assert resp.status_code == 422 and "outcome" in resp.json["error"]["fields"]
    resp = api_as("k_approver").post(url, json={"outcome": "upheld", "reason": "收入核实有误"})
    assert resp.status_code == 200 and resp.json["status"] == "surveyed"
    detail = api_as("k_approver").get(f"/api/v1/households/{edit.household}").json
    assert detail["objections"][0]["outcome"] == "upheld" and detail["publicity_ends_on"] is None
    assert api_as("k_approver").post(url, json={"outcome": "dismissed", "reason": "x"}).status_code == 409
    assert api_as("k2_clerk").post(url, json={"outcome": "upheld", "reason": "x"}).status_code == 404
    events = api_as("k_approver").get(f"/api/v1/households/{edit.household}/history").json["events"]
    assert events[-1]["action"] == "objection_upheld" and events[-1]["reason"] == "收入核实有误"


def test_a_dismissed_objection_lets_the_publicity_resume_and_end(app, api_as, edit):
    oid = _to_publicity(api_as, edit.household)
    hid = edit.household
    url = f"/api/v1/households/{hid}/objections/{oid}/resolve"
    resp = api_as("k_approver").post(url, json={"outcome": "dismissed", "reason": "经核实不成立"})
    assert resp.status_code == 200 and resp.json["status"] == "publicizing"
    # the publicity ends: archived when the archive is next read, no objection open any more
    with system(app):
        db.session.execute(sa.update(Household).where(Household.id == hid)
                           .values(publicity_ends_on=date.today() - timedelta(days=1)))
        db.session.commit()
    assert api_as("k_approver").get(f"/api/v1/households/{hid}").json["status"] == "archived"


def test_an_open_objection_keeps_the_household_out_of_the_archive(app, api_as, edit):
    hid = edit.household
    _to_publicity(api_as, hid)
    with system(app):
        db.session.execute(sa.update(Household).where(Household.id == hid)
                           .values(publicity_ends_on=date.today() - timedelta(days=1)))
        db.session.commit()
    resp = api_as("k_approver").post(f"/api/v1/households/{hid}/transitions", json={"action": "archive"})
    assert resp.status_code == 409


def test_the_registering_union_withdraws_its_application(app, api_as, edit):
    hid = edit.household
    url = f"/api/v1/households/{hid}/withdraw"
    assert api_as("k_clerk").post(url, json={}).status_code == 403  # the county did not register it
    assert api_as("sibling_clerk").post(url, json={}).status_code == 404
    resp = api_as("e_clerk").post(url, json={"reason": "职工已调离"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected"
    assert api_as("e_clerk").post(url, json={}).status_code == 409
    events = api_as("e_clerk").get(f"/api/v1/households/{hid}/history").json["events"]
    assert (events[-1]["action"], events[-1]["to_status"], events[-1]["reason"]) == ("withdraw", "rejected",
                                                                                     "职工已调离")
    # its people are free: registered again
    again = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=HEAD))
    assert again.status_code == 201, again.json


def test_an_archived_household_is_not_withdrawn(app, api_as, edit):
    hid = edit.household
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    survey = {"visited_on": date.today().isoformat(), "visitors": ["王干事"], "findings": "属实",
              "income_per_capita": "800.00"}
    api_as("k_clerk").post(f"/api/v1/households/{hid}/surveys", json=survey)
    assert api_as("k_approver").post(f"/api/v1/households/{hid}/transitions",
                                     json={"action": "publicize"}).json["status"] == "archived"
    assert api_as("e_clerk").post(f"/api/v1/households/{hid}/withdraw", json={}).status_code == 409


# ---------------------------------------------------------------- the pages

class _Inputs(HTMLParser):
    """The values a browser would post from one form of a page (inputs, checked boxes, selected options,
    text areas)."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((a["name"], a.get("value", "y" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _flash(html: str) -> str:
    return html.split('class="flash flash-success" role="alert">')[1].split("</div>")[0]


def _form_values(html: str, form_id: str) -> dict:
    parser = _Inputs(form_id)
    parser.feed(html)
    values: dict = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value.lstrip("\n") if name.endswith(("needs", "reason")) else value)
    return values


@pytest.fixture
def ui(client, login):
    def switch(username):
        with client.session_transaction() as session:
            session.clear()
        return login(username)

    return switch


def test_the_correction_page_saves_only_what_changed_with_its_reason(app, client, ui, api_as, edit):
    ui("k_clerk")
    url = f"/t/K0101/archive/{edit.household}/edit"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    values = _form_values(html, "registration")
    assert values["head_phone"] == ["13812345678"] and values["member_0_id"] == [str(edit.member)]
    refused = client.post(url, data={**values, "head_phone": "12345", "reason": "更正"})
    assert refused.status_code == 422 and "has-error" in refused.get_data(as_text=True)
    no_reason = client.post(url, data={**values, "head_phone": "13900001111"})
    assert no_reason.status_code == 422
    done = client.post(url, data={**values, "head_phone": "13900001111", "member_0_income": "300.00",
                                  "reason": "电话号码变更"}, follow_redirects=True)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert _flash(text) == "更正已保存。" and "13900001111" in text and "电话号码变更" in text
    event = _last_edit(api_as("k_clerk"), edit.household)
    assert sorted(e["field"] for e in event["changes"]["fields"]) == ["income", "phone"]
    # the city reads the timeline masked
    ui("c01_all")
    city = client.get(f"/t/C01/archive/{edit.household}").get_data(as_text=True)
    assert "13900001111" not in city and "139****1111" in city and "13812345678" not in city
    assert 'id="edit-link"' not in city
    assert client.get(f"/t/C01/archive/{edit.household}/edit").status_code == 403


def test_the_page_resolves_objections_and_withdraws(app, client, ui, api_as, edit):
    hid = edit.household
    oid = _to_publicity(api_as, hid)
    ui("k_approver")
    page_url = f"/t/K0101/archive/{hid}"
    html = client.get(page_url).get_data(as_text=True)
    assert 'id="action-archive"' not in html  # 建档 is not offered during the publicity
    assert f'id="resolve-{oid}-upheld"' in html and f'id="resolve-{oid}-dismissed"' in html
    token = csrf_from(html)
    url = f"{page_url}/objections/{oid}/resolve"
    empty = client.post(url, data={f"resolve{oid}-csrf_token": token, "outcome": "upheld", f"resolve{oid}-reason": ""})
    assert empty.status_code == 422
    done = client.post(url, data={f"resolve{oid}-csrf_token": token, "outcome": "upheld",
                                  f"resolve{oid}-reason": "收入核实有误"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and 'data-status="surveyed"' in text and "已入户调查" in _flash(text)
    # the enterprise that registered it withdraws it
    ui("e_clerk")
    page_url = f"/t/E0101001/archive/{hid}"
    html = client.get(page_url).get_data(as_text=True)
    assert 'id="withdraw-form"' in html and 'id="edit-link"' not in html  # surveyed: the county corrects
    done = client.post(f"{page_url}/withdraw", data={"withdraw-csrf_token": csrf_from(html),
                                                     "withdraw-reason": "职工已调离"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert 'data-status="rejected"' in text and "未通过" in _flash(text)
