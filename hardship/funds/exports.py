"""The ledger's xlsx exports (the API, the pages and the command line write the same workbooks): Chinese
headers, money as numbers Excel can sum, text as text."""

from __future__ import annotations

import io

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.core.db import db
from hardship.funds import queries
from hardship.funds.models import SOURCES
from hardship.funds.queries import MONEY_FIELDS


def balances_export(tenant, *, subtree: bool, year: int | None, user=None) -> tuple[bytes, str]:
    """The balances workbook of ``tenant`` (and its subtree) and its file name; the export is written to the
    audit log in the caller's transaction, so the API, the pages and the command line export alike."""
    result = queries.balances(tenant, subtree=subtree, year=year)
    audit.record("funds.export_balances", tenant, tenant, detail={"rows": len(result["rows"])}, user=user)
    return balances_xlsx(result), f"{tenant.code}-资金结余.xlsx"


def transactions_export(tenant, stmt, *, subtree: bool, user=None) -> tuple[bytes, str]:
    """The transactions of ``stmt`` (``queries.transactions_query``, at most ``EXPORT_LIMIT``) as a workbook and
    its file name, audited as :func:`balances_export`."""
    rows = queries.transaction_rows(db.session.scalars(stmt.limit(queries.EXPORT_LIMIT)).all(), tenant,
                                    subtree=subtree)
    audit.record("funds.export_transactions", tenant, tenant, detail={"rows": len(rows)}, user=user)
    return transactions_xlsx(rows), f"{tenant.code}-资金明细.xlsx"


def _workbook(sheet_name: str, headers: list[str], rows: list[list], money_columns: set[int]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(sheet_name)
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, headers, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if c in money_columns and isinstance(value, int):
                # a number Excel can sum, shown with two decimals (the ledger itself stays in fen)
                sheet.write_number(r, c, value / 100, money)
            else:
                sheet.write(r, c, value)
    sheet.set_column(0, len(headers) - 1, 14)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


def balances_xlsx(result: dict) -> bytes:
    from hardship.funds.models import AGING

    with force_locale("zh_Hans_CN"):
        headers = [_("Union code"), _("Union"), _("Source"), _("Fiscal year"), _("Received"), _("Allocated in"),
                   _("Returned in"), _("Allocated out"), _("Disbursed"), _("Returned"), _("Balance"),
                   _("Share consumed"), _("Aging")]
        sources = {k: str(v) for k, v in SOURCES.items()}
        aging = {k: str(v) for k, v in AGING.items()}
        total_label = _("Total")
    rows = [[r["tenant"], r["tenant_name"], sources.get(r["source"], r["source"]), r["fiscal_year"],
             *[r[k] for k in MONEY_FIELDS], r["consumed_pct"], aging.get(r["aging"], r["aging"])]
            for r in result["rows"]]
    t = result["totals"]
    rows.append([total_label, "", "", "", *[t[k] for k in MONEY_FIELDS], t["consumed_pct"], ""])
    return _workbook("资金结余", headers, rows, set(range(4, 11)))


def transactions_xlsx(rows: list[dict]) -> bytes:
    from hardship.funds.models import KINDS, PURPOSES

    with force_locale("zh_Hans_CN"):
        headers = [_("Date"), _("Document number"), _("Kind"), _("Source"), _("Fiscal year"), _("Amount"),
                   _("Change"), _("From"), _("To"), _("Purpose"), _("Reverses"), _("Reversed by"), _("Note"),
                   _("Posted by"), _("Transaction")]
        kinds = {k: str(v) for k, v in KINDS.items()}
        sources = {k: str(v) for k, v in SOURCES.items()}
        purposes = {k: str(v) for k, v in PURPOSES.items()}
    data = []
    for r in rows:
        data.append([r["date"], r["document_no"], kinds.get(r["kind"], r["kind"]),
                     sources.get(r["source"], r["source"] or ""), r["fiscal_year"] or "",
                     _fen(r["amount"]), _fen(r.get("change")), r["from_name"] or r["from"] or "",
                     r["to_name"] or r["to"] or "", purposes.get(r["purpose"], r["purpose"] or ""),
                     r["reverses"] or "", r["reversed_by"] or "", r["note"], r["posted_by"] or "", r["id"]])
    return _workbook("资金明细", headers, data, {5, 6})


def _fen(text) -> int | str:
    from hardship.core.money import fen_of

    return "" if text in (None, "") else fen_of(text)
