"""Every workbook the product writes keeps text as text, numbers as numbers and dates as dates (SPEC 8,
issue 14): text people typed (a 文号, a note, a union's name, a file name, a household's needs) that looks like
a formula stays text, amounts are numbers of yuan shown with thousands separators and 元, dates are dates.
Each workbook is made through its real route or job and read back with openpyxl."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest

from tests.fixtures.funds import allocation, post, receipt
from tests.fixtures.households import household_body, make_id

FORMULAS = ['=HYPERLINK("http://x","点击查看")', "+1", "-1", "@SUM(A1)"]
LINK = FORMULAS[0]


def _zh(app, msgid: str) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return gettext(msgid)


def _book(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def _no_formulas(book) -> list:
    """Every cell's value, after checking that none is a formula."""
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if cell.value is not None:
                    values.append(cell.value)
    return values


def _column(sheet, header: str) -> list:
    """The data cells under ``header`` in the first row."""
    headers = [c.value for c in sheet[1]]
    assert header in headers, (header, headers)
    col = headers.index(header) + 1
    return [sheet.cell(row=r, column=col) for r in range(2, sheet.max_row + 1)]


def _money(cells) -> None:
    cells = [c for c in cells if c.value is not None]
    assert cells
    for c in cells:
        assert isinstance(c.value, int | float) and not isinstance(c.value, bool), (c.coordinate, c.value)
        assert "#,##0.00" in c.number_format and "元" in c.number_format, c.number_format


def _dates(cells) -> None:
    cells = [c for c in cells if c.value is not None]
    assert cells
    for c in cells:
        assert isinstance(c.value, datetime) and c.is_date, (c.coordinate, c.value)


@pytest.fixture
def ledger(tree, api_as):
    tree.user("C01", roles=("finance",), username="c_fin")
    fin = api_as("c_fin")
    for n, text in enumerate(FORMULAS):
        resp = post(fin, "receipt", receipt(amount="1234567.80", document_no=text, note=FORMULAS[-1 - n],
                                            date=f"2026-03-0{n + 1}"))
        assert resp.status_code == 201, resp.json
    resp = post(fin, "allocation", allocation(document_no=LINK, note=LINK))
    assert resp.status_code == 201, resp.json
    return fin


def test_transactions_workbook(app, ledger):
    resp = ledger.get("/api/v1/funds/transactions.xlsx?tenant=C01")
    assert resp.status_code == 200
    book = _book(resp.data)
    values = _no_formulas(book)
    assert all(text in values for text in FORMULAS)
    sheet = book.worksheets[0]
    _money(_column(sheet, _zh(app, "Amount")))
    _money(_column(sheet, _zh(app, "Change")))
    _dates(_column(sheet, _zh(app, "Date")))
    assert 1234567.8 in [c.value for c in _column(sheet, _zh(app, "Amount"))]


def test_balances_workbook(app, tree, ledger):
    tree.tenant("K0103", parent="C01", name=LINK)
    post(ledger, "allocation", allocation(to="K0103", amount="10.00", document_no="+1"))
    resp = ledger.get("/api/v1/funds/balances.xlsx?tenant=C01&subtree=1")
    assert resp.status_code == 200
    book = _book(resp.data)
    assert LINK in _no_formulas(book)
    sheet = book.worksheets[0]
    for msgid in ("Received", "Allocated out", "Balance"):
        _money(_column(sheet, _zh(app, msgid)))
    share = [c for c in _column(sheet, _zh(app, "Share consumed")) if c.value is not None]
    assert share and all(isinstance(c.value, float | int) and "%" in c.number_format for c in share)


def test_directory_workbook(app, tree, api_as):
    tree.tenant("E0101009", parent="K0101", name=LINK)
    tree.tenant("E0101008", parent="K0101", name="+1")
    api = api_as("k0101_all")
    resp = api.post("/api/v1/tenants/K0101/exports")
    assert resp.status_code == 202, resp.json
    out = api.get(f"/api/v1/jobs/{resp.json['job']}/output")
    assert out.status_code == 200
    values = _no_formulas(_book(out.data))
    assert LINK in values and "+1" in values


def test_household_export(app, tree, api_as):
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    body = household_body("E0101001", head_id=make_id(), needs=LINK, cadres={"first": "+1", "second": "-1"})
    body["head"]["name"] = "@SUM(A1)"
    body["head"]["job"] = LINK
    body["income_per_capita"] = "1234.50"
    assert api_as("k_clerk").post("/api/v1/households", json=body).status_code == 201
    resp = api_as("k_clerk").get("/api/v1/households/export.xlsx?tenant=K0101")
    assert resp.status_code == 200
    book = _book(resp.data)
    values = _no_formulas(book)
    assert LINK in values and "+1" in values and "-1" in values and "@SUM(A1)" in values
    sheet = book.worksheets[0]
    _money(_column(sheet, _zh(app, "Monthly income per person (yuan)")))
    _dates(_column(sheet, _zh(app, "Applied on")))


def test_import_verdicts_and_template(app, tree, api_as):
    from tests.archives.test_import import HEADERS, multipart

    tree.user("K0101", roles=("clerk",), username="k_clerk")
    api = api_as("k_clerk")
    rows = [",".join(HEADERS), ",".join("=1+2" if h == "家庭人均月收入" else "" for h in HEADERS)]
    name = "=SUM(1,2)名单.csv"  # a path's slashes would not survive as a file name
    resp = api.request("POST", "/api/v1/imports/households",
                       **multipart({"tenant": "K0101"}, "\r\n".join(rows).encode("utf-8"), name))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    out = api.get(f"/api/v1/jobs/{resp.json['job']}/output")
    assert out.status_code == 200
    values = _no_formulas(_book(out.data))
    assert name in values
    template = api.get("/api/v1/imports/households/template.xlsx")
    assert template.status_code == 200
    _no_formulas(_book(template.data))
