"""Bulk import of households (SPEC 3.7): exact verdicts per row for csv and xlsx, idempotent re-runs,
an interrupted import completed by running the file again, refused files, permissions, the template,
the upload page and job page, the command line, and a real RQ worker."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from hardship.archives.importing import columns, files, job, landing
from hardship.archives.importing.models import ImportUpload
from hardship.archives.models import Household, HouseholdEvent, Person
from hardship.audit.models import AuditEvent
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.idcard import check_char, luhn_ok
from hardship.core.xlsx import Workbook
from hardship.jobs.models import Job
from tenants.models import Tenant
from tests.conftest import csrf_from, system
from tests.fixtures.households import household_body, unique_id

HEADERS = [c.header for c in columns.COLUMNS]
IMPORT_URL = "/api/v1/imports/households"

# people who are already in an open household before the import
ELSEWHERE_HEAD = unique_id(90001)  # head of a household of E0201001 (another county)
ELSEWHERE_MEMBER = unique_id(90002)  # member of that household
SAME_COUNTY_HEAD = unique_id(90003)  # head of a household of E0101001, registered through the API


def card(n: int) -> str:
    """A 19-digit card number that passes the Luhn check."""
    base = f"622202{n:012d}"
    for digit in "0123456789":
        if luhn_ok(base + digit):
            return base + digit
    raise AssertionError


def bad_check_char(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def impossible_date_id() -> str:
    base = "130102" + "19490231" + "001"
    return base + check_char(base)


@dataclass
class Sheet:
    """The rows of a test file: ``rows[i]`` is spreadsheet row ``i + 2`` (None: a blank row)."""

    rows: list
    expected: set = field(default_factory=set)  # {(row, field)}
    bad_rows: set = field(default_factory=set)
    heads: dict = field(default_factory=dict)  # head ID of every row that must be imported -> tenant code
    numeric_cells: dict = field(default_factory=dict)  # (row, header) -> number to write as a number in xlsx

    @property
    def imported(self) -> int:
        return len(self.heads)

    def valid_rows_among(self, rows) -> int:
        return sum(1 for r in rows if r not in self.bad_rows)


def _valid(i: int) -> dict:
    codes = ["", "E0101001", "e0101001", "K0101"]
    row = {
        "户主姓名": f"职工{i}" if i % 7 else f"阿依古丽·买买提{i}", "身份证号": unique_id(i),
        "联系电话": f"138{i:08d}" if i % 9 else "0311-86012345", "所在单位编码": codes[i % 4],
        "工作岗位": "钳工", "是否工会会员": ["是", "", "否"][i % 3], "是否劳模": "否" if i % 11 else "是",
        "劳模级别": "" if i % 11 else "市级", "是否农民工": "", "困难类别": ["深度困难", "relative", "意外致困"][i % 3],
        "致困原因": ["因病、低收入", "illness,low_income", "因残，单亲", "下岗失业"][i % 4],
        "家庭人均月收入": ["850.00", "0", "1200.5", "600"][i % 4], "低保情况": ["", "低保", "无"][i % 3],
        "医疗保险": ["", "城乡居民医保", "职工医保"][i % 3], "家庭住址": f"石家庄市长安区建设北大街{i}号",
        "开户银行": "中国工商银行" if i % 6 else "", "银行卡号": card(i) if i % 6 else "", "诉求": "医疗救助" if i % 2 else "",
        "第一责任人": "王五", "第二责任人": "",
    }
    if i % 5 == 1:  # one member
        row.update({"成员1姓名": f"家属{i}", "成员1身份证号": unique_id(10000 + i), "成员1与户主关系": ["配偶", "child", "子女"][i % 3],
                    "成员1健康状况": "健康", "成员1就学就业情况": "在读", "成员1月收入": "0"})
    if i % 50 == 3:  # two members, in groups 1 and 3
        row.update({"成员1姓名": f"配偶{i}", "成员1身份证号": unique_id(20000 + i), "成员1与户主关系": "配偶",
                    "成员3姓名": f"孩子{i}", "成员3身份证号": unique_id(30000 + i), "成员3与户主关系": "子女"})
    return row


def build_sheet(n: int = 1000) -> Sheet:
    """``n`` households (spreadsheet rows 2..), a blank row in the middle, and bad rows of every kind."""
    sheet = Sheet(rows=[])
    bad: dict[int, tuple[dict, set[str]]] = {
        8: ({"身份证号": bad_check_char(unique_id(8))}, {"head.id_number"}),
        9: ({"身份证号": impossible_date_id()}, {"head.id_number"}),
        10: ({"联系电话": "12345"}, {"head.phone"}),
        11: ({"困难类别": "很困难"}, {"category"}),
        12: ({"致困原因": "因病、因懒"}, {"reasons"}),
        13: ({"家庭人均月收入": "-5"}, {"income_per_capita"}),
        14: ({"家庭人均月收入": "850.123"}, {"income_per_capita"}),
        15: ({"开户银行": "工行", "银行卡号": "6222020200"}, {"bank.card_number"}),
        16: ({"所在单位编码": "E9999999"}, {"tenant"}),
        17: ({"所在单位编码": "E0201001"}, {"tenant"}),  # a real union outside the subtree
        18: ({"身份证号": unique_id(0)}, {"head.id_number"}),  # the same person as row 2
        19: ({"身份证号": ELSEWHERE_HEAD}, {"head.id_number"}),  # archived in another county
        20: ({"成员1姓名": "某某", "成员1身份证号": ELSEWHERE_MEMBER, "成员1与户主关系": "配偶"}, {"members.0.id_number"}),
        21: ({"联系电话": "1234", "困难类别": "poor"}, {"head.phone", "category"}),
        22: ({"成员1姓名": "某某", "成员1身份证号": unique_id(40022), "成员1与户主关系": "朋友"}, {"members.0.relation"}),
        23: ({"成员1姓名": "某某", "成员1身份证号": unique_id(10001), "成员1与户主关系": "配偶"},
             {"members.0.id_number"}),  # the member of row 3
        24: ({"身份证号": "1.30102E+17"}, {"head.id_number"}),  # Excel rounded it
        25: ({"成员2姓名": "无证件", "成员2与户主关系": "子女"}, {"members.1.id_number"}),
        26: ({"是否劳模": "也许"}, {"head.model_worker"}),
        27: ({"开户银行": "工行", "银行卡号": "6222020200112233445"}, {"bank.card_number"}),  # Luhn, unconfirmed
        29: ({"家庭住址": ""}, {"address"}),
        30: ({"身份证号": SAME_COUNTY_HEAD}, {"head.id_number"}),  # archived in this county already
        31: ({"户主姓名": ""}, {"head.name"}),
        32: ({"成员1姓名": "某某", "成员1身份证号": unique_id(32), "成员1与户主关系": "配偶"},
             {"members.0.id_number"}),  # the head twice in one household
        777: ({"所在单位编码": "K0201"}, {"tenant"}),
        998: ({"身份证号": unique_id(500)}, {"head.id_number"}),  # the same person as row 502, far above
    }
    for i in range(n):
        if i == 480:
            sheet.rows.append(None)
        row = _valid(i)
        overrides, fields = bad.get(i, ({}, set()))
        row.update(overrides)
        number = len(sheet.rows) + 2
        if i == 28:  # Luhn failure confirmed by the clerk: accepted
            row.update({"开户银行": "工行", "银行卡号": "6222020200112233445", "银行卡号已核对": "是"})
        if i == 24:
            sheet.numeric_cells[(number, "身份证号")] = 130102197506150011
        sheet.rows.append(row)
        if fields:
            sheet.bad_rows.add(number)
            sheet.expected |= {(number, f) for f in fields}
        else:
            sheet.heads[row["身份证号"]] = (row["所在单位编码"] or "K0101").upper()
    assert len(set(sheet.heads)) == len(sheet.heads)
    return sheet


def to_csv(sheet: Sheet, encoding: str = "gb18030") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in sheet.rows:
        writer.writerow([] if row is None else [row.get(h, "") for h in HEADERS])
    return out.getvalue().encode(encoding)


def to_xlsx(sheet: Sheet, title_row: bool = False) -> bytes:
    book = Workbook()
    ws = book.sheet("困难职工", HEADERS, header=False)
    if title_row:  # a title above the header, as many county files have
        ws.append(["2026年困难职工家庭名单"])
    ws.append(HEADERS)
    for i, row in enumerate(sheet.rows, start=1):
        numbers = [sheet.numeric_cells.get((i + 1, header)) for header in HEADERS]
        # an ID typed into a General cell is a number
        ws.append([] if row is None else [row.get(h, "") if n is None else n for h, n in zip(HEADERS, numbers, strict=True)],
                  kinds=None if row is None else ["text" if n is None else "integer" for n in numbers])
    return book.close()


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def county(tree, api_as):
    """Clerks on the tree, and the people archived before the import."""
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("auditor",), username="k_auditor")
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    tree.user("E0201001", roles=("clerk",), username="e2_clerk")
    resp = api_as("e2_clerk").post("/api/v1/households", json=household_body(
        "E0201001", head_id=ELSEWHERE_HEAD, members=[ELSEWHERE_MEMBER]))
    assert resp.status_code == 201, resp.json
    resp = api_as("e_clerk").post("/api/v1/households", json=household_body("E0101001", head_id=SAME_COUNTY_HEAD))
    assert resp.status_code == 201, resp.json
    return tree


def multipart(fields: dict, data: bytes, name: str) -> dict:
    """Request arguments for a multipart body built in memory (the test client spools a large body to a
    temporary file that it leaves open)."""
    boundary, body = encode_multipart({**fields, "file": FileStorage(io.BytesIO(data), filename=name)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(api, data: bytes, name: str, tenant: str = "K0101"):
    return api.request("POST", IMPORT_URL, **multipart({"tenant": tenant}, data, name))


def run_import(api, data: bytes, name: str, tenant: str = "K0101") -> dict:
    resp = upload(api, data, name, tenant)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = api.get(f"/api/v1/jobs/{resp.json['job']}")
    assert job.status_code == 200
    return job.json


def verdict_set(job: dict) -> set:
    return {(v["row"], v["field"]) for v in job["rejected"]}


def count(app, model, *where) -> int:
    with system(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def imported_heads(app) -> dict:
    """Head ID -> tenant code of every imported household."""
    with system(app):
        rows = db.session.execute(
            sa.select(Person.id_enc, Person.row_key, Tenant.code).join(Household, Household.id == Person.household_id)
            .join(Tenant, Tenant.id == Household.tenant_id)
            .where(Person.role == "head", Household.import_key.is_not(None))).all()
        return {crypto.decrypt(enc, "persons.id", row_key): code for enc, row_key, code in rows}


def gettext_in(app, locale: str, msgid: str, **kw) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **kw)


# ---------------------------------------------------------------- exact verdicts, csv and xlsx

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_thousand_rows_exact_verdicts(app, county, api_as, kind):
    sheet = build_sheet()
    data = to_csv(sheet) if kind == "csv" else to_xlsx(sheet)
    job = run_import(api_as("k_clerk"), data, f"名单.{kind}")
    assert job["status"] == "finished", job
    assert job["total"] == 1000 and job["rows"] == 1000 and job["progress"] == 1.0
    assert verdict_set(job) == sheet.expected
    assert job["rejected_rows"] == len(sheet.bad_rows) and job["rejected_complete"] is True
    assert job["imported"] == sheet.imported == 1000 - len(sheet.bad_rows)
    assert job["already_imported"] == 0 and job["ignored_columns"] == []
    assert imported_heads(app) == sheet.heads

    by_row = {}
    for v in job["rejected"]:
        by_row.setdefault(v["row"], {})[v["field"]] = v
    # the row is the spreadsheet's (the blank row 482 shifts the rows below it), the column the file's header
    assert (1001, "head.id_number") in sheet.expected and sheet.rows[501]["身份证号"] == unique_id(500)
    assert by_row[1001]["head.id_number"]["column"] == "身份证号"
    assert "503" in by_row[1001]["head.id_number"]["message"]  # the row it repeats
    assert by_row[24]["members.0.relation"]["column"] == "成员1与户主关系"
    assert by_row[27]["members.1.id_number"]["column"] == "成员2身份证号"
    assert "E0201001工会" in by_row[21]["head.id_number"]["message"]  # names the holding union
    assert "E9999999" in by_row[18]["tenant"]["message"]
    assert by_row[19]["tenant"]["message"] == by_row[18]["tenant"]["message"].replace("E9999999", "E0201001")
    # messages are in Chinese by default (the job runs in the uploader's language)
    assert by_row[10]["head.id_number"]["message"] == gettext_in(
        app, "zh_Hans_CN", "The check character of the ID number is wrong.")
    assert "Excel" in by_row[26]["head.id_number"]["message"]

    # what landed: people, history, audit, and no personal data in clear; the file itself is gone
    with system(app):
        k0101 = db.session.scalar(sa.select(Tenant.id).where(Tenant.code == "K0101"))
        households = db.session.scalars(sa.select(Household).where(Household.import_key.is_not(None))).all()
        assert {h.archive_tenant_id for h in households} == {k0101}
        assert {h.status for h in households} == {"applied"}
        two_members = next(h for h in households if h.head_name == "职工53")
        assert [(p.role, p.name, p.relation) for p in two_members.people] == [
            ("head", "职工53", "self"), ("member", "配偶53", "spouse"), ("member", "孩子53", "child")]
        assert (two_members.category, two_members.primary_reason, two_members.secondary_reasons,
                two_members.income_per_capita) == ("accident", "illness", ["low_income"], 0)
        assert sum(not h.card_luhn_ok for h in households) == 1  # row 30: confirmed by the clerk
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HouseholdEvent)
                                 .where(HouseholdEvent.action == "import")) == sheet.imported
        batches = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.import")).all()
        assert sum(len(e.detail["households"]) for e in batches) == sheet.imported and len(batches) == 2
        assert db.session.scalar(sa.select(ImportUpload.content_enc)) is None
        raw = repr(db.session.execute(sa.text("select * from household_persons")).all()) + repr(
            db.session.execute(sa.text("select * from households")).all())
    assert unique_id(2) not in raw and "13800000002" not in raw and card(2) not in raw

    # the verdicts as xlsx, for the person who started the import only
    out = api_as("k_clerk").get(f"/api/v1/jobs/{job['id']}/output")
    assert out.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(out.data), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert {(r[0], r[2]) for r in rows[1:]} == sheet.expected and len(rows) == len(sheet.expected) + 1
    summary = dict(list(book.worksheets[1].iter_rows(values_only=True)))
    assert sheet.imported in summary.values() and len(sheet.bad_rows) in summary.values()
    book.close()
    assert api_as("c01_all").get(f"/api/v1/jobs/{job['id']}/output").status_code == 403


def test_utf8_csv_with_and_without_bom_and_title_row(app, county, api_as):
    sheet = build_sheet(60)
    api = api_as("k_clerk")
    plain = run_import(api, to_csv(sheet, "utf-8"), "a.csv")
    assert plain["status"] == "finished" and verdict_set(plain) == sheet.expected
    assert plain["imported"] == sheet.imported
    again = run_import(api, to_csv(sheet, "utf-8-sig"), "b.csv")
    assert again["imported"] == 0 and again["already_imported"] == sheet.imported
    assert verdict_set(again) == sheet.expected
    # a title row above the header moves every row number down by one
    titled = run_import(api, to_xlsx(sheet, title_row=True), "c.xlsx")
    assert verdict_set(titled) == {(row + 1, f) for row, f in sheet.expected}
    assert titled["already_imported"] == sheet.imported


def test_english_verdicts_follow_the_uploader(app, county, api_as):
    sheet = build_sheet(12)
    job = run_import(api_as("k_clerk", lang="en"), to_csv(sheet), "x.csv")
    messages = {(v["row"], v["field"]): v["message"] for v in job["rejected"]}
    assert messages[(10, "head.id_number")] == "The check character of the ID number is wrong."
    assert messages[(12, "head.phone")].startswith("A mobile number")


# ---------------------------------------------------------------- idempotency and interruption

def test_same_file_twice_imports_nothing_new(app, county, api_as):
    sheet = build_sheet(300)
    data = to_xlsx(sheet)
    api = api_as("k_clerk")
    first = run_import(api, data, "a.xlsx")
    assert first["imported"] == sheet.imported
    households, people = count(app, Household), count(app, Person)
    second = run_import(api, data, "a.xlsx")
    assert second["status"] == "finished"
    assert second["imported"] == 0 and second["already_imported"] == sheet.imported
    assert verdict_set(second) == sheet.expected  # the same rows are rejected for the same reasons
    assert (count(app, Household), count(app, Person)) == (households, people)
    # another union importing the same people: they are archived already (one person, one archive)
    other = run_import(api_as("e_clerk"), to_csv(build_sheet(5)), "e.csv", tenant="E0101001")
    assert other["imported"] == 0 and {f for _r, f in verdict_set(other)} == {"head.id_number", "tenant", "members.0.id_number"}


def test_interrupted_import_is_completed_by_running_it_again(app, county, api_as, monkeypatch):
    sheet = build_sheet(1000)
    data = to_csv(sheet)
    monkeypatch.setattr(job, "BATCH_SIZE", 100)
    calls = []

    def stop_after_three(batch_number):
        calls.append(batch_number)
        if batch_number == 3:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(job, "_checkpoint", stop_after_three)
    api = api_as("k_clerk")
    broken = run_import(api, data, "a.csv")
    assert broken["status"] == "failed" and calls == [1, 2, 3]
    # what it reported before it died is there, and nothing more
    first_rows = [n for n, row in enumerate(sheet.rows, start=2) if row is not None][:300]
    landed = sheet.valid_rows_among(first_rows)
    assert broken["imported"] == landed == count(app, Household, Household.import_key.is_not(None))
    assert broken["progress"] == 0.3
    with system(app):
        assert db.session.scalar(sa.select(ImportUpload.content_enc)) is None  # not kept after the failure

    monkeypatch.setattr(job, "_checkpoint", lambda n: None)
    rerun = run_import(api, data, "a.csv")
    assert rerun["status"] == "finished"
    assert rerun["already_imported"] == landed and rerun["imported"] == sheet.imported - landed
    assert verdict_set(rerun) == sheet.expected
    assert imported_heads(app) == sheet.heads


def test_someone_registered_meanwhile_is_rejected_and_the_rest_lands(committed, app, county, api_as, monkeypatch):
    """A person of the file is registered by another request after the rows were checked and before their
    batch lands: the unique index refuses that row (with the holder's name), the rest of the batch lands."""
    sheet = build_sheet(20)
    racer = unique_id(5)  # the head of row 7
    real_land = landing.land
    raced = []

    def land_after_a_registration(importer, batch):
        if not raced:
            raced.append(racer)
            _register_elsewhere(app, racer)  # committed on another connection
        return real_land(importer, batch)

    monkeypatch.setattr(landing, "land", land_after_a_registration)
    job = run_import(api_as("k_clerk"), to_csv(sheet), "a.csv")
    assert job["status"] == "finished", job
    assert raced and verdict_set(job) == sheet.expected | {(7, "head.id_number")}
    assert job["imported"] == sheet.imported - 1
    assert "E0201001工会" in next(v["message"] for v in job["rejected"] if v["row"] == 7)
    assert unique_id(5) not in imported_heads(app) and unique_id(6) in imported_heads(app)


def _register_elsewhere(app, number: str) -> None:
    """Register ``number`` in E0201001 on a separate connection (as another request would)."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("select set_config('app.tenant_path', '/', true)"))
            tenant_id = conn.execute(sa.text("select id from tenants where code = 'E0201001'")).scalar()
            household_id = conn.execute(sa.insert(Household.__table__).values(
                tenant_id=tenant_id, archive_tenant_id=tenant_id, status="applied", episode=1, category="deep",
                primary_reason="illness", secondary_reasons=[], income_per_capita=0, subsistence="none",
                medical_insurance="employee", card_luhn_ok=True, needs="", cadre_first="", cadre_second="",
                head_name="抢先", applied_on=sa.func.current_date(), created_at=sa.func.now(),
                updated_at=sa.func.now()).returning(Household.__table__.c.id)).scalar()
            with app.app_context():
                index = crypto.blind_index(number)
                row_key = crypto.new_row_key()
                id_enc = crypto.encrypt(number, "persons.id", row_key)
            conn.execute(sa.insert(Person.__table__).values(
                row_key=row_key, tenant_id=tenant_id, household_id=household_id, role="head", name="抢先", id_enc=id_enc,
                id_index=index, gender="male", birth_date=sa.func.current_date(), relation="self", health="",
                occupation="", income=0, job="", union_member=True, model_worker=False, model_worker_grade="",
                migrant_worker=False, active=True))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- refused files

def _refusal(resp) -> str:
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == "validation_failed"
    return resp.json["error"]["fields"]["file"][0]


def _zip_with(parts: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_oversized_files_are_refused(app, county, api_as, monkeypatch):
    api = api_as("k_clerk", lang="en")
    big = b"x" * (files.MAX_BYTES + 1)
    assert "larger than 20 MB" in _refusal(upload(api, big, "big.csv"))
    # beyond the request limit the server refuses before reading (a raw body: the test client spools a large
    # multipart body to a temporary file that it does not close when the server stops reading)
    too_big_for_the_server = api.request("POST", IMPORT_URL, data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                                         content_type="multipart/form-data; boundary=xyz")
    assert too_big_for_the_server.status_code == 413
    assert "20 MB" in too_big_for_the_server.json["error"]["message"]
    monkeypatch.setattr(files, "MAX_BYTES", 64 * 1024)
    data = to_csv(build_sheet(1000))
    assert len(data) > 64 * 1024
    assert "larger than 64 KB" in _refusal(upload(api, data, "a.csv"))
    # too many rows: refused by the job before anything is written
    monkeypatch.setattr(files, "MAX_BYTES", 20 * 1024 * 1024)
    monkeypatch.setattr(files, "MAX_ROWS", 500)
    for name, payload in [("a.csv", data), ("a.xlsx", to_xlsx(build_sheet(501)))]:
        job = run_import(api, payload, name)
        assert job["status"] == "failed", job
        assert job["error"] == job["refused"] == "The file has more than 500 households; import at most 500 rows at a time."
    assert count(app, Household, Household.import_key.is_not(None)) == 0
    with system(app):
        assert db.session.scalars(sa.select(ImportUpload.content_enc)).all() == [None, None]
    # exactly at the limit is fine
    assert run_import(api, to_xlsx(build_sheet(500)), "b.xlsx")["status"] == "finished"


def test_corrupt_and_disguised_files_are_refused(app, county, api_as, monkeypatch):
    api = api_as("k_clerk", lang="en")
    good_xlsx = to_xlsx(build_sheet(5))
    csv_text = to_csv(build_sheet(5), "utf-8")
    cases = [
        (b"", "a.xlsx", "empty"),
        (csv_text, "a.xlsx", "not an Excel workbook"),  # text named .xlsx
        (good_xlsx[: len(good_xlsx) // 2], "a.xlsx", "damaged"),  # truncated
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "a.xlsx", "old .xls"),
        (_zip_with({"word/document.xml": "<w/>"}), "a.xlsx", "not an Excel workbook"),
        (good_xlsx, "a.xls", "Only .xlsx"),
        (csv_text, "a.txt", "Only .xlsx"),
        (csv_text, "noextension", "Only .xlsx"),
        (good_xlsx, "a.csv", "is an Excel workbook"),
        (b"\x00\x01binary\x00", "a.csv", "not a text file"),
        (b"\xff\xfe\xff\xff\x80", "a.csv", "neither UTF-8 nor GB18030"),
    ]
    for data, name, needle in cases:
        message = _refusal(upload(api, data, name))
        assert needle in message, (name, message)

    # a zip bomb-ish workbook: its parts unpack to more than the limit
    monkeypatch.setattr(files, "MAX_UNPACKED", 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(good_xlsx)) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    bomb = _zip_with({**parts, "xl/media/image1.bin": b"\x00" * (5 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024
    assert "unpacks to more than 1 MB" in _refusal(upload(api, bomb, "bomb.xlsx"))
    # ... and one whose directory understates the sizes: caught by the job's unpacking, before the reader
    liar = _understate_sizes(bomb, "xl/media/image1.bin", 1000)
    job = run_import(api, liar, "liar.xlsx")
    assert job["status"] == "failed" and "damaged" in job["error"], job

    # well-formed archives that are not readable workbooks, and files without the columns
    broken_sheet = _zip_with({**parts, "xl/worksheets/sheet1.xml": "this is not xml <<<"})
    flipped = bytearray(good_xlsx)
    flipped[len(flipped) // 3] ^= 0xFF
    no_header = "姓名,身份证\r\n张三,1\r\n".encode()
    missing = "户主姓名,身份证号,联系电话\r\n张三,1,2\r\n".encode()
    header_only = (",".join(HEADERS) + "\r\n").encode()
    twice = (",".join(HEADERS + ["身份证号"]) + "\r\n").encode()
    for data, name, needle in [
        (broken_sheet, "a.xlsx", "damaged"), (bytes(flipped), "a.xlsx", "damaged"),
        (no_header, "a.csv", "No header row"), (missing, "a.csv", "困难类别、致困原因、家庭人均月收入、家庭住址"),
        (header_only, "a.csv", "no households"), (twice, "a.csv", "appears twice"),
    ]:
        resp = upload(api, data, name)
        if resp.status_code == 422:
            message = _refusal(resp)
        else:
            assert resp.status_code == 202, resp.get_data(as_text=True)
            job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
            assert job["status"] == "failed", job
            message = job["error"]
        assert needle in message, (name, message)
    assert count(app, Household, Household.import_key.is_not(None)) == 0


def _understate_sizes(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size of ``member`` in its local header and in the central directory."""
    blob = bytearray(data)
    name = member.encode()
    local = blob.find(b"PK\x03\x04")
    while local != -1:
        name_len = int.from_bytes(blob[local + 26: local + 28], "little")
        if blob[local + 30: local + 30 + name_len] == name:
            blob[local + 22: local + 26] = size.to_bytes(4, "little")
            break
        local = blob.find(b"PK\x03\x04", local + 4)
    central = blob.find(b"PK\x01\x02")
    while central != -1:
        name_len = int.from_bytes(blob[central + 28: central + 30], "little")
        if blob[central + 46: central + 46 + name_len] == name:
            blob[central + 24: central + 28] = size.to_bytes(4, "little")
            break
        central = blob.find(b"PK\x01\x02", central + 4)
    return bytes(blob)


def test_ignored_columns_and_extra_spaces(app, county, api_as):
    rows = [{**_valid(1), "身份证号": " " + unique_id(1) + " "}]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([" 户主姓名 ", *HEADERS[1:], "备注"])
    writer.writerow([rows[0].get(h, "") for h in HEADERS] + ["随便写"])
    job = run_import(api_as("k_clerk"), out.getvalue().encode("gb18030"), "a.csv")
    assert job["imported"] == 1 and job["ignored_columns"] == ["备注"]


# ---------------------------------------------------------------- who may import

def test_permissions_and_isolation(app, county, api_as):
    data = to_csv(build_sheet(3))
    # the enterprise clerk imports for its own union; codes outside it do not exist for it
    own = build_sheet(3)
    own.rows[0]["所在单位编码"] = "E0101001"
    own.rows[1]["所在单位编码"] = "K0101"
    own.rows[2]["所在单位编码"] = ""
    job = run_import(api_as("e_clerk"), to_csv(own), "e.csv", tenant="E0101001")
    assert job["imported"] == 2 and verdict_set(job) == {(3, "tenant")}
    # roles without the capability, and a city that does not keep the county's archive: 403
    forbidden = upload(api_as("k_auditor"), data, "a.csv")
    assert forbidden.status_code == 403
    city = upload(api_as("c01_all", lang="en"), data, "a.csv")
    assert city.status_code == 403 and "keeping its archive" in city.json["error"]["message"]
    # outside the subtree: the same 404 as a union that does not exist
    for user in ("c02_all", "e0101001_all"):
        resp = upload(api_as(user), data, "a.csv", tenant="K0101")
        absent = upload(api_as(user), data, "a.csv", tenant="ZZ99")
        assert resp.status_code == absent.status_code == 404 and resp.json == absent.json
    # a missing tenant or file is a validation error
    api = api_as("k_clerk")
    no_tenant = api.request("POST", IMPORT_URL, data={"file": (io.BytesIO(data), "a.csv")})
    assert no_tenant.status_code == 422 and "tenant" in no_tenant.json["error"]["fields"]
    no_file = api.request("POST", IMPORT_URL, data={"tenant": "K0101"})
    assert no_file.status_code == 422 and "file" in no_file.json["error"]["fields"]
    json_body = api.post(IMPORT_URL, json={"tenant": "K0101"})
    assert json_body.status_code == 422
    assert api_as().request("POST", IMPORT_URL, data={"tenant": "K0101"}).status_code == 401
    # a job of K0101 is seen by its ancestors, not by a sibling subtree
    assert api_as("c01_all").get(f"/api/v1/jobs/{job['id']}").status_code == 200
    assert api_as("c02_all").get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert count(app, Household, Household.import_key.is_not(None)) == 2


# ---------------------------------------------------------------- the template

def test_template_imports_as_is(app, county, api_as):
    api = api_as("k_clerk")
    resp = api.get("/api/v1/imports/households/template.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
    data_sheet, notes = book.worksheets
    rows = list(data_sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and rows[1][0] == "张三"
    explained = [r[0] for r in notes.iter_rows(min_row=2, max_row=len(HEADERS) + 1, values_only=True)]
    assert explained == HEADERS
    book.close()
    job = run_import(api, resp.data, "template.xlsx")
    assert job["imported"] == 1 and job["rejected"] == []
    with system(app):
        household = db.session.scalar(sa.select(Household).where(Household.import_key.is_not(None)))
        assert (household.category, household.primary_reason, household.secondary_reasons,
                household.income_per_capita) == ("deep", "illness", ["low_income"], 85000)
        assert [(p.name, p.relation) for p in household.people] == [("张三", "self"), ("李四", "spouse")]
    assert api_as().get("/api/v1/imports/households/template.xlsx").status_code == 401


def test_openapi_documents_the_upload(client):
    doc = client.get("/api/v1/openapi.json").json
    body = doc["paths"]["/api/v1/imports/households"]["post"]["requestBody"]["content"]
    schema = body["multipart/form-data"]["schema"]
    ref = schema.get("$ref", "").rsplit("/", 1)[-1]
    props = (doc["components"]["schemas"][ref] if ref else schema)["properties"]
    assert props["file"]["format"] == "binary" and "tenant" in props


# ---------------------------------------------------------------- the pages

def test_upload_page_to_job_page(app, county, client, login):
    login("k_clerk")
    page = client.get("/t/K0101/archive/import")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/t/K0101/archive/import/template.xlsx" in html and 'enctype="multipart/form-data"' in html
    assert 'href="/t/K0101/archive/import"' in html  # in the menu
    template = client.get("/t/K0101/archive/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    token = csrf_from(html)
    empty = client.post("/t/K0101/archive/import", data={"csrf_token": token})
    assert empty.status_code == 422
    bad = client.post("/t/K0101/archive/import", data={"csrf_token": token, "file": (io.BytesIO(b"hello"), "a.xlsx")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "has-error" in bad.get_data(as_text=True)
    sheet = build_sheet(40)
    resp = client.post("/t/K0101/archive/import", data={"csrf_token": token, "file": (io.BytesIO(to_csv(sheet)), "名单.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302 and "/t/K0101/jobs/" in resp.headers["Location"]
    job_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f'id="job-imported">{sheet.imported}<' in job_page
    assert f'id="job-rejected">{len(sheet.bad_rows)}<' in job_page
    assert 'id="job-output"' in job_page and 'id="job-verdicts"' in job_page
    output = client.get(resp.headers["Location"] + "/output")
    assert output.status_code == 200 and output.data[:2] == b"PK"
    listing = client.get("/t/K0101/archive/import").get_data(as_text=True)
    assert "名单.csv" in listing


def test_upload_page_refusals_and_roles(app, county, client, login, monkeypatch):
    login("k_clerk")
    token = csrf_from(client.get("/t/K0101/archive/import").get_data(as_text=True))
    monkeypatch.setattr(files, "MAX_ROWS", 10)
    resp = client.post("/t/K0101/archive/import", data={"csrf_token": token,
                                                        "file": (io.BytesIO(to_csv(build_sheet(11))), "a.csv")},
                       content_type="multipart/form-data")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="job-refused"' in page and 'data-status="failed"' in page
    client.post("/logout", data={"csrf_token": token})
    login("k_auditor")
    assert client.get("/t/K0101/archive/import").status_code == 403
    assert 'archive/import"' not in client.get("/t/K0101/").get_data(as_text=True)


# ---------------------------------------------------------------- the command line

def test_cli_import(app, county, tmp_path):
    sheet = build_sheet(30)
    path = tmp_path / "名单.csv"
    path.write_bytes(to_csv(sheet))
    out = tmp_path / "verdicts.xlsx"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "import-households", "--tenant", "k0101", "--lang", "en",
                                 "--verdicts", str(out), str(path)])
    assert result.exit_code == 0, result.output
    assert f"imported {sheet.imported}, already imported 0, rejected rows {len(sheet.bad_rows)}" in result.output
    assert "row 10: 身份证号 (head.id_number): The check character of the ID number is wrong." in result.output
    assert out.read_bytes()[:2] == b"PK"
    again = runner.invoke(args=["hardship", "import-households", "--tenant", "K0101", str(path)])
    assert again.exit_code == 0 and f"already imported {sheet.imported}" in again.output
    assert count(app, Household, Household.import_key.is_not(None)) == sheet.imported

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    refused = runner.invoke(args=["hardship", "import-households", "--tenant", "K0101", "--lang", "en", str(bad)])
    assert refused.exit_code == 2 and "not an Excel workbook" in refused.output
    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(HEADERS) + "\n", encoding="utf-8")
    refused = runner.invoke(args=["hardship", "import-households", "--tenant", "K0101", "--lang", "en",
                                  str(header_only)])
    assert refused.exit_code == 2 and "no households" in refused.output
    unknown = runner.invoke(args=["hardship", "import-households", "--tenant", "ZZ99", str(path)])
    assert unknown.exit_code == 2 and "ZZ99" in unknown.output


# ---------------------------------------------------------------- a real worker

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_import_on_a_real_worker(rq_worker, county, api_as):
    from redis import Redis
    from rq import Queue

    from tests.conftest import TEST_CONFIG

    app = county.app

    app.config["REDIS_URL"] = REDIS_URL
    queue = Queue(TEST_CONFIG["RQ_QUEUE_PREFIX"] + "imports", connection=Redis.from_url(REDIS_URL))
    queue.delete(delete_jobs=True)
    try:
        sheet = build_sheet(200)
        api = api_as("k_clerk")
        resp = upload(api, to_xlsx(sheet), "a.xlsx")
        assert resp.status_code == 202 and resp.json["status"] == "queued"
        assert queue.count == 1 and count(app, Household, Household.import_key.is_not(None)) == 0
        proc = rq_worker()
        assert proc.returncode == 0, proc.stdout + proc.stderr
        job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
        assert job["status"] == "finished", job
        assert verdict_set(job) == sheet.expected and job["imported"] == sheet.imported
        assert imported_heads(app) == sheet.heads
        assert api.get(f"/api/v1/jobs/{resp.json['job']}/output").status_code == 200
    finally:
        queue.delete(delete_jobs=True)
        app.config["REDIS_URL"] = None


def test_job_row_holds_the_result(app, county, api_as):
    job = run_import(api_as("k_clerk"), to_csv(build_sheet(10)), "a.csv")
    with system(app):
        row = db.session.scalar(sa.select(Job).where(Job.id == job["id"]))
        assert row.queue == "imports" and row.name == "hardship.archives.jobs.import_households"
        assert row.output_name.startswith("a-") and row.output_name.endswith(".xlsx")
