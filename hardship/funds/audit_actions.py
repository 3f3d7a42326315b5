"""What the audit log calls the ledger's actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.audit.registry import Detail, action, choice, count, joined, money, record, text
from hardship.core.db import db
from hardship.core.money import format_fen
from hardship.funds.models import KINDS, SOURCES, FundTransaction
from tenants.scoping import subtree_filter

#: an entry's category (which running total of its lot it moves)
CATEGORIES = {"received": _l("Received"), "allocated_in": _l("Allocated in"), "returned_in": _l("Returned in"),
              "allocated_out": _l("Allocated out"), "disbursed": _l("Disbursed"), "returned_out": _l("Returned out")}


def _transactions(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(FundTransaction.id, FundTransaction.kind, FundTransaction.document_no,
                                     FundTransaction.amount)
                              .where(FundTransaction.id.in_(numbers), subtree_filter(FundTransaction))).all()
    return {str(i): (gettext("%(kind)s %(doc)s, %(amount)s yuan", kind=KINDS.get(kind, kind), doc=doc,
                             amount=format_fen(amount, grouped=True)),
                     url_for("funds_ui.transactions", tenant_code=viewer_code, document_no=doc, subtree="1"))
            for i, kind, doc, amount in rows}


def _entry(entry: dict) -> str:
    where = entry.get("tenant") or ""
    if entry.get("account"):
        what = gettext("outside account")
    else:
        what = f"{SOURCES.get(entry.get('source'), entry.get('source') or '')} {entry.get('fiscal_year') or ''}".strip()
    amount = money("").render(entry.get("amount"))
    return f"{where} {what} {CATEGORIES.get(entry.get('category'), '')} {amount}".replace("  ", " ")


record("FundTransaction", _l("Ledger transaction"), _transactions)

_POSTING = {"document_no": text(_l("Document number")), "date": text(_l("Date")), "amount": money(_l("Amount")),
            "source": choice(_l("Source"), SOURCES), "fiscal_year": text(_l("Fiscal year")),
            "reverses": text(_l("Reverses transaction")),
            "entries": Detail(_l("Entries"), lambda rows: joined(_entry(r) for r in rows or []) or "—")}
for _kind, _label in KINDS.items():
    action(f"funds.{_kind}", _l("Ledger: %(kind)s posted", kind=_label), **_POSTING)
action("funds.export_balances", _l("Balances exported"), rows=count(_l("Rows"), _l(" rows")))
action("funds.export_transactions", _l("Transactions exported"), rows=count(_l("Rows"), _l(" rows")))
