"""A bad row is the verdict of that row whatever its bytes (NUL bytes, ``_x0000_`` cells, control characters),
and a workbook that would take the worker's memory beyond its limit is refused before it is loaded."""

from __future__ import annotations

import io
import re
import resource
import subprocess
import sys
import zipfile

import openpyxl

from hardship.archives.importing import files
from hardship.archives.models import Household
from tests.archives import test_import
from tests.archives.test_import import (
    HEADERS,
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


# ---------------------------------------------------------------- workbooks that would exhaust the worker's memory

MEMORY_CAP = 400 * 1024 * 1024
TOO_MUCH_TEXT = "The workbook holds more text than can be imported at once; split it into smaller files."
CELL_TOO_LONG = ("A cell of the workbook holds more than 32,767 characters, more than Excel allows; correct it in "
                 "Excel and save the file again.")
SPAN = ("The worksheet spans %(rows)s rows and %(columns)s columns; at most %(max_rows)s rows and %(max_columns)s "
        "columns can be imported. Delete the empty rows and columns beyond the data, or split the file.")
FILLED = "The worksheet has too many filled cells to be read at once; split it into smaller files."
_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
         'spreadsheetml/2006/main"><sheetData>')


def _workbook(path, sheet_xml, shared_strings=None) -> None:
    """An xlsx written part by part (``sheet_xml`` and ``shared_strings``: iterables of str chunks), so that
    a part of hundreds of MB never sits in the test's memory."""
    template = to_xlsx(Sheet(rows=[{**_valid(1)}]))
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                chunks = sheet_xml
            elif info.filename == "xl/sharedStrings.xml":
                chunks = shared_strings or [src.read(info).decode()]
            else:
                dst.writestr(info.filename, src.read(info))
                continue
            with dst.open(info.filename, "w") as part:
                for chunk in chunks:
                    part.write(chunk.encode())


def _header_row() -> str:
    return '<row r="1">' + "".join(f'<c r="{_col(n)}1" t="inlineStr"><is><t>{h}</t></is></c>'
                                   for n, h in enumerate(HEADERS)) + "</row>"


def _col(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _one_long_shared_string(mb: int):
    yield '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    for _ in range(mb):
        yield "a" * (1024 * 1024)
    yield "</t></si></sst>"


def _run_capped(app, path) -> subprocess.CompletedProcess:
    """The command-line import (the job, inline) in a process whose address space is capped at 400 MB."""
    from tests.conftest import worker_env
    from tests.jobs.test_jobs import REPO

    env = {k: v for k, v in worker_env().items() if k != "REDIS_URL"}

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "hardship", "import-households", "--tenant",
                           "K0101", str(path)], cwd=REPO, env=env, preexec_fn=cap, capture_output=True, text=True,
                          timeout=300)


def test_workbooks_beyond_the_memory_limit_are_refused_under_a_400_mb_cap(committed, app, county, tmp_path):
    cases = []
    # one 280 MB shared string in a file of a few hundred KB (declared in the archive's directory)
    path = tmp_path / "one-long-string.xlsx"
    _workbook(path, [_HEAD, _header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>'],
              _one_long_shared_string(280))
    cases.append((path, TOO_MUCH_TEXT, {}))
    # a shared string longer than a cell may hold, in a part small enough for the archive's directory
    path = tmp_path / "long-string.xlsx"
    _workbook(path, [_HEAD, _header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>'],
              _one_long_shared_string(2))
    cases.append((path, CELL_TOO_LONG, {}))
    # the same text in the sheet itself, as an inline string
    path = tmp_path / "one-long-cell.xlsx"
    _workbook(path, [_HEAD, _header_row(), '<row r="2"><c r="A2" t="inlineStr"><is><t>',
                     *("a" * (1024 * 1024) for _ in range(280)), "</t></is></c></row></sheetData></worksheet>"])
    cases.append((path, CELL_TOO_LONG, {}))
    # a 100 KB shared string in 300,000 cells: small parts, 30 GB of cells once read
    path = tmp_path / "repeated-string.xlsx"
    rows = (f'<row r="{r}">' + "".join(f'<c r="{_col(n)}{r}" t="s"><v>0</v></c>' for n in range(30)) + "</row>"
            for r in range(2, 10_002))
    _workbook(path, [_HEAD, _header_row(), *rows, "</sheetData></worksheet>"],
              ['<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + "b" * 100_000
               + "</t></si></sst>"])
    cases.append((path, TOO_MUCH_TEXT, {}))
    # two cells far apart: the reader lays out the whole area between them
    path = tmp_path / "far-apart.xlsx"
    _workbook(path, [_HEAD, _header_row(), '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
                     "</row></sheetData></worksheet>"])
    cases.append((path, SPAN, {"rows": "1,048,576", "columns": len(HEADERS), "max_columns": files.MAX_COLUMNS,
                               "max_rows": f"{min(files.MAX_SHEET_ROWS, files.MAX_CELLS // len(HEADERS)):,}"}))
    # 70,000 full rows of short strings: within every size, but 2.7 million filled cells for the reader
    path = tmp_path / "full-rows.xlsx"
    rows = (f'<row r="{r}">' + "".join(f'<c r="{_col(n)}{r}" t="s"><v>0</v></c>' for n in range(len(HEADERS)))
            + "</row>" for r in range(2, 70_002))
    _workbook(path, [_HEAD, _header_row(), *rows, "</sheetData></worksheet>"],
              ['<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x</t></si></sst>'])
    cases.append((path, FILLED, {}))
    for path, msgid, values in cases:
        assert path.stat().st_size < files.MAX_BYTES, path
        proc = _run_capped(app, path)
        expected = gettext_in(app, "zh_Hans_CN", msgid, **values)
        assert proc.returncode == 2 and f"error: {expected}" in proc.stderr, (path.name, proc.returncode,
                                                                             proc.stdout[-2000:], proc.stderr[-2000:])
    assert count(app, Household, Household.import_key.is_not(None)) == 0
