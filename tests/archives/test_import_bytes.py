"""A bad row is the verdict of that row whatever its bytes (NUL bytes, ``_x0000_`` cells, control characters),
and a workbook that would take the worker's memory beyond its limit is refused before it is loaded."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl

from hardship.archives.models import Household
from tests.archives import test_import
from tests.archives.test_import import (
    Sheet,
    _valid,
    count,
    gettext_in,
    imported_heads,
    run_import,
    to_csv,
    to_xlsx,
)

county = test_import.county  # the fixture: clerks on the tree, people archived before the import
NOT_ALLOWED = "Contains characters that are not allowed (control characters or broken text)."
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _sheet(n: int, bad: dict) -> Sheet:
    """``n`` valid households; ``bad`` maps an index to the cells that spoil it."""
    sheet = Sheet(rows=[])
    for i in range(n):
        row = {**_valid(i), **bad.get(i, {})}
        sheet.rows.append(row)
        if i not in bad:
            sheet.heads[row["身份证号"]] = (row["所在单位编码"] or "K0101").upper()
    return sheet


def _replace_in_part(data: bytes, part: str, old: bytes, new: bytes) -> bytes:
    """The workbook with ``old`` replaced by ``new`` in the XML of ``part`` (bytes a writer would never write)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == part:
                assert old in body, old
                body = body.replace(old, new)
            dst.writestr(info.filename, body)
    return out.getvalue()


def _check_verdicts(app, job: dict, sheet: Sheet, expected: set) -> None:
    assert job["status"] == "finished", job
    assert job["error"] is None
    message = gettext_in(app, "zh_Hans_CN", NOT_ALLOWED)
    got = {(v["row"], v["field"], v["column"]) for v in job["rejected"]}
    assert got == expected, job["rejected"]
    for verdict in job["rejected"]:
        assert verdict["message"] == message and not CONTROL.search(verdict["message"]), verdict
    assert not any(CONTROL.search(c) for c in job["ignored_columns"]), job["ignored_columns"]
    assert job["imported"] == sheet.imported and imported_heads(app) == sheet.heads


def test_nul_and_control_characters_after_the_first_64_kb_of_a_csv(app, county, api_as):
    bad = {700: {"所在单位编码": "E01\x0001001"}, 701: {"家庭住址": "石家庄市\x00长安区"},
           702: {"困难类别": "深度\x07困难"}, 703: {"致困原因": "因病\x1b"}, 706: {"成员1与户主关系": "配\x00偶"}}
    sheet = _sheet(800, bad)
    data = to_csv(sheet, "utf-8")
    assert data.index(b"\x00") > 64 * 1024 and data.count(b"\x00") == 3
    data = data.replace("诉求,".encode(), "诉求\x00,".encode(), 1)  # a NUL in a header: an ignored column
    job = run_import(api_as("k_clerk"), data, "名单.csv")
    _check_verdicts(app, job, sheet, {(702, "tenant", "所在单位编码"), (703, "address", "家庭住址"),
                                      (704, "category", "困难类别"), (705, "reasons", "致困原因"),
                                      (708, "members.0.relation", "成员1与户主关系")})
    assert job["ignored_columns"] == ["诉求\ufffd"]
    assert count(app, Household, Household.import_key.is_not(None)) == 795


def test_x0000_cells_and_raw_control_bytes_in_a_workbook(app, county, api_as):
    bad = {300: {"所在单位编码": "E0101001"}, 301: {"家庭住址": "建设北大街301号"}, 302: {"困难类别": "deep"},
           303: {"户主姓名": "张三"}}
    sheet = _sheet(400, bad)
    sheet.rows[300]["所在单位编码"] = "E0101001_x0000_"  # Excel's escape of a NUL character
    sheet.rows[301]["家庭住址"] = "建设北大街_x0001_301号"
    data = to_xlsx(sheet)
    for part, old, new in [
        ("xl/sharedStrings.xml", b"E0101001_x005F_x0000_", b"E0101001_x0000_"),
        ("xl/sharedStrings.xml", "建设北大街_x005F_x0001_301号".encode(), "建设北大街_x0001_301号".encode()),
        ("xl/sharedStrings.xml", b"<t>deep</t>", b"<t>de\x00ep</t>"),
        ("xl/sharedStrings.xml", "<t>张三</t>".encode(), "<t>张\x01三</t>".encode()),
    ]:
        data = _replace_in_part(data, part, old, new)
    job = run_import(api_as("k_clerk"), data, "名单.xlsx")
    _check_verdicts(app, job, sheet, {(302, "tenant", "所在单位编码"), (303, "address", "家庭住址"),
                                      (304, "category", "困难类别"), (305, "head.name", "户主姓名")})
    output = api_as("k_clerk").get(f"/api/v1/jobs/{job['id']}/output")
    assert output.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(output.data)).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [302, 303, 304, 305]
