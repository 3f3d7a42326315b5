"""The service desk's pages through the test client: the registration form loads through the API's schema (its
refusals on the form's inputs, in Chinese, nothing written), the archive look-up, the record form, the actions
shown only when allowed, the settings page's deadline by kind."""

from __future__ import annotations

import sqlalchemy as sa

from hardship.core.db import db
from tests.conftest import csrf_from, system
from tests.fixtures.households import household_body, unique_id


def _cases(app) -> int:
    from hardship.desk.models import Case

    with system(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def _form(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return csrf_from(page.get_data(as_text=True))


def test_registration_form_refuses_bad_input_on_its_inputs(app, tree, client, login):
    login("k0101_all")
    token = _form(client, "/t/K0101/desk/new")
    form = {"csrf_token": token, "kind": "petition", "channel": "visit", "category": "unpaid_wages", "name": "赵六",
            "id_number": "110105194912310021", "phone": "123", "subject": "欠" * 2001, "received_on": "2026-01-01"}
    resp = client.post("/t/K0101/desk/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and _cases(app) == 0
    assert "最多 2000 个字符" in html or "2000" in html
    assert "person.id_number" not in html and "person.phone" not in html
    form.update(id_number="", phone="13812345678", subject="企业拖欠工资", handler="k0101_all")
    resp = client.post("/t/K0101/desk/new", data=form)
    assert resp.status_code == 302 and _cases(app) == 1
    assert "k0101_all" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_lookup_finds_the_person_in_the_archive(app, tree, client, login, api_as):
    head = unique_id(71)
    assert api_as("e0101001_all").post("/api/v1/households", json=household_body(head_id=head)).status_code == 201
    login("k0101_all")
    html = client.get(f"/t/K0101/desk/new?lookup={head}").get_data(as_text=True)
    assert "已在档案中找到" in html and 'value="张三"' in html
    html = client.get(f"/t/K0101/desk/new?lookup={unique_id(72)}").get_data(as_text=True)
    assert "档案中没有此人" in html


def test_case_page_shows_only_the_actions_allowed_now(app, tree, client, login, api_as):
    county = api_as("k0101_all")
    cid = county.post("/api/v1/cases", json={"tenant": "K0101", "kind": "legal_aid", "channel": "hotline",
                                             "category": "labour_dispute", "person": {"name": "赵六"},
                                             "subject": "追索劳动报酬"}).json["id"]
    login("k0101_all")
    html = client.get(f"/t/K0101/desk/cases/{cid}").get_data(as_text=True)
    assert 'id="form-refer"' in html and 'id="form-close"' in html and 'id="form-answer"' not in html
    assert 'id="form-reopen"' not in html and "法律援助" in html and "12351热线" in html
    token = csrf_from(html)
    resp = client.post(f"/t/K0101/desk/cases/{cid}/record", data={"csrf_token": token, "legal_claimed": "12,000.00",
                                                                 "legal_outcome": "mediated"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    html = client.get(f"/t/K0101/desk/cases/{cid}").get_data(as_text=True)
    assert "12,000.00 元" in html and "调解" in html
    resp = client.post(f"/t/K0101/desk/cases/{cid}/attach", data={"csrf_token": token, "attachment_name": "仲裁申请书.pdf",
                                                                 "attachment_date": "2026-01-05"})
    assert resp.status_code == 302
    assert "仲裁申请书.pdf（2026-01-05）" in client.get(f"/t/K0101/desk/cases/{cid}").get_data(as_text=True)
    resp = client.post(f"/t/K0101/desk/cases/{cid}/attach", data={"csrf_token": token, "attachment_name": ""})
    assert resp.status_code == 422 and "必填" in resp.get_data(as_text=True)
    resp = client.post(f"/t/K0101/desk/cases/{cid}/close", data={"csrf_token": token, "result": ""})
    assert resp.status_code == 422 and "必填" in resp.get_data(as_text=True)
    resp = client.post(f"/t/K0101/desk/cases/{cid}/close", data={"csrf_token": token, "result": "resolved"})
    assert resp.status_code == 302
    html = client.get(f"/t/K0101/desk/cases/{cid}").get_data(as_text=True)
    assert 'id="form-reopen"' in html and 'id="form-close"' not in html
    # the city reads the county's case without any action
    client.post("/logout", data={"csrf_token": token})
    login("c01_all")
    html = client.get(f"/t/C01/desk/cases/{cid}").get_data(as_text=True)
    assert 'id="actions"' not in html and 'id="form-record"' not in html


def test_figures_of_a_chosen_month_on_the_queue_page(app, tree, client, login, api_as):
    api_as("k0101_all").post("/api/v1/cases", json={"tenant": "K0101", "kind": "training", "channel": "online",
                                                    "category": "other", "person": {"name": "赵六"},
                                                    "subject": "报名参加电工培训", "received_on": "2026-01-05"})
    login("c01_all")
    html = client.get("/t/C01/desk/?year=2026&month=1").get_data(as_text=True)
    assert "2026年1月受理案件" in html and "受理 1 件" in html
    assert client.get("/t/C01/desk/?year=abc").status_code == 200


def test_settings_page_has_the_deadline_by_kind(app, tree, client, login):
    login("c01_all")
    html = client.get("/t/C01/settings").get_data(as_text=True)
    assert 'name="desk_deadline_days_by_kind.legal_aid"' in html and "法律援助" in html
