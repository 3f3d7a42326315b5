"""The archive's web pages: list (filters, search, pagination, overdue view), the household page
with the actions each role may take, the registration form, and the xlsx export (UI and API)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from hardship.api import load_data
from hardship.archives import operations as ops
from hardship.archives.models import Household, HouseholdEvent, Person, Survey
from hardship.archives.schemas import HouseholdIn, SurveyIn
from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tenants.scoping import get_tenant
from tests.conftest import csrf_from, system
from tests.fixtures.households import household_body, make_id, unique_id

GOOD_CARD = "6222020200112233446"
BAD_LUHN_CARD = "6222020200112233445"


@pytest.fixture
def archive(tree):
    """Role-specific users on top of the tree, and a second enterprise under K0101."""
    tree.tenant("E0101002", parent="K0101", name="长安区纺织有限公司工会")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("approver",), username="k_approver")
    tree.user("C01", roles=("auditor",), username="c_auditor")
    tree.user("C01", roles=("reviewer",), username="c_reviewer")
    return tree


@pytest.fixture
def login(client, login):
    """conftest's ``login``, which may switch users: the previous session is dropped first."""

    def switch(username):
        with client.session_transaction() as session:
            session.clear()
        return login(username)

    return switch


@pytest.fixture
def en(client):
    """UI messages in English (the assertions read them)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _register(app, tenant="E0101001", n=None, name="张三", head_id=None, **overrides) -> int:
    """A household registered through the operation (system actor)."""
    body = household_body(tenant, head_id=head_id or (unique_id(n) if n is not None else make_id()), **overrides)
    body["head"]["name"] = name
    with system(app):
        h = ops.register_household(get_tenant(tenant), load_data(HouseholdIn, body))
        db.session.commit()
        return h.id


def _advance(app, hid, *steps):
    """Run lifecycle steps as the system: "survey", or a transition name (with a reason)."""
    with system(app):
        h = db.session.get(Household, hid)
        for step in steps:
            if step == "survey":
                ops.record_survey(h, load_data(SurveyIn, {"visited_on": date.today().isoformat(), "visitors": ["王五"],
                                                          "findings": "属实", "income_per_capita": "700.00"}))
            else:
                ops.transition(h, step, "原因" if step not in ("cancel",) else "death: 病故")
        db.session.commit()


def _count(app, model) -> int:
    with system(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _rows(html: str) -> list[str]:
    """The household ids listed on the archive page, in order."""
    return re.findall(r'<tr data-id="(\d+)"', html)


def _page(client, url, status=200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:1000])
    return resp.get_data(as_text=True)


def _post(client, url, page_url, data, prefix=""):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={f"{prefix}csrf_token": token, **data})


# ---------------------------------------------------------------- the list


def test_menu_and_access(client, login, archive):
    resp = client.get("/t/K0101/archive")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login("k_clerk")
    home = _page(client, "/t/K0101/")
    assert 'href="/t/K0101/archive"' in home and 'href="/t/K0101/archive/new"' in home
    login("c_reviewer")  # statistics only: the list behind a figure (masked), no menu entry, no export
    assert 'href="/t/C01/archive"' not in _page(client, "/t/C01/")
    assert client.get("/t/C01/archive").status_code == 200
    assert client.get("/t/C01/archive/export.xlsx").status_code == 403
    login("c_auditor")  # reads, registers nothing
    home = _page(client, "/t/C01/")
    assert 'href="/t/C01/archive"' in home and "/archive/new" not in home
    assert client.get("/t/C01/archive/new").status_code == 403


def test_list_filters_and_labels(app, client, login, archive):
    deep = _register(app, name="王一")
    relative = _register(app, name="李二", category="relative", reasons=["education", "disability"])
    other = _register(app, "E0101002", name="赵三", category="accident", reasons=["accident"])
    _advance(app, other, "survey")
    login("k_clerk")
    html = _page(client, "/t/K0101/archive")
    assert _rows(html) == [str(other), str(relative), str(deep)]
    assert "深度困难" in html and "相对困难" in html and "已入户调查" in html and "因学" in html  # Chinese labels
    assert _rows(_page(client, "/t/K0101/archive?category=relative")) == [str(relative)]
    assert _rows(_page(client, "/t/K0101/archive?reason=disability")) == [str(relative)]  # a secondary reason
    assert _rows(_page(client, "/t/K0101/archive?reason=illness")) == [str(deep)]
    assert _rows(_page(client, "/t/K0101/archive?status=surveyed")) == [str(other)]
    assert _rows(_page(client, "/t/K0101/archive?child=E0101002")) == [str(other)]
    assert _rows(_page(client, "/t/K0101/archive?child=E0101001&status=applied")) == [str(relative), str(deep)]
    # the child filter offers the direct children only
    assert 'value="E0101002"' in html and 'value="K0101"' not in html.split('id="child"')[1].split("</select>")[0]


def test_incomes_read_with_thousands_separators(app, client, login, archive):
    """An income a person reads has its separators (1,234.50), in the list and on the household's page."""
    hid = _register(app, name="钱五", income_per_capita="1234.50")
    login("k_clerk")
    listed = _page(client, "/t/K0101/archive")
    assert re.search(r'<td class="num">1,234\.50</td>', listed)
    page = _page(client, f"/t/K0101/archive/{hid}")
    assert "1,234.50" in page and ">1234.50<" not in page


def test_list_bad_filters_name_the_field(client, en, login, archive):
    login("k_clerk")
    html = _page(client, "/t/K0101/archive?status=bogus&category=poor", status=422)
    status_field = html.split('id="status"')[1].split('<div class="field')[0]
    assert "Choose one of: Applied, Surveyed" in status_field
    assert "Choose one of: Deep hardship, Relative hardship, Hardship by accident." in html.split('id="category"')[1].split('<div class="field')[0]
    assert _rows(html) == []
    assert client.get("/t/K0101/archive?child=K0201").status_code == 404  # outside the subtree: absent
    assert client.get("/t/K0101/archive?child=ZZ99").status_code == 404


def test_search_by_name_and_id_number(app, client, login, archive):
    number = unique_id(7)
    with_x = next(unique_id(n) for n in range(100, 400) if unique_id(n).endswith("X"))
    body_a = household_body(head_id=number)
    body_a["head"]["name"] = "阿依古丽·买买提"
    body_b = household_body(head_id=with_x)
    body_b["head"]["name"] = "张伟"
    with system(app):
        ha = ops.register_household(get_tenant("E0101001"), load_data(HouseholdIn, body_a))
        hb = ops.register_household(get_tenant("E0101001"), load_data(HouseholdIn, body_b))
        db.session.commit()
        ha, hb = ha.id, hb.id
    login("k_clerk")
    assert _rows(_page(client, "/t/K0101/archive?q=阿依古丽")) == [str(ha)]
    assert _rows(_page(client, "/t/K0101/archive?q=张")) == [str(hb)]
    html = _page(client, f"/t/K0101/archive?q={number}")
    assert _rows(html) == [str(ha)] and number in html  # the keeper sees the number in full
    assert _rows(_page(client, f"/t/K0101/archive?q={with_x.lower()}")) == [str(hb)]  # lower-case x
    assert _rows(_page(client, "/t/K0101/archive?q=110105194912310021")) == []
    login("c_auditor")  # finds by the full number but sees it masked
    html = _page(client, f"/t/C01/archive?q={number}").split('id="households"')[1]  # the table, not the search box
    assert _rows(html) == [str(ha)] and number not in html and number[:6] + "********" + number[-4:] in html


def test_pagination(app, client, login, archive):
    ids = [_register(app, n=n, name=f"户主{n}") for n in range(51)]
    login("k_clerk")
    first = _page(client, "/t/K0101/archive")
    assert len(_rows(first)) == 50 and _rows(first)[0] == str(ids[-1])
    assert "51" in first.split('id="total"')[1][:40]
    next_link = re.search(r'id="next" href="([^"]+)"', first).group(1)
    second = _page(client, next_link.replace("&amp;", "&"))
    assert _rows(second) == [str(ids[0])] and 'id="next"' not in second and 'id="prev"' in second
    # filters survive paging
    filtered = _page(client, "/t/K0101/archive?status=applied&category=deep")
    assert "status=applied" in re.search(r'id="next" href="([^"]+)"', filtered).group(1)
    assert _rows(_page(client, "/t/K0101/archive?page=99")) == []
    assert len(_rows(_page(client, "/t/K0101/archive?page=abc"))) == 50


def test_overdue_view(app, client, api_as, login, archive):
    api_as("k0101_all").put("/api/v1/tenants/K0101/settings", json={"publicity_days": 0})
    fresh, stale, applied = _register(app), _register(app), _register(app)
    _advance(app, fresh, "survey", "publicize")
    _advance(app, stale, "survey", "publicize")
    with system(app):
        db.session.execute(sa.update(Household).where(Household.id == stale)
                           .values(last_survey_on=date.today() - timedelta(days=200)))
        db.session.commit()
    login("k_clerk")
    html = _page(client, "/t/K0101/archive?overdue=y")
    assert _rows(html) == [str(stale)] and 'id="overdue-note"' in html
    assert str(applied) not in _rows(html)
    assert _rows(_page(client, "/t/K0101/archive?overdue=y&child=E0101002")) == []


# ---------------------------------------------------------------- the household page


def _forms(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="[^"]+" class="card action" id="([\w-]+)"', html))


@pytest.mark.parametrize("user, status, expected, masked", [
    ("k_approver", "surveyed", {"action-publicize", "action-reject"}, False),
    ("k_clerk", "surveyed", {"survey-form"}, False),
    ("k_clerk", "publicizing", {"survey-form", "objection-form"}, False),
    ("k_approver", "publicizing", {"action-reject"}, False),  # archived only once the publicity ends
    ("k_approver", "archived", {"action-exit", "action-cancel", "action-relieve"}, False),
    ("k_approver", "exited", {"action-reopen"}, False),
    ("k_clerk", "rejected", set(), False),
    ("e_clerk", "surveyed", {"withdraw-form"}, False),  # registers (and withdraws); the county decides
    ("e0101001_all", "surveyed", {"withdraw-form"}, False),  # an enterprise approver decides nothing
    ("c_auditor", "archived", set(), True),
    ("c01_all", "surveyed", set(), True),  # the city reads, masked, and decides nothing
])
def test_household_page_shows_only_permitted_actions(app, client, login, archive, user, status, expected, masked):
    head_id = make_id()
    hid = _register(app, head_id=head_id)
    steps = {"surveyed": ["survey"], "publicizing": ["survey", "publicize"],
             "archived": ["survey", "publicize", "archive"], "exited": ["survey", "publicize", "archive", "exit"],
             "rejected": ["reject"]}[status]
    _advance(app, hid, *[s for s in steps if s not in ("archive", "exit")])
    if "archive" in steps:
        with system(app):
            h = db.session.get(Household, hid)
            h.publicity_ends_on = date.today()
            ops.transition(h, "archive")
            if "exit" in steps:
                ops.transition(h, "exit", "收入稳定")
            db.session.commit()
    login(user)
    tenant = {"e_clerk": "E0101001", "e0101001_all": "E0101001", "c_auditor": "C01", "c01_all": "C01"}.get(user, "K0101")
    html = _page(client, f"/t/{tenant}/archive/{hid}")
    assert f'data-status="{status}"' in html
    assert _forms(html) == expected
    assert (head_id in html) is (not masked)
    assert ("13812345678" in html) is (not masked) and ("6222020200112233446" in html) is (not masked)
    assert 'id="timeline"' in html and html.count("<li data-action=") == len(steps) + 1


def test_household_outside_the_url_tenant_is_absent(app, client, login, archive):
    hid = _register(app)
    login("k_clerk")
    assert client.get(f"/t/K0101/archive/{hid}").status_code == 200
    assert client.get(f"/t/E0101002/archive/{hid}").status_code == 404  # inside the scope, not under E0101002
    assert client.get("/t/K0101/archive/999999").status_code == 404


def test_unmasked_view_is_audited(app, client, login, archive):
    hid = _register(app)
    login("k_clerk")
    _page(client, f"/t/K0101/archive/{hid}")
    _page(client, "/t/K0101/archive")
    login("c_auditor")
    _page(client, f"/t/C01/archive/{hid}")
    with system(app):
        logged = db.session.execute(sa.select(AuditEvent.username, AuditEvent.detail)
                                    .where(AuditEvent.action == "household.view_unmasked")).all()
    assert sorted(d["where"] for u, d in logged if u == "k_clerk") == ["detail", "list"]
    assert not [u for u, _d in logged if u == "c_auditor"]


def test_survey_through_the_form(app, client, en, login, archive):
    hid = _register(app)
    login("k_clerk")
    page = f"/t/K0101/archive/{hid}"
    future = (date.today() + timedelta(days=3)).isoformat()
    bad = _post(client, f"{page}/survey", page, {"survey-visited_on": future, "survey-visitors": "",
                                                 "survey-findings": "", "survey-income_per_capita": "12.345"},
                prefix="survey-")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    form = html.split('id="survey-form"')[1].split("</form>")[0]
    for field, message in [("visited_on", "The visit cannot be in the future."), ("visitors", "Name at least one visitor."),
                           ("findings", "Required."), ("income_per_capita", "At most two decimals")]:
        assert message in form.split(f'id="survey-{field}"')[1].split('<div class="field')[0], field
    assert f'value="{future}"' in form  # the input is kept
    assert _count(app, Survey) == 0 and _count(app, HouseholdEvent) == 1
    ok = _post(client, f"{page}/survey", page, {"survey-visited_on": date.today().isoformat(),
                                                "survey-visitors": "王五，赵六", "survey-findings": "家中一人患病",
                                                "survey-income_per_capita": "800.00"}, prefix="survey-")
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"{page}#surveys")
    html = _page(client, page)
    assert 'data-status="surveyed"' in html and "王五、赵六" in html and "The home survey was recorded." in html
    with system(app):
        assert db.session.get(Household, hid).income_per_capita == 80000


def test_survey_refused_to_the_enterprise(app, client, en, login, archive):
    hid = _register(app)
    login("e_clerk")  # has the capability, but the county keeps the archive
    page = f"/t/E0101001/archive/{hid}"
    resp = _post(client, f"{page}/survey", page, {"survey-visited_on": date.today().isoformat(),
                                                  "survey-visitors": "王五", "survey-findings": "x",
                                                  "survey-income_per_capita": "1.00"}, prefix="survey-")
    assert resp.status_code == 403
    assert "Home surveys are recorded by the union keeping the archive." in resp.get_data(as_text=True)
    assert _count(app, Survey) == 0


def test_decisions_through_the_forms(app, client, en, login, archive):
    hid = _register(app)
    _advance(app, hid, "survey")
    page = f"/t/K0101/archive/{hid}"
    login("k_clerk")  # no decisions
    assert _post(client, f"{page}/transition", page, {"action": "publicize"}, prefix="publicize-").status_code == 403
    login("k_approver")
    bad = _post(client, f"{page}/transition", page, {"action": "reject", "reject-reason": " "}, prefix="reject-")
    assert bad.status_code == 422
    form = bad.get_data(as_text=True).split('id="action-reject"')[1].split("</form>")[0]
    assert "Give a reason." in form
    wrong = _post(client, f"{page}/transition", page, {"action": "exit", "exit-reason": "脱困"}, prefix="exit-")
    assert wrong.status_code == 409 and "is not possible now" in wrong.get_data(as_text=True)
    unknown = _post(client, f"{page}/transition", page, {"action": "explode"})
    assert unknown.status_code == 422 and "Choose one of: Publicize, Archive" in unknown.get_data(as_text=True)
    assert "action:" not in unknown.get_data(as_text=True)
    with system(app):
        assert db.session.get(Household, hid).status == "surveyed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HouseholdEvent)) == 2
    ok = _post(client, f"{page}/transition", page, {"action": "publicize", "publicize-reason": ""},
               prefix="publicize-")
    assert ok.status_code == 302
    html = _page(client, page)
    assert 'data-status="publicizing"' in html and "Publicity ends on" in html
    # an objection (by the clerk) keeps the household in publicity after the period
    login("k_clerk")
    empty = _post(client, f"{page}/objection", page, {"objection-text": ""}, prefix="objection-")
    assert empty.status_code == 422 and "Required." in empty.get_data(as_text=True).split('id="objection-form"')[1]
    assert _post(client, f"{page}/objection", page, {"objection-text": "群众反映有房产出租"},
                 prefix="objection-").status_code == 302
    login("k_approver")
    rejected = _post(client, f"{page}/transition", page, {"action": "reject", "reject-reason": "核实有出租收入"},
                     prefix="reject-")
    assert rejected.status_code == 302
    html = _page(client, page)
    assert 'data-status="rejected"' in html and "核实有出租收入" in html and "群众反映有房产出租" in html


def test_cancel_and_relief_forms(app, client, en, login, archive):
    hid = _register(app)
    _advance(app, hid, "survey")
    with system(app):
        h = db.session.get(Household, hid)
        ops.transition(h, "publicize")
        h.publicity_ends_on = date.today()
        ops.transition(h, "archive")
        db.session.commit()
    page = f"/t/K0101/archive/{hid}"
    login("k_approver")
    relief = _post(client, f"{page}/transition", page, {"action": "relieve", "relieve-year": "2025",
                                                        "relieve-reason": "当年解困"}, prefix="relieve-")
    assert relief.status_code == 302
    bad_year = _post(client, f"{page}/transition", page, {"action": "relieve", "relieve-year": "1800"},
                     prefix="relieve-")
    assert bad_year.status_code == 422 and "2000" in bad_year.get_data(as_text=True).split('id="action-relieve"')[1]
    cancelled = _post(client, f"{page}/transition", page, {"action": "cancel", "cancel-cancel_kind": "retirement",
                                                           "cancel-reason": "2026年退休"}, prefix="cancel-")
    assert cancelled.status_code == 302
    html = _page(client, page)
    assert 'data-status="cancelled"' in html and "Retirement: 2026年退休" in html and "retirement:" not in html and "当年解困" in html
    assert 'id="action-reopen"' in html


def test_csrf_is_required(app, client, login, archive):
    hid = _register(app)
    login("k_approver")
    _advance(app, hid, "survey")
    resp = client.post(f"/t/K0101/archive/{hid}/transition", data={"action": "publicize"})
    assert resp.status_code == 400
    with system(app):
        assert db.session.get(Household, hid).status == "surveyed"


# ---------------------------------------------------------------- registration


def _registration(tenant="E0101001", head_id=None, **overrides) -> dict:
    data = {"tenant": tenant, "head_name": "刘洋", "head_id_number": head_id or make_id(), "head_phone": "13912345678",
            "head_job": "焊工", "head_union_member": "y", "category": "deep", "primary_reason": "illness",
            "secondary_reasons": ["low_income", "illness"], "income_per_capita": "620.50",
            "subsistence": "dibao", "medical_insurance": "employee", "address": "石家庄市长安区中山东路8号",
            "bank_name": "中国工商银行", "card_number": GOOD_CARD, "needs": "医疗救助",
            "cadre_first": "王主席", "cadre_second": "李干事"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_registration_by_the_enterprise_clerk(app, client, en, login, archive):
    login("e_clerk")
    page = _page(client, "/t/E0101001/archive/new")
    assert '<select id="tenant"' not in page and 'name="tenant" value="E0101001"' in page
    member = make_id(male=False)
    data = _registration(member_2_name="周丽", member_2_id_number=member, member_2_relation="spouse",
                         member_2_income="1500.00", member_2_health="健康")
    resp = _post(client, "/t/E0101001/archive/new", "/t/E0101001/archive/new", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    hid = int(resp.headers["Location"].rsplit("/", 1)[1])
    with system(app):
        h = db.session.get(Household, hid)
        assert (h.status, h.category, h.primary_reason, h.secondary_reasons) == ("applied", "deep", "illness",
                                                                                 ["low_income"])
        assert h.income_per_capita == 62050 and h.subsistence == "dibao" and h.cadre_first == "王主席"
        assert [(p.role, p.name, p.relation, p.income) for p in h.people] == [
            ("head", "刘洋", "self", 0), ("member", "周丽", "spouse", 150000)]
        assert get_tenant("E0101001").id == h.tenant_id
    html = _page(client, f"/t/E0101001/archive/{hid}")
    assert "The household was registered." in html and member in html


def test_registration_errors_name_the_fields_and_write_nothing(app, client, en, login, archive):
    login("e_clerk")
    url = "/t/E0101001/archive/new"
    data = _registration(head_id="110105194912310021", head_phone="12345", category="", primary_reason="",
                         income_per_capita="-5", address="", card_number="12",
                         member_0_name="周丽", member_0_id_number="123", member_0_relation="",
                         member_3_name="", member_3_id_number=make_id())
    resp = _post(client, url, url, data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="form-errors"' in html

    def error_of(field_id):
        return html.split(f'id="{field_id}"')[1].split("</td>")[0].split('<div class="field')[0]

    assert "check character" in error_of("head_id_number")
    assert "mobile number" in error_of("head_phone")
    assert "Required." in error_of("category")
    assert "primary reason" in error_of("primary_reason")
    assert "negative" in error_of("income_per_capita")
    assert "Required." in error_of("address")
    assert "16 to 19 digits" in error_of("card_number")
    assert "18 characters" in error_of("member_0_id_number") and "Required." in error_of("member_0_relation")
    assert "Required." in error_of("member_3_name")  # the fourth row, not the second member's index
    assert 'value="周丽"' in html  # input kept
    assert 'name="card_confirmed"' not in html  # a malformed card is not a Luhn warning
    assert _count(app, Household) == 0 and _count(app, Person) == 0 and _count(app, HouseholdEvent) == 0


def test_luhn_warning_asks_for_confirmation(app, client, en, login, archive):
    login("e_clerk")
    url = "/t/E0101001/archive/new"
    data = _registration(card_number=BAD_LUHN_CARD)
    first = _post(client, url, url, data)
    assert first.status_code == 422
    html = first.get_data(as_text=True)
    assert "fails its check digit" in html.split('id="card_number"')[1] and 'name="card_confirmed"' in html
    assert _count(app, Household) == 0
    confirmed = _post(client, url, url, {**data, "card_confirmed": "y"})
    assert confirmed.status_code == 302
    with system(app):
        assert db.session.scalar(sa.select(Household.card_luhn_ok)) is False


def test_county_clerk_picks_the_enterprise(app, client, en, login, archive):
    login("k_clerk")
    url = "/t/K0101/archive/new"
    page = _page(client, url)
    options = re.findall(r'<option[^>]*value="([^"]+)"', page.split('id="tenant"')[1].split("</select>")[0])
    assert options == ["K0101", "E0101001", "E0101002"]
    resp = _post(client, url, url, _registration(tenant="E0101002"))
    assert resp.status_code == 302
    with system(app):
        h = db.session.scalar(sa.select(Household))
        assert h.tenant_id == get_tenant("E0101002").id and h.archive_tenant_id == get_tenant("K0101").id
    # a union outside the subtree is absent; one inside it but not offered is refused
    assert _post(client, url, url, _registration(tenant="K0201")).status_code == 404
    assert _post(client, url, url, _registration(tenant="K0102")).status_code == 404
    login("c01_all")  # the city may read K0101's archive, but registers nothing for it
    assert client.get(url).status_code == 403
    assert _count(app, Household) == 1


def test_one_person_one_archive_in_the_form(app, client, en, login, archive):
    person = make_id()
    archive.user("E0201001", roles=("clerk",), username="e2_clerk")
    _register(app, "E0201001", head_id=person)
    login("k_clerk")
    url = "/t/K0101/archive/new"
    resp = _post(client, url, url, _registration(member_0_name="周丽", member_0_id_number=person,
                                                 member_0_relation="spouse"))
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "E0201001工会" in html and "one person, one archive" in html
    assert "Already in an open household archive" in html.split('id="member_0_id_number"')[1].split("</td>")[0]
    assert _count(app, Household) == 1


# ---------------------------------------------------------------- export


def _sheet(content: bytes) -> list[list]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    return rows


def _export_headers() -> list[str]:
    from flask_babel import force_locale

    from hardship.archives.exports import COLUMNS

    with force_locale("zh_Hans_CN"):
        return [str(label) for _k, label, _kind, _w in COLUMNS]


def test_export_unmasked_for_the_keeper_and_audited(app, client, login, archive):
    head_id = make_id()
    hid = _register(app, head_id=head_id)
    other = _register(app, "E0101002", category="relative", reasons=["education"])
    login("k_clerk")
    resp = client.get("/t/K0101/archive/export.xlsx?category=deep")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"] and "K0101" in resp.headers["Content-Disposition"]
    with app.test_request_context():
        headers = _export_headers()
    rows = _sheet(resp.data)
    assert rows[0] == headers and len(rows) == 2
    row = dict(zip(headers, rows[1], strict=True))
    assert row[headers[0]] == hid and head_id in rows[1] and "13812345678" in rows[1]
    assert GOOD_CARD in rows[1] and "石家庄市长安区建设北大街1号" in rows[1]
    assert "已申请" in rows[1] and "深度困难" in rows[1] and "E0101001工会" in rows[1]
    with system(app):
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.export_unmasked")).all()
    assert len(events) == 1 and events[0].username == "k_clerk"
    assert events[0].detail["households"] == [hid] and events[0].detail["filters"] == {"category": "deep"}
    assert str(other) not in str(events[0].detail)
    # a searched ID number reaches the audit log (read by auditors) masked
    resp = client.get(f"/t/K0101/archive/export.xlsx?q={head_id}")
    assert resp.status_code == 200 and head_id in _sheet(resp.data)[1]
    with system(app):
        detail = db.session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "household.export_unmasked")
                                    .order_by(AuditEvent.id.desc())).first()
    assert detail["filters"] == {"q": head_id[:6] + "********" + head_id[-4:]} and head_id not in str(detail)


def test_export_masked_for_readers_and_not_audited(app, client, login, archive):
    head_id = make_id()
    _register(app, head_id=head_id)
    login("c_auditor")
    resp = client.get("/t/C01/archive/export.xlsx")
    assert resp.status_code == 200
    rows = _sheet(resp.data)
    assert len(rows) == 2
    flat = " ".join(str(v) for v in rows[1])
    assert head_id not in flat and head_id[:6] + "********" + head_id[-4:] in flat
    assert "13812345678" not in flat and "138****5678" in flat and GOOD_CARD not in flat and "建设北大街" not in flat
    with system(app):
        assert not db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "household.export_unmasked")).all()


def test_export_bad_filter_goes_back_to_the_list(client, en, login, archive):
    login("k_clerk")
    resp = client.get("/t/K0101/archive/export.xlsx?status=bogus&category=deep")
    assert resp.status_code == 302 and resp.headers["Location"] == "/t/K0101/archive?status=bogus&category=deep"
    html = _page(client, resp.headers["Location"], status=422)
    assert "Choose one of: Applied, Surveyed" in html.split('id="status"')[1].split('<div class="field')[0]


def test_api_export(app, api_as, archive):
    head_id = make_id()
    hid = _register(app, head_id=head_id)
    _register(app, "E0101002")
    resp = api_as("k_clerk").get("/api/v1/households/export.xlsx?tenant=K0101&child=E0101001")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    rows = _sheet(resp.data)
    assert len(rows) == 2 and rows[1][0] == hid and head_id in rows[1]
    masked = _sheet(api_as("c01_all").get("/api/v1/households/export.xlsx?tenant=C01").data)
    assert len(masked) == 3 and head_id not in str(masked)
    with system(app):
        audited = db.session.scalars(sa.select(AuditEvent.username).where(
            AuditEvent.action == "household.export_unmasked")).all()
    assert audited == ["k_clerk"]
    bad = api_as("k_clerk", lang="en").get("/api/v1/households/export.xlsx?tenant=K0101&reason=bored")
    assert bad.status_code == 422 and "reason" in bad.json["error"]["fields"]
    assert api_as("c02_all").get("/api/v1/households/export.xlsx?tenant=K0101").status_code == 404
    assert api_as("c_reviewer").get("/api/v1/households/export.xlsx?tenant=C01").status_code == 403
