"""Hostile and odd input to the archive, through every door it has: the API, the web forms and the importer
all load through ``hardship.archives.schemas``. Each refusal names the field, writes nothing, and leaves the
archive readable."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from hardship.archives.importing.columns import COLUMNS
from hardship.archives.models import Household, HouseholdEvent, Objection, Person, Survey
from hardship.core import crypto
from hardship.core.db import db
from tests.conftest import csrf_from, system
from tests.fixtures.households import household_body, make_id

#: what a Chinese input method types for 0-9 and X
FULL_WIDTH = str.maketrans({**{str(i): chr(0xFF10 + i) for i in range(10)}, "X": "Ｘ"})
ARABIC_INDIC = str.maketrans({str(i): chr(0x0660 + i) for i in range(10)})
HEAD = make_id()


@pytest.fixture
def archive(tree, api_as):
    """Clerks in two counties, and one open household of E0101001 (head ``HEAD``)."""
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("E0201001", roles=("clerk",), username="e2_clerk")
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("approver",), username="k_approver")
    resp = _post(api_as("e_clerk"), "/api/v1/households", household_body(head_id=HEAD))
    assert resp.status_code == 201, resp.json
    tree.household = resp.json["id"]
    return tree


def _counts(app) -> tuple:
    with system(app):
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Household, Person, HouseholdEvent, Survey, Objection))


def _post(api, url: str, body) -> object:
    """POST ``body`` as JSON text with ``\\u`` escapes, as a client would send a lone surrogate."""
    return api.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"})


def _still_readable(api_as, hid: int) -> None:
    api = api_as("k_clerk")
    detail = api.get(f"/api/v1/households/{hid}")
    assert detail.status_code == 200 and detail.json["head"]["name"] == "张三"
    listed = api.get("/api/v1/households?tenant=K0101")
    assert listed.status_code == 200 and [h["id"] for h in listed.json["households"]] == [hid]


def _refused(app, api_as, archive, send, status, field, before=None):
    """``send()`` is refused with ``status`` naming ``field``; nothing is written; the archive still reads."""
    before = before or _counts(app)
    resp = send()
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    if field is not None:
        assert field in resp.json["error"]["fields"], resp.json
    assert _counts(app) == before
    _still_readable(api_as, archive.household)
    return resp


# ---------------------------------------------------------------- the API

def test_a_full_width_copy_of_an_open_head_is_a_conflict_naming_only_the_union(app, api_as, archive):
    copy = HEAD.translate(FULL_WIDTH)
    assert copy != HEAD
    body = household_body("E0201001", head_id=copy)
    resp = _refused(app, api_as, archive, lambda: _post(api_as("e2_clerk"), "/api/v1/households", body),
                    409, "head.id_number")
    error = resp.json["error"]
    assert "E0101001工会" in error["message"] and list(error["fields"]) == ["head.id_number"]
    text = resp.get_data(as_text=True)
    assert "张三" not in text and HEAD not in text and "13812345678" not in text


def test_an_id_number_in_arabic_indic_digits_is_refused(app, api_as, archive):
    body = household_body("E0201001", head_id=make_id().translate(ARABIC_INDIC))
    _refused(app, api_as, archive, lambda: _post(api_as("e2_clerk"), "/api/v1/households", body),
             422, "head.id_number")


def _with(path: str, value) -> dict:
    body = household_body("E0201001")
    node = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value
    return body


@pytest.mark.parametrize("bad", ["\ud800", "\udfff张", "张\x01三", "张\x1b三", "张\x7f", "张\u0085三", "张\x0b"])
@pytest.mark.parametrize(("path", "field"), [
    ("head.name", "head.name"), ("reasons", "reasons"), ("needs", "needs"), ("address", "address"),
    ("bank.name", "bank.name"), ("cadres.first", "cadres.first"), ("head.job", "head.job"),
])
def test_broken_text_in_a_registration_is_refused(app, api_as, archive, bad, path, field):
    """Lone surrogates (which could be stored but never encoded again) and control characters."""
    body = _with(path, [bad] if path == "reasons" else bad)
    _refused(app, api_as, archive, lambda: _post(api_as("e2_clerk"), "/api/v1/households", body), 422, field)


@pytest.mark.parametrize("bad", ["\ud800", "核实\x08有出租", "\x1b[31m"])
def test_broken_text_in_a_note_is_refused(app, api_as, archive, bad):
    hid = archive.household
    api = api_as("k_clerk")
    before = _counts(app)
    _refused(app, api_as, archive, lambda: _post(api, f"/api/v1/households/{hid}/surveys", {
        "visited_on": "2026-01-05", "visitors": ["王五"], "findings": bad, "income_per_capita": "1.00"}),
        422, "findings", before)
    _refused(app, api_as, archive, lambda: _post(api, f"/api/v1/households/{hid}/surveys", {
        "visited_on": "2026-01-05", "visitors": [bad], "findings": "属实", "income_per_capita": "1.00"}),
        422, "visitors", before)
    _refused(app, api_as, archive, lambda: _post(api, f"/api/v1/households/{hid}/objections", {"text": bad}),
             422, "text", before)
    _refused(app, api_as, archive, lambda: _post(api_as("k_approver"),
        f"/api/v1/households/{hid}/transitions", {"action": "reject", "reason": bad}), 422, "reason", before)


def test_a_note_keeps_its_line_breaks_and_tabs(app, api_as, archive):
    hid = archive.household
    resp = _post(api_as("k_clerk"), f"/api/v1/households/{hid}/surveys", {
        "visited_on": "2026-01-05", "visitors": "王五，赵六", "findings": "第一行\r\n第二行\t附注", "income_per_capita": 0})
    assert resp.status_code == 201, resp.json
    detail = api_as("k_clerk").get(f"/api/v1/households/{hid}").json
    assert detail["surveys"][0]["findings"] == "第一行\r\n第二行\t附注"
    assert detail["surveys"][0]["visitors"] == ["王五", "赵六"]


@pytest.mark.parametrize(("path", "value", "field"), [
    ("reasons", [{"a": 1}], "reasons"), ("reasons", "illness", "reasons"), ("reasons", [], "reasons"),
    ("category", ["deep"], "category"), ("category", 1, "category"),
    ("head", [1], "head"), ("head", "张三", "head"), ("members", "x", "members"), ("members", {"0": {}}, "members"),
    ("members", [1], "members.0"), ("head.name", ["张三"], "head.name"), ("head.name", 12, "head.name"),
    ("head.id_number", 130102197506150011, "head.id_number"), ("head.phone", 13812345678, "head.phone"),
    ("bank", ["工行"], "bank"), ("bank.card_number", 6222020200112233446, "bank.card_number"),
    ("income_per_capita", {"yuan": 1}, "income_per_capita"), ("income_per_capita", True, "income_per_capita"),
    ("head.model_worker", [], "head.model_worker"), ("tenant", ["E0201001"], "tenant"),
    ("address", None, "address"), ("needs", {"x": 1}, "needs"), ("cadres", "王五", "cadres"),
])
def test_wrong_json_types_are_refused_naming_the_field(app, api_as, archive, path, value, field):
    body = _with(path, value)
    resp = _refused(app, api_as, archive, lambda: _post(api_as("e2_clerk", lang="en"), "/api/v1/households", body),
                    422, field)
    assert all(isinstance(m, str) for messages in resp.json["error"]["fields"].values() for m in messages)


def test_a_nul_anywhere_in_a_body_is_malformed(app, api_as, archive):
    """PostgreSQL text cannot hold NUL: refused before any schema (hardship.core.security), as malformed."""
    for path in ["head.name", "needs", "cadres.first"]:
        body = _with(path, "张\x00三")
        _refused(app, api_as, archive, lambda body=body: _post(api_as("e2_clerk"), "/api/v1/households", body),
                 400, None)


def test_a_body_nested_five_thousand_deep_is_malformed(app, api_as, archive):
    api = api_as("e2_clerk")
    for body in ["[" * 5000, "[" * 5000 + "]" * 5000, '{"head":' * 5000, '["\\u0000",' + "[" * 5000,
                 '{"a": "\\u0000", "b":' + "[" * 5000 + "]" * 5000 + "}"]:
        _refused(app, api_as, archive, lambda body=body: api.post(
            "/api/v1/households", data=body, headers={"Content-Type": "application/json"}), 400, None)


@pytest.mark.parametrize(("amount", "fen"), [("１００", 10000), ("１２０．５", 12050), (" 100 ", 10000), (100, 10000),
                                             ("0", 0), ("1,200.50", 120050)])
def test_amounts_fold_to_fen(app, api_as, archive, amount, fen):
    body = household_body("E0201001", income_per_capita=amount)
    resp = _post(api_as("e2_clerk"), "/api/v1/households", body)
    assert resp.status_code == 201, resp.json
    assert resp.json["income_per_capita"] == f"{fen // 100}.{fen % 100:02d}"


@pytest.mark.parametrize("amount", ["100.5.5", "1e3", "1E3", 1e3, 100.5, "１e３", "٣٠٠", "100.123", "-1", "0x10",
                                    "NaN", "Infinity", "", "¥100", "1_000"])
def test_amounts_that_are_not_plain_yuan_are_refused(app, api_as, archive, amount):
    body = household_body("E0201001", income_per_capita=amount)
    _refused(app, api_as, archive, lambda: _post(api_as("e2_clerk"), "/api/v1/households", body),
             422, "income_per_capita")


@pytest.mark.parametrize("year", [2026.5, 2026.0, "2026.5", True, "２０２６年", "٢٠٢٦", [2026], 1999, 2101])
def test_a_year_that_is_not_a_whole_year_is_refused(app, api_as, archive, year):
    hid = archive.household
    _refused(app, api_as, archive, lambda: _post(api_as("k_approver"),
        f"/api/v1/households/{hid}/transitions", {"action": "relieve", "reason": "x", "year": year}),
        422, "year")


def test_search_takes_percent_and_underscore_literally(app, api_as, archive):
    api = api_as("k_clerk")

    def found(q):
        resp = api.get("/api/v1/households", query_string={"tenant": "K0101", "q": q})
        assert resp.status_code == 200, resp.json
        return resp.json["total"]

    assert found("张") == 1
    for q in ["%", "_", "%%", "张%", "_三", "\\", "\\%"]:
        assert found(q) == 0, q
    body = household_body("E0101001", head_id=make_id())
    body["head"]["name"] = "李_100%"
    assert _post(api_as("e_clerk"), "/api/v1/households", body).status_code == 201
    assert (found("%"), found("_"), found("_1"), found("0%"), found("李_100%"), found("李%")) == (1, 1, 1, 1, 1, 0)
    assert found("张") == 1


@pytest.mark.parametrize("q", ["张\x01", "\x1b", "张\u0085", "x" * 51])
def test_bad_search_text_is_refused(app, api_as, archive, q):
    resp = api_as("k_clerk").get("/api/v1/households", query_string={"tenant": "K0101", "q": q})
    assert resp.status_code == 422 and "q" in resp.json["error"]["fields"]


# ---------------------------------------------------------------- the web forms

def _registration(head_id: str, **overrides) -> dict:
    data = {"tenant": "E0201001", "head_name": "刘洋", "head_id_number": head_id, "head_phone": "13912345678",
            "category": "deep", "primary_reason": "illness", "income_per_capita": "620.50",
            "subsistence": "none", "medical_insurance": "employee", "address": "石家庄市长安区中山东路8号"}
    data.update(overrides)
    return data


def _post_form(client, url, data):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _error_at(html: str, field_id: str) -> str:
    return html.split(f'id="{field_id}"')[1].split("</td>")[0].split('<div class="field')[0]


def zh(app, msgid: str, **kw) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return gettext(msgid, **kw)


def test_the_form_refuses_a_full_width_copy_naming_the_union(app, client, login, api_as, archive):
    login("e2_clerk")
    url = "/t/E0201001/archive/new"
    before = _counts(app)
    resp = _post_form(client, url, _registration(HEAD.translate(FULL_WIDTH)))
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "E0101001工会" in _error_at(html, "head_id_number") and "张三" not in html
    assert _counts(app) == before
    _still_readable(api_as, archive.household)


@pytest.mark.parametrize(("overrides", "field", "msgid"), [
    ({"head_id_number": make_id().translate(ARABIC_INDIC)}, "head_id_number",
     "An ID number has 18 characters: 17 digits and a digit or X (or 15 digits)."),
    ({"head_name": "刘\x01洋"}, "head_name",
     "Contains characters that are not allowed (control characters or broken text)."),
    ({"head_name": "12345"}, "head_name", "Not a valid name."),
    ({"address": "中山东路\x1b8号"}, "address",
     "Contains characters that are not allowed (control characters or broken text)."),
    ({"income_per_capita": "100.5.5"}, "income_per_capita",
     "Not an amount: write yuan with at most two decimals, e.g. 600.00."),
    ({"member_2_name": "周丽", "member_2_id_number": "123"}, "member_2_id_number",
     "An ID number has 18 characters: 17 digits and a digit or X (or 15 digits)."),
    ({"member_2_name": "周丽", "member_2_id_number": make_id(), "member_2_relation": "spouse",
      "member_2_income": "1e3"}, "member_2_income", "Not an amount: write yuan with at most two decimals, e.g. 600.00."),
])
def test_the_form_shows_each_message_at_its_field_in_chinese(app, client, login, api_as, archive, overrides, field,
                                                             msgid):
    login("e2_clerk")
    url = "/t/E0201001/archive/new"
    before = _counts(app)
    resp = _post_form(client, url, _registration(make_id(), **overrides))
    assert resp.status_code == 422
    message = zh(app, msgid)
    assert message != msgid and message in _error_at(resp.get_data(as_text=True), field)
    assert _counts(app) == before
    _still_readable(api_as, archive.household)


def test_the_form_folds_full_width_amounts_and_ids(app, client, login, archive):
    login("e2_clerk")
    url = "/t/E0201001/archive/new"
    number = make_id()
    resp = _post_form(client, url, _registration(number.translate(FULL_WIDTH), income_per_capita="１００"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with system(app):
        h = db.session.scalar(sa.select(Household).where(Household.id == int(resp.headers["Location"].rsplit("/", 1)[1])))
        assert h.income_per_capita == 10000
        assert h.head.id_index == crypto.blind_index(number)


def test_the_list_page_takes_percent_and_underscore_literally(app, client, login, archive):
    login("k_clerk")
    for q, rows in [("张", 1), ("%", 0), ("_", 0), ("%25", 0)]:
        resp = client.get("/t/K0101/archive", query_string={"q": q})
        assert resp.status_code == 200
        assert resp.get_data(as_text=True).count('<tr data-id="') == rows, q
    bad = client.get("/t/K0101/archive", query_string={"q": "张\x01"})
    assert bad.status_code == 422 and "<tr data-id=" not in bad.get_data(as_text=True)
    assert zh(app, "Contains characters that are not allowed (control characters or broken text).") in \
        bad.get_data(as_text=True).split('id="q"')[1].split('<div class="field')[0]


def test_the_relief_form_refuses_a_fractional_year(app, client, login, archive):
    with system(app):
        h = db.session.get(Household, archive.household)
        h.status = "archived"
        db.session.commit()
    login("k_approver")
    page = f"/t/K0101/archive/{archive.household}"
    before = _counts(app)
    token = csrf_from(client.get(page).get_data(as_text=True))
    resp = client.post(f"{page}/transition", data={"relieve-csrf_token": token, "action": "relieve",
                                                   "relieve-year": "2026.5", "relieve-reason": "当年解困"})
    assert resp.status_code == 422
    assert zh(app, "A four-digit year, e.g. 2026.") in resp.get_data(as_text=True).split('id="action-relieve"')[1]
    assert _counts(app) == before


# ---------------------------------------------------------------- the importer

def _csv(rows: list[dict]) -> bytes:
    headers = [c.header for c in COLUMNS]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode("utf-8")


def _row(number: str, **overrides) -> dict:
    row = {"户主姓名": "刘洋", "身份证号": number, "联系电话": "13912345678", "所在单位编码": "E0201001",
           "困难类别": "深度困难", "致困原因": "因病", "家庭人均月收入": "620.50", "家庭住址": "石家庄市长安区中山东路8号"}
    row.update(overrides)
    return row


def _import(api_as, rows: list[dict]) -> dict:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    api = api_as("e2_clerk", lang="en")
    boundary, body = encode_multipart({"tenant": "E0201001",
                                       "file": FileStorage(io.BytesIO(_csv(rows)), filename="households.csv")})
    resp = api.request("POST", "/api/v1/imports/households", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = api.get(f"/api/v1/jobs/{resp.json['job']}")
    assert job.status_code == 200
    return job.json


def test_the_importer_refuses_what_the_api_refuses(app, api_as, archive):
    before = _counts(app)
    rows = [
        _row(HEAD.translate(FULL_WIDTH)),  # row 2: the open head, typed full-width
        _row(make_id().translate(ARABIC_INDIC)),  # row 3
        _row(make_id(), 户主姓名="刘\x01洋"),  # row 4
        _row(make_id(), 家庭住址="中山东路\x1b8号"),  # row 5
        _row(make_id(), 家庭人均月收入="100.5.5"),  # row 6
        _row(make_id(), 家庭人均月收入="1e3"),  # row 7
        _row(make_id(), 诉求="医疗\x07救助"),  # row 8
        _row(make_id(), 成员2姓名="周丽", 成员2身份证号="1.30102E+17", 成员2与户主关系="配偶"),  # row 9
    ]
    job = _import(api_as, rows)
    assert job["imported"] == 0 and job["rejected_rows"] == len(rows), job
    verdicts = {(v["row"], v["field"]): v["message"] for v in job["rejected"]}
    assert set(verdicts) == {(2, "head.id_number"), (3, "head.id_number"), (4, "head.name"), (5, "address"),
                             (6, "income_per_capita"), (7, "income_per_capita"), (8, "needs"),
                             (9, "members.1.id_number")}
    assert "E0101001工会" in verdicts[(2, "head.id_number")] and "张三" not in str(job)
    assert "Excel" in verdicts[(9, "members.1.id_number")]
    assert _counts(app) == before
    _still_readable(api_as, archive.household)


def test_the_importer_folds_full_width_amounts(app, api_as, archive):
    number = make_id()
    job = _import(api_as, [_row(number.translate(FULL_WIDTH), 家庭人均月收入="１００", 成员1姓名="周丽",
                                成员1身份证号=make_id(), 成员1与户主关系="配偶", 成员1月收入="１２０．５")])
    assert job["imported"] == 1 and job["rejected_rows"] == 0, job
    with system(app):
        h = db.session.scalar(sa.select(Household).where(Household.import_key.is_not(None)))
        assert h.income_per_capita == 10000 and [p.income for p in h.people] == [0, 12050]


@pytest.mark.parametrize(("tenant", "field"), [("E0201001\x01", "tenant"), ("", "tenant"), ("x" * 200, "tenant")])
def test_the_import_upload_names_a_bad_tenant(app, api_as, archive, tenant, field):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({"tenant": tenant, "file": FileStorage(io.BytesIO(_csv([_row(make_id())])),
                                                                             filename="households.csv")})
    _refused(app, api_as, archive, lambda: api_as("e2_clerk").request(
        "POST", "/api/v1/imports/households", data=body, content_type=f"multipart/form-data; boundary={boundary}"),
        422, field)


@pytest.mark.parametrize(("page", "status"), [("1", 200), ("１", 200), ("٢", 422), ("2.5", 422), ("0", 422),
                                              ("1e2", 422), ("", 200), ("99999999999", 422)])
def test_the_list_page_is_a_whole_number_in_ascii_digits(api_as, archive, page, status):
    resp = api_as("k_clerk").get("/api/v1/households", query_string={"tenant": "K0101", "page": page})
    assert resp.status_code == status, resp.json
    if status == 422:
        assert list(resp.json["error"]["fields"]) == ["page"]
