"""The ledger's xlsx exports (the API, the pages and the command line write the same workbooks): Chinese
headers, money as numbers of yuan Excel can sum, dates as dates, text as text (``hardship.core.xlsx``)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.core.db import db
from hardship.core.xlsx import Column, Workbook
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


def _workbook(sheet_name: str, columns: list[Column], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.sheet(sheet_name, columns)
    for row in rows:
        sheet.append(row)
    return book.close()


def balances_xlsx(result: dict) -> bytes:
    from hardship.funds.models import AGING

    with force_locale("zh_Hans_CN"):
        columns = [Column(_("Union code"), "code", 12), Column(_("Union"), "text", 28), Column(_("Source"), "text", 14),
                   Column(_("Fiscal year"), "integer", 8),
                   *[Column(label, "money", 16) for label in (
                       _("Received"), _("Allocated in"), _("Returned in"), _("Allocated out"), _("Disbursed"),
                       _("Returned"), _("Balance"))],
                   Column(_("Share consumed"), "percent", 10), Column(_("Aging"), "text", 10)]
        sources = {k: str(v) for k, v in SOURCES.items()}
        aging = {k: str(v) for k, v in AGING.items()}
        total_label = _("Total")
    rows = [[r["tenant"], r["tenant_name"], sources.get(r["source"], r["source"]), r["fiscal_year"],
             *[r[k] for k in MONEY_FIELDS], r["consumed_pct"], aging.get(r["aging"], r["aging"])]
            for r in result["rows"]]
    t = result["totals"]
    rows.append([total_label, "", "", None, *[t[k] for k in MONEY_FIELDS], t["consumed_pct"], ""])
    return _workbook("资金结余", columns, rows)


def transactions_xlsx(rows: list[dict]) -> bytes:
    from hardship.funds.models import KINDS, PURPOSES

    with force_locale("zh_Hans_CN"):
        columns = [Column(_("Date"), "date", 11), Column(_("Document number"), "code", 22), Column(_("Kind"), "text", 8),
                   Column(_("Source"), "text", 14), Column(_("Fiscal year"), "integer", 8),
                   Column(_("Amount"), "money", 16), Column(_("Change"), "money", 16), Column(_("From"), "text", 20),
                   Column(_("To"), "text", 20), Column(_("Purpose"), "text", 12), Column(_("Reverses"), "integer", 9),
                   Column(_("Reversed by"), "integer", 9), Column(_("Note"), "text", 30),
                   Column(_("Posted by"), "text", 14), Column(_("Transaction"), "integer", 9)]
        kinds = {k: str(v) for k, v in KINDS.items()}
        sources = {k: str(v) for k, v in SOURCES.items()}
        purposes = {k: str(v) for k, v in PURPOSES.items()}
    data = []
    for r in rows:
        data.append([r["date"], r["document_no"], kinds.get(r["kind"], r["kind"]),
                     sources.get(r["source"], r["source"] or ""), r["fiscal_year"],
                     _fen(r["amount"]), _fen(r.get("change")), r["from_name"] or r["from"] or "",
                     r["to_name"] or r["to"] or "", purposes.get(r["purpose"], r["purpose"] or ""),
                     r["reverses"], r["reversed_by"], r["note"], r["posted_by"] or "", r["id"]])
    return _workbook("资金明细", columns, data)


def _fen(text) -> int | None:
    from hardship.core.money import fen_of

    return None if text in (None, "") else fen_of(text)
