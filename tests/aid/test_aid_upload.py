"""Uploading a batch's items from a real xlsx (and csv): the importer's file reading and verdicts workbook, the
item schema and the checks of ``POST /batches/{id}/items`` row by row, a real RQ worker, the refusals, the
batch page's upload form and job, the command line; and the batch page's list of follow-up visits."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from hardship.aid.models import AidBatchEvent, AidClaim, AidItem
from hardship.archives.importing.models import ImportUpload
from hardship.core.db import db
from hardship.core.xlsx import Column, Workbook
from hardship.jobs.models import Job
from tests.aid.conftest import archived_household, warmth
from tests.conftest import csrf_from, system
from tests.fixtures.households import make_id

HEADERS = ["受助类别", "身份证号", "姓名", "电话", "原因", "金额"]


def to_xlsx(rows: list[list]) -> bytes:
    """A workbook as a county fills it in: a title row above the header, amounts typed as numbers (fen here,
    written as yuan) or as text."""
    book = Workbook()
    sheet = book.sheet("发放名单", [Column(h, "text") for h in HEADERS], header=False)
    sheet.append(["2026年两节送温暖发放名单"])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row, kinds=["text"] * 5 + ["money" if isinstance(row[5], int) else "text"])
    return book.close()


def multipart(data: bytes, name: str) -> dict:
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(api, batch_id: int, data: bytes, name: str = "名单.xlsx"):
    return api.request("POST", f"/api/v1/batches/{batch_id}/items/upload", **multipart(data, name))


def head_id(app, household_id: int) -> str:
    from hardship.archives.models import Person
    from hardship.core import crypto

    with system(app):
        head = db.session.scalar(sa.select(Person).where(Person.household_id == household_id, Person.role == "head"))
        return crypto.decrypt(head.id_enc, "persons.id", head.row_key)


def count(app, model, *where) -> int:
    with system(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def campaign(county, api_as, app):
    """A warmth program of K0101 that allows archived recipients only, archived households of E0101001 (one of
    them a model worker) and a draft batch of E0101001 holding ``taken`` already."""
    program = warmth(api_as, allow_non_archived=False)
    households = {name: archived_household(api_as, name=name, model_worker=name == "劳模甲")
                  for name in ("张三", "劳模甲", "李四", "王五", "钱七", "孙八")}
    ids = {name: head_id(app, h) for name, h in households.items()}
    resp = api_as("e_clerk").post(f"/api/v1/programs/{program['id']}/batches", json={
        "tenant": "E0101001", "items": [{"household": households["王五"], "amount": "600.00"}]})
    assert resp.status_code == 201, resp.json
    return {"program": program, "batch": resp.json["id"], "households": households, "ids": ids}


def good_and_bad_rows(ids: dict) -> tuple[list[list], dict]:
    """Rows 3 and 4 of the sheet are good; every other row has one problem (its row -> the column named)."""
    rows = [
        ["建档困难职工", ids["张三"], "张三", "", "春节慰问", 60000],            # 3: added
        ["困难劳模", ids["劳模甲"], "劳模甲", "", "", "900.00"],                 # 4: added
        ["建档困难职工", make_id(), "无名氏", "", "", "600.00"],                 # 5: not in the archive
        ["非建档", make_id(), "赵六", "13812345678", "临时困难", "600.00"],      # 6: program forbids
        ["建档困难职工", ids["李四"], "李四", "", "", 59999],                    # 7: below the standard
        ["建档困难职工", ids["王五"], "王五", "", "", "600.00"],                 # 8: already in the batch
        ["建档困难职工", ids["钱七"], "钱七", "", "", "六百元"],                 # 9: not an amount
        ["建档困难职工", ids["孙八"], "孙八", "", "春节\x00慰问", "600.00"],     # 10: NUL in a cell
        ["建档困难职工", ids["张三"], "张三", "", "", "600.00"],                 # 11: the same person again
    ]
    expected = {5: "身份证号", 6: "受助类别", 7: "金额", 8: "身份证号", 9: "金额", 10: "原因", 11: "身份证号"}
    return rows, expected


def test_upload_adds_the_good_rows_and_gives_a_verdict_per_bad_row(campaign, api_as, app):
    rows, expected = good_and_bad_rows(campaign["ids"])
    api = api_as("e_clerk")
    batch = campaign["batch"]
    resp = upload(api, batch, to_xlsx(rows))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
    assert job["status"] == "finished", job
    assert job["imported"] == 2 and job["rejected_rows"] == len(expected) and job["total"] == len(rows)
    got = {v["row"]: v for v in job["rejected"]}
    assert {r: v["column"] for r, v in got.items()} == expected
    assert "低于标准" in got[7]["message"] and "600.00" in got[7]["message"]
    assert "不重复救助" in got[8]["message"] or "已" in got[8]["message"]
    assert "不允许" in got[6]["message"] or "建档" in got[6]["message"]
    for verdict in job["rejected"]:  # Chinese, never a code
        assert any("\u4e00" <= c <= "\u9fff" for c in verdict["message"]), verdict

    items = api.get(f"/api/v1/batches/{batch}").json["items"]
    assert sorted((i["name"], i["kind"], i["amount"]) for i in items) == sorted([
        ("张三", "archived", "600.00"), ("劳模甲", "model_worker", "900.00"), ("王五", "archived", "600.00")])
    # nothing of the bad rows: three items, three claims, the history says what the file added
    assert count(app, AidItem, AidItem.batch_id == batch) == 3
    assert count(app, AidClaim) == 3
    assert count(app, AidBatchEvent, AidBatchEvent.batch_id == batch, AidBatchEvent.action == "items_upload") == 1
    # the stored file is gone once the job is done
    with system(app):
        assert db.session.scalar(sa.select(ImportUpload.content_enc).where(ImportUpload.kind == "aid_items")) is None

    out = api.get(f"/api/v1/jobs/{resp.json['job']}/output")
    assert out.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(out.data))
    sheet = book.worksheets[0]
    listed = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert listed == expected
    summary = {row[0]: row[1] for row in book.worksheets[1].iter_rows(values_only=True)}
    assert summary["新增项目"] == 2 and summary["未通过的行"] == len(expected), summary


def test_csv_upload_through_the_same_reader(campaign, api_as):
    ids = campaign["ids"]
    text = "\r\n".join(["类型,身份证号,姓名,金额", f"建档困难职工,{ids['张三']},张三,600.00",
                        f"建档困难职工,{ids['李四']},李四,599.99"])
    api = api_as("e_clerk")
    resp = upload(api, campaign["batch"], text.encode("gb18030"), "名单.csv")
    assert resp.status_code == 202
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
    assert job["imported"] == 1 and [(v["row"], v["column"]) for v in job["rejected"]] == [(3, "金额")]


def test_refusals_write_nothing(campaign, api_as, app):
    batch, ids = campaign["batch"], campaign["ids"]
    data = to_xlsx([["建档困难职工", ids["张三"], "张三", "", "", "600.00"]])
    # another union's batch: 404 outside the subtree (a sibling county); 403 for the county above the enterprise
    assert upload(api_as("k2_clerk"), batch, data).status_code == 404
    resp = upload(api_as("k_clerk"), batch, data)
    assert resp.status_code == 403 and "批次" in resp.json["error"]["message"], resp.json
    assert upload(api_as("e_clerk"), 999999, data).status_code == 404
    # bad input: no file, not a workbook, a file without the columns: 422 naming the file, in Chinese
    api = api_as("e_clerk")
    resp = api.request("POST", f"/api/v1/batches/{batch}/items/upload", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.json["error"]["fields"], resp.json
    resp = upload(api, batch, b"hello", "名单.txt")
    assert resp.status_code == 422 and "xlsx" in resp.json["error"]["fields"]["file"][0]
    resp = upload(api, batch, b"PK\x03\x04broken", "名单.xlsx")
    assert resp.status_code == 422 and "file" in resp.json["error"]["fields"]
    assert count(app, ImportUpload) == 0 and count(app, Job) == 0
    # a file without the item columns: the job is refused as a whole, nothing added
    resp = upload(api, batch, "姓名,电话\r\n张三,13812345678".encode(), "名单.csv")
    assert resp.status_code == 202
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
    assert job["status"] == "failed" and "表头" in job["error"], job
    assert count(app, AidItem, AidItem.batch_id == batch) == 1
    # a submitted batch takes no upload: 409, nothing stored
    assert api.post(f"/api/v1/batches/{batch}/submit", json={}).status_code == 200
    before = count(app, ImportUpload)
    resp = upload(api, batch, data)
    assert resp.status_code == 409 and "草稿" in resp.json["error"]["message"], resp.json
    assert count(app, ImportUpload) == before and count(app, AidItem, AidItem.batch_id == batch) == 1


def test_upload_stops_when_the_batch_is_submitted_half_way(campaign, api_as, app, monkeypatch):
    """The batch is locked and checked at each batch of rows: submitted after the first, the job stops there;
    the first batch's items stay, the rest are not added to a submitted batch."""
    from hardship.aid import upload as upload_module
    from hardship.aid.models import AidBatch

    def submitted_meanwhile(done):
        db.session.execute(sa.update(AidBatch).where(AidBatch.id == campaign["batch"]).values(status="submitted"))
        db.session.commit()

    monkeypatch.setattr(upload_module, "BATCH_SIZE", 1)
    monkeypatch.setattr(upload_module, "_checkpoint", submitted_meanwhile)
    ids = campaign["ids"]
    api = api_as("e_clerk")
    resp = upload(api, campaign["batch"], to_xlsx([["建档困难职工", ids["张三"], "张三", "", "", "600.00"],
                                                   ["建档困难职工", ids["李四"], "李四", "", "", "600.00"]]))
    assert resp.status_code == 202
    job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
    assert job["status"] == "failed" and "不是草稿" in job["error"] and "第 4 行" in job["error"], job
    names = {i["name"] for i in api.get(f"/api/v1/batches/{campaign['batch']}").json["items"]}
    assert names == {"王五", "张三"}
    with system(app):
        assert db.session.scalar(sa.select(ImportUpload.content_enc).where(ImportUpload.kind == "aid_items")) is None


def test_batch_page_upload_form_and_job(campaign, app):
    from tests.aid.test_aid_ui import _as, _text

    client = _as(app, "e_clerk")
    url = f"/t/E0101001/aid/batches/{campaign['batch']}"
    page = client.get(url)
    assert page.status_code == 200 and 'id="items-upload"' in page.get_data(as_text=True)
    data = to_xlsx([["建档困难职工", campaign["ids"]["张三"], "张三", "", "", "600.00"],
                    ["建档困难职工", campaign["ids"]["李四"], "李四", "", "", "599.99"]])
    resp = client.post(f"{url}/upload", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                              "file": (io.BytesIO(data), "名单.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, _text(resp)[:2000]
    page = client.get(url)
    text = _text(page)
    assert "张三" in text and "600.00" in text
    assert "名单.xlsx" in text and "已完成" in text and "1" in text
    assert "upload verdicts" not in text and "/jobs/" in page.get_data(as_text=True)
    # a bad upload on the page: 422 with the reason in Chinese, nothing stored
    resp = client.post(f"{url}/upload", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                              "file": (io.BytesIO(b"x"), "名单.txt")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "xlsx" in _text(resp)


def test_command_line_upload(campaign, app, tmp_path):
    rows, expected = good_and_bad_rows(campaign["ids"])
    path = tmp_path / "名单.xlsx"
    path.write_bytes(to_xlsx(rows))
    out = tmp_path / "verdicts.xlsx"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "aid", "upload-items", str(campaign["batch"]), str(path),
                                 "--user", "e_clerk", "--verdicts", str(out)])
    assert result.exit_code == 0, result.output
    assert "added 2" in result.output and f"rejected rows {len(expected)}" in result.output
    book = openpyxl.load_workbook(out)
    assert {row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)} == set(expected)
    assert count(app, AidItem, AidItem.batch_id == campaign["batch"]) == 3
    # another union's user: refused, exit 2
    result = runner.invoke(args=["hardship", "aid", "upload-items", str(campaign["batch"]), str(path),
                                 "--user", "k2_clerk"])
    assert result.exit_code == 2 and "error" in result.output


def test_visits_listed_on_the_batch_page(county, api_as, app):
    from tests.aid.test_aid_ui import _as, _text

    program = warmth(api_as)
    h = archived_household(api_as)
    enterprise = api_as("e_clerk")
    resp = enterprise.post(f"/api/v1/programs/{program['id']}/batches",
                           json={"tenant": "E0101001", "items": [{"household": h, "amount": "600.00"}]})
    batch, item = resp.json["id"], resp.json["items"][0]["id"]
    assert enterprise.post(f"/api/v1/batches/{batch}/submit", json={}).status_code == 200
    assert api_as("k_approver").post(f"/api/v1/batches/{batch}/approve", json={}).status_code == 200
    pay = {"document_no": "县工发〔2026〕29号", "date": "2026-12-01"}
    assert api_as("k_fin").post(f"/api/v1/batches/{batch}/pay", json=pay).status_code == 200, "pay"
    client = _as(app, "e_clerk")
    page = client.get(f"/t/E0101001/aid/batches/{batch}")
    assert 'id="visits"' in page.get_data(as_text=True) and "尚无回访" in _text(page)
    visit = {"visited_on": "2026-12-03", "visitors": ["王五", "赵敏"], "notes": "家中老人病情稳定"}
    assert enterprise.post(f"/api/v1/batches/{batch}/items/{item}/visits", json=visit).status_code == 201
    text = _text(client.get(f"/t/E0101001/aid/batches/{batch}"))
    assert "2026-12-03" in text and "王五、赵敏" in text and "家中老人病情稳定" in text


REDIS_URL = os.environ.get("REDIS_URL")


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL and a real RQ worker")
def test_upload_on_a_real_worker(rq_worker, county, campaign, api_as):
    from redis import Redis
    from rq import Queue

    from tests.conftest import TEST_CONFIG

    app = county.app
    app.config["REDIS_URL"] = REDIS_URL
    queue = Queue(TEST_CONFIG["RQ_QUEUE_PREFIX"] + "imports", connection=Redis.from_url(REDIS_URL))
    queue.delete(delete_jobs=True)
    try:
        rows, expected = good_and_bad_rows(campaign["ids"])
        api = api_as("e_clerk")
        resp = upload(api, campaign["batch"], to_xlsx(rows))
        assert resp.status_code == 202 and resp.json["status"] == "queued"
        assert queue.count == 1 and count(app, AidItem, AidItem.batch_id == campaign["batch"]) == 1
        proc = rq_worker()
        assert proc.returncode == 0, proc.stdout + proc.stderr
        job = api.get(f"/api/v1/jobs/{resp.json['job']}").json
        assert job["status"] == "finished", job
        assert {v["row"]: v["column"] for v in job["rejected"]} == expected and job["imported"] == 2
        assert count(app, AidItem, AidItem.batch_id == campaign["batch"]) == 3
        assert api.get(f"/api/v1/jobs/{resp.json['job']}/output").status_code == 200
    finally:
        queue.delete(delete_jobs=True)
        app.config["REDIS_URL"] = None
