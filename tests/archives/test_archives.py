"""The household archive: registration, lifecycle, one person one archive, protected personal data."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from hardship.archives.models import Household, HouseholdEvent, Person
from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tenants.models import Tenant
from tests.conftest import system
from tests.fixtures.households import household_body, make_id


@pytest.fixture
def archive(tree):
    """Role-specific users on top of the tree."""
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("approver",), username="k_approver")
    tree.user("C01", roles=("reviewer",), username="c_reviewer")
    tree.user("C01", roles=("auditor",), username="c_auditor")
    tree.user("K0101", roles=("auditor",), username="k_auditor")
    return tree


def _register(api_as, user="e_clerk", **kw):
    resp = api_as(user, lang="en").post("/api/v1/households", json=household_body(**kw))
    assert resp.status_code == 201, resp.json
    return resp.json


def test_enterprise_clerk_registers(app, api_as, archive):
    head_id = make_id()
    created = _register(api_as, head_id=head_id, members=[make_id(male=False)])
    assert created["status"] == "applied" and created["tenant"] == "E0101001"
    assert created["head"]["id_number"] == head_id and created["head"]["gender"] == "male"
    assert len(created["members"]) == 1
    with system(app):
        h = db.session.get(Household, created["id"])
        keeper = h.archive_tenant_id
        from tenants.models import Tenant
        assert db.session.get(Tenant, keeper).code == "K0101"


def test_raw_columns_hold_no_plaintext(app, api_as, archive):
    head_id = make_id()
    _register(api_as, head_id=head_id)
    with system(app):
        rows = db.session.execute(sa.text("select * from household_persons")).mappings().all()
        hh = db.session.execute(sa.text("select * from households")).mappings().all()
    dump = repr(rows) + repr(hh)
    for secret in [head_id, head_id[:-1], "13812345678", "6222020200112233446", "建设北大街"]:
        assert secret not in dump


def test_validation_errors_name_fields(app, api_as, archive):
    bad_id = "11010519491231002" + "1"
    body = household_body(head_id=bad_id, members=["123"], category="poor", reasons=["bored"],
                          income_per_capita="-5")
    body["head"]["phone"] = "12345"
    body["bank"] = {"name": "工行", "card_number": "12"}
    body["address"] = ""
    resp = api_as("e_clerk", lang="en").post("/api/v1/households", json=body)
    assert resp.status_code == 422
    fields = resp.json["error"]["fields"]
    for name in ["head.id_number", "head.phone", "members.0.id_number", "category",
                 "reasons", "income_per_capita", "bank.card_number", "address"]:
        assert name in fields, (name, fields)
    assert "check character" in fields["head.id_number"][0]
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0


@pytest.mark.parametrize("value", ["maybe", "不是", 2, -1, 1.5, [], {}])
def test_yes_no_fields_refuse_what_is_neither(app, api_as, archive, value):
    """An unknown word is an error naming the field, never read as no; nothing is written."""
    body = household_body()
    body["head"]["model_worker"] = value
    resp = api_as("e_clerk").post("/api/v1/households", json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["fields"]["head.model_worker"] == ["应填是或否：true 或 false（也可写“是”或“否”）。"]
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("是", True), ("yes", True), (1, True), ("否", False),
                                                 (False, False), ("", False), (None, False), (0, False)])
def test_yes_no_fields_take_booleans_and_words(app, api_as, archive, value, expected):
    body = household_body()
    body["head"]["migrant_worker"] = value
    resp = api_as("e_clerk").post("/api/v1/households", json=body)
    assert resp.status_code == 201, resp.json
    assert resp.json["head"]["migrant_worker"] is expected


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("", True), ("否", False), (False, False)])
def test_a_head_not_said_otherwise_is_a_union_member(api_as, archive, value, expected):
    """Union membership not given (absent, null or empty) is yes for the head, as the importer's "empty: 是"."""
    body = household_body()
    body["head"]["union_member"] = value
    resp = api_as("e_clerk").post("/api/v1/households", json=body)
    assert resp.status_code == 201, resp.json
    assert resp.json["head"]["union_member"] is expected


def test_luhn_failure_needs_confirmation(api_as, archive):
    body = household_body()
    body["bank"] = {"name": "工行", "card_number": "6222020200112233445"}
    resp = api_as("e_clerk", lang="en").post("/api/v1/households", json=body)
    assert resp.status_code == 422 and "check digit" in resp.json["error"]["fields"]["bank.card_number"][0]
    body["bank"]["confirmed"] = True
    ok = api_as("e_clerk").post("/api/v1/households", json=body)
    assert ok.status_code == 201 and ok.json["bank"]["luhn_ok"] is False


def test_one_person_one_archive_across_counties(app, api_as, archive):
    archive.user("E0201001", roles=("clerk",), username="e2_clerk")
    person = make_id()
    _register(api_as, head_id=person)
    body = household_body("E0201001", head_id=make_id(), members=[person])
    resp = api_as("e2_clerk", lang="en").post("/api/v1/households", json=body)
    assert resp.status_code == 409
    err = resp.json["error"]
    assert "E0101001工会" in err["message"] and "members.0.id_number" in err["fields"]
    text = resp.get_data(as_text=True)
    assert "张三" not in text and "13812345678" not in text and "E0101001" not in text.replace("E0101001工会", "")
    as_head = api_as("e2_clerk").post("/api/v1/households", json=household_body("E0201001", head_id=person))
    assert as_head.status_code == 409
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 1


def test_same_id_twice_in_one_household(api_as, archive):
    same = make_id()
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body(head_id=same, members=[same]))
    assert resp.status_code == 422 and "members.0.id_number" in resp.json["error"]["fields"]


def _act(api_as, user, hid, action, reason="", expect=200):
    resp = api_as(user, lang="en").post(f"/api/v1/households/{hid}/transitions",
                                        json={"action": action, "reason": reason})
    assert resp.status_code == expect, (action, resp.json)
    return resp.json


def _survey(api_as, hid, user="k_clerk", expect=201, **kw):
    body = {"visited_on": date.today().isoformat(), "visitors": ["王五", "赵六"], "findings": "家中一人患病，收入低",
            "income_per_capita": "800.00", **kw}
    resp = api_as(user, lang="en").post(f"/api/v1/households/{hid}/surveys", json=body)
    assert resp.status_code == expect, resp.json
    return resp.json


def test_lifecycle_and_history(app, api_as, archive):
    hid = _register(api_as)["id"]
    _survey(api_as, hid, user="e_clerk", expect=403)
    assert _survey(api_as, hid)["status"] == "surveyed"
    _act(api_as, "k_clerk", hid, "publicize", expect=403)
    _act(api_as, "e0101001_all", hid, "publicize", expect=403)  # an enterprise approver decides nothing
    assert _act(api_as, "k_approver", hid, "publicize")["status"] == "publicizing"
    early = _act(api_as, "k_approver", hid, "archive", expect=409)
    assert "publicity" in early["error"]["message"]
    wrong = _act(api_as, "k_approver", hid, "exit", "脱困", expect=409)
    assert "In publicity" in wrong["error"]["message"] and wrong["error"]["status"] == "publicizing"
    with system(app):
        db.session.execute(sa.update(Household).values(publicity_ends_on=date.today() - timedelta(days=1)))
        db.session.commit()
    detail = api_as("k_clerk").get(f"/api/v1/households/{hid}").json
    assert detail["status"] == "archived"
    _act(api_as, "k_approver", hid, "exit", expect=422)
    assert _act(api_as, "k_approver", hid, "exit", "家庭收入已稳定超过当地标准")["status"] == "exited"
    reopened = _act(api_as, "k_approver", hid, "reopen", "因病返困")
    assert reopened["status"] == "applied" and reopened["episode"] == 2
    events = api_as("c_auditor").get(f"/api/v1/households/{hid}/history").json["events"]
    assert [e["action"] for e in events] == ["apply", "survey", "publicize", "archive", "exit", "reopen"]
    assert events[4]["reason"] == "家庭收入已稳定超过当地标准" and events[4]["username"] == "k_approver"
    assert events[3]["username"] is None and events[1]["changes"]["after"]["income_per_capita"] == "800.00"
    assert all(e["from_status"] != e["to_status"] for e in events[1:])


def test_objection_blocks_automatic_archiving(app, api_as, archive):
    hid = _register(api_as)["id"]
    _survey(api_as, hid)
    _act(api_as, "k_approver", hid, "publicize")
    resp = api_as("k_clerk").post(f"/api/v1/households/{hid}/objections", json={"text": "群众反映其有房产出租"})
    assert resp.status_code == 201
    with system(app):
        db.session.execute(sa.update(Household).values(publicity_ends_on=date.today() - timedelta(days=1)))
        db.session.commit()
    assert api_as("k_clerk").get(f"/api/v1/households/{hid}").json["status"] == "publicizing"
    assert _act(api_as, "k_approver", hid, "reject", "核实有出租收入")["status"] == "rejected"
    with system(app):
        assert not any(db.session.scalars(sa.select(Person.active)))


def test_zero_publicity_days_archives_at_once(api_as, archive):
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    hid = _register(api_as)["id"]
    _survey(api_as, hid)
    assert _act(api_as, "k_approver", hid, "publicize")["status"] == "archived"


def test_cancel_needs_a_kind(api_as, archive):
    hid = _register(api_as)["id"]
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    _survey(api_as, hid)
    _act(api_as, "k_approver", hid, "publicize")
    _act(api_as, "k_approver", hid, "cancel", "随便", expect=422)
    assert _act(api_as, "k_approver", hid, "cancel", "retirement: 2026年退休")["status"] == "cancelled"


def test_closed_household_frees_the_person(api_as, archive):
    person = make_id()
    hid = _register(api_as, head_id=person)["id"]
    _act(api_as, "k_approver", hid, "reject", "不符合条件")
    archive.user("E0201001", roles=("clerk",), username="e2_clerk")
    resp = api_as("e2_clerk").post("/api/v1/households", json=household_body("E0201001", head_id=person))
    assert resp.status_code == 201


def test_reopen_refused_when_person_moved_on(api_as, archive):
    person = make_id()
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    hid = _register(api_as, head_id=person)["id"]
    _survey(api_as, hid)
    _act(api_as, "k_approver", hid, "publicize")
    _act(api_as, "k_approver", hid, "exit", "脱困")
    archive.user("E0201001", roles=("clerk",), username="e2_clerk")
    assert api_as("e2_clerk").post("/api/v1/households",
                                   json=household_body("E0201001", head_id=person)).status_code == 201
    assert _act(api_as, "k_approver", hid, "reopen", "返困", expect=409)["error"]["holder"] == "E0201001工会"


@pytest.mark.parametrize("user, masked", [("e_clerk", False), ("k_clerk", False), ("k_approver", False),
                                          ("c_reviewer", True), ("c_auditor", True), ("k_auditor", True),
                                          ("c01_all", True)])
def test_masking_by_role_and_level(app, api_as, archive, user, masked):
    head_id = make_id()
    hid = _register(api_as, head_id=head_id)["id"]
    resp = api_as(user).get(f"/api/v1/households/{hid}")
    if resp.status_code == 403:
        assert user == "c_reviewer"
        return
    detail = resp.json
    assert detail["masked"] is masked
    if masked:
        assert detail["head"]["id_number"] == head_id[:6] + "********" + head_id[-4:]
        assert detail["head"]["phone"] == "138****5678" and "6222" in detail["bank"]["card_number"]
        assert "*" in detail["bank"]["card_number"] and head_id not in resp.get_data(as_text=True)
    else:
        assert detail["head"]["id_number"] == head_id and detail["bank"]["card_number"] == "6222020200112233446"
    with system(app):
        logged = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.view_unmasked",
                                                                AuditEvent.username == user)).all()
    assert bool(logged) is (not masked)


def test_list_filters_and_search(app, api_as, archive):
    a = make_id()
    _register(api_as, head_id=a)
    body = household_body(category="relative", reasons=["education"])
    body["head"]["name"] = "阿依古丽·买买提"
    api_as("e_clerk").post("/api/v1/households", json=body)
    api = api_as("k_clerk")
    every = api.get("/api/v1/households?tenant=K0101").json
    assert every["total"] == 2
    assert api.get("/api/v1/households?tenant=K0101&category=relative").json["total"] == 1
    assert api.get("/api/v1/households?tenant=K0101&reason=low_income").json["total"] == 1
    assert api.get("/api/v1/households?tenant=K0101&reason=education").json["total"] == 1
    assert api.get("/api/v1/households?tenant=K0101&q=阿依古丽").json["total"] == 1
    by_id = api.get(f"/api/v1/households?tenant=K0101&q={a.lower()}").json
    assert by_id["total"] == 1 and by_id["households"][0]["head"]["id_number"] == a
    assert api.get("/api/v1/households?tenant=K0101&status=applied&child=E0101001").json["total"] == 2
    assert api.get("/api/v1/households?tenant=K0101&status=bogus").status_code == 422
    assert api_as("c02_all").get("/api/v1/households?tenant=K0101").status_code == 404
    masked = api_as("c01_all").get("/api/v1/households?tenant=C01").json["households"]
    assert all(row["masked"] and "*" in row["head"]["id_number"] for row in masked)


def test_overdue_survey_list(app, api_as, archive):
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    hid = _register(api_as)["id"]
    _survey(api_as, hid)
    _act(api_as, "k_approver", hid, "publicize")
    assert api_as("k_clerk").get("/api/v1/households?tenant=K0101&overdue=1").json["total"] == 0
    with system(app):
        db.session.execute(sa.update(Household).values(last_survey_on=date.today() - timedelta(days=200)))
        db.session.commit()
    assert api_as("k_clerk").get("/api/v1/households?tenant=K0101&overdue=1").json["total"] == 1


def test_overdue_follows_the_interval_of_the_union_keeping_the_archive(app, api_as, archive):
    """C01 surveys every 12 months, K0101 every 3 (its own setting), K0102 inherits C01's 12. Both
    households were last surveyed 4 months ago: only K0101's is overdue, in the city's list too (the
    reader's own interval would make neither overdue)."""
    from hardship.archives import queries

    archive.user("K0102", roles=("clerk",), username="k2_clerk")
    archive.user("K0102", roles=("approver",), username="k2_approver")
    for code, values in [("C01", {"survey_interval_months": 12}),
                         ("K0101", {"survey_interval_months": 3, "publicity_days": 0}),
                         ("K0102", {"publicity_days": 0})]:
        assert api_as(f"{code.lower()}_all").put(f"/api/v1/tenants/{code}/settings", json=values).status_code == 200
    k1 = _register(api_as)["id"]
    k2 = _register(api_as, "k2_clerk", tenant="K0102")["id"]
    for hid, clerk, approver in [(k1, "k_clerk", "k_approver"), (k2, "k2_clerk", "k2_approver")]:
        _survey(api_as, hid, user=clerk)
        _act(api_as, approver, hid, "publicize")
    with system(app):
        db.session.execute(sa.update(Household).values(last_survey_on=queries.months_before(date.today(), 4)))
        db.session.commit()

    def overdue(user, tenant):
        resp = api_as(user).get(f"/api/v1/households?tenant={tenant}&overdue=1")
        assert resp.status_code == 200, resp.json
        return {h["id"] for h in resp.json["households"]}

    assert overdue("c01_all", "C01") == {k1}
    assert overdue("k_clerk", "K0101") == {k1} and overdue("k2_clerk", "K0102") == set()
    with system(app):
        ids = dict(db.session.execute(sa.select(Tenant.code, Tenant.id)).all())
        city = db.session.scalar(sa.select(Tenant).where(Tenant.code == "C01"))
        assert queries.survey_intervals(city) == {3: [ids["K0101"]], 12: [ids["K0102"]]}
        db.session.rollback()
    # the city lowers its interval: K0102 inherits it, K0101 keeps its own
    api_as("c01_all").put("/api/v1/tenants/C01/settings", json={"survey_interval_months": 2})
    assert overdue("c01_all", "C01") == {k1, k2}


def test_history_is_append_only_in_postgres(app, api_as, archive):
    from tests.conftest import IS_PG

    _register(api_as)
    if not IS_PG:
        pytest.skip("grants are a PostgreSQL feature")
    with app.app_context():
        from tenants.scoping import set_scope
        set_scope("/")
        with pytest.raises(sa.exc.ProgrammingError):
            db.session.execute(sa.text("delete from household_events"))
        db.session.rollback()
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HouseholdEvent)) == 1
