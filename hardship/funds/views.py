"""Ledger pages of a union: balances by source and year (aging highlighted), matching, the transaction list
with filters, and the forms for receipts, allocations, returns and reversals."""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core import audit
from hardship.core.db import commit, db
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.money import fen_of, format_fen
from hardship.funds import operations as ops
from hardship.funds import queries
from hardship.funds.forms import AllocationForm, ReceiptForm, ReturnForm, ReversalForm
from hardship.funds.models import AGING, KINDS, PURPOSES, SOURCES, FundTransaction
from hardship.web import submit, tenant_blueprint
from tenants.models import Tenant
from tenants.scoping import get_owned, get_tenant, subtree_filter

bp = tenant_blueprint("funds_ui", __name__)


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat((request.args.get(name) or "").strip())
    except ValueError:
        return None


def _choice_arg(name: str, choices) -> str | None:
    value = request.args.get(name) or None
    return value if value in choices else None


def _may_post() -> bool:
    return current_user.can("funds.post") and current_user.tenant_id == g.tenant.id


def yuan(value) -> str:
    """An amount for people: fen (int) or a decimal string, with thousands separators (1,200,000.00)."""
    if value is None or value == "":
        return ""
    return format_fen(value if isinstance(value, int) else fen_of(value), grouped=True)


def _labels() -> dict:
    return {"sources": SOURCES, "kinds": KINDS, "purposes": PURPOSES, "aging": AGING, "fen": yuan,
            "destinations": {**ops.DESTINATIONS, "recipients": _l("Aid recipients")}}


@bp.route("/funds/")
def index():
    require(current_user, "funds.read")
    subtree = request.args.get("subtree") == "1"
    year = _int_arg("year", 2000, 2100)
    result = queries.balances(g.tenant, subtree=subtree, year=year)
    matching_year = year or date.today().year
    matching = queries.matching(g.tenant, matching_year, subtree=subtree)
    return render_template("funds/index.html", tenant=g.tenant, result=result, subtree=subtree, year=year,
                           matching=matching, matching_year=matching_year, may_post=_may_post(), **_labels())


def _transaction_filters() -> dict:
    return {"kind": _choice_arg("kind", KINDS), "source": _choice_arg("source", SOURCES),
            "year": _int_arg("year", 2000, 2100), "date_from": _date_arg("date_from"),
            "date_to": _date_arg("date_to"), "document_no": (request.args.get("document_no") or "").strip()[:100] or None,
            "purpose": _choice_arg("purpose", PURPOSES)}


@bp.route("/funds/transactions")
def transactions():
    ops.require_ledger_reader(current_user)
    subtree = request.args.get("subtree") == "1"
    filters = _transaction_filters()
    page = _int_arg("page", 1, 100000) or 1
    stmt = queries.transactions_query(g.tenant, subtree=subtree, **filters)
    rows, total = queries.page_of(stmt, page)
    items = queries.transaction_rows(rows, g.tenant, subtree=subtree)
    reversed_by = {item["id"]: item["reversed_by"] for item in items}
    reversible = {t.id for t in rows if ops.may_reverse(current_user, t, reversed_by.get(t.id), known=True)}
    args = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    if subtree:
        args["subtree"] = "1"
    return render_template("funds/transactions.html", tenant=g.tenant, items=items, total=total, page=page,
                           per_page=queries.PER_PAGE, filters=filters, args=args, subtree=subtree,
                           reversible=reversible, may_post=_may_post(), **_labels())


class _Outcome:
    """The flashed message of a posting: "posted", or "already posted" when the form was sent twice."""

    def __init__(self):
        self.replayed = False
        self.transaction = None

    def __str__(self) -> str:
        if self.replayed:
            return str(_l("This form was already posted (document %(doc)s); nothing was posted again.",
                          doc=self.transaction.document_no))
        return str(_l("Posted: %(kind)s %(doc)s, %(amount)s yuan.", kind=str(KINDS[self.transaction.kind]),
                      doc=self.transaction.document_no, amount=format_fen(self.transaction.amount)))


def _posting_page(form, title, operation):
    """A posting form: ``operation`` posts, :func:`submit` commits (or rolls back and shows the error)."""
    outcome = _Outcome()

    def run():
        posted = operation(form.data_for_operation(), form.idempotency_key.data or None)
        outcome.replayed, outcome.transaction = posted.replayed, posted.transaction

    if form.validate_on_submit() and submit(form, run, outcome):
        return redirect(url_for("funds_ui.transactions"))
    if not form.is_submitted():
        form.date.data = form.date.data or date.today().isoformat()
        form.fiscal_year.data = form.fiscal_year.data or str(date.today().year)
    lots = [r for r in queries.balances(g.tenant)["rows"] if r["balance"] > 0]
    return render_template("funds/post.html", form=form, title=title, tenant=g.tenant, may_post=_may_post(),
                           lots=lots, **_labels()), \
        getattr(form, "error_status", None) or (422 if form.errors else 200)


@bp.route("/funds/receipts/new", methods=["GET", "POST"])
def new_receipt():
    require(current_user, "funds.post")
    return _posting_page(ReceiptForm(), _l("New receipt"), lambda data, key: ops.post_receipt(
        g.tenant, data, actor=current_user, idempotency_key=key))


@bp.route("/funds/allocations/new", methods=["GET", "POST"])
def new_allocation():
    require(current_user, "funds.post")
    form = AllocationForm()
    children = db.session.scalars(select(Tenant).where(Tenant.parent_id == g.tenant.id, subtree_filter(Tenant))
                                  .order_by(Tenant.code)).all()
    form.to.choices = [(c.code, f"{c.code} {c.name}") for c in children]
    if not children:
        flash(str(_l("%(union)s has no child unions to allocate to.", union=g.tenant.name)), "info")

    def allocate(data, key):
        if not form.to.data:
            raise ValidationFailed(fields={"to": [_l("Choose a child union.")]})
        return ops.allocate_funds(g.tenant, get_tenant(form.to.data), data, actor=current_user, idempotency_key=key)

    return _posting_page(form, _l("New allocation"), allocate)


@bp.route("/funds/returns/new", methods=["GET", "POST"])
def new_return():
    require(current_user, "funds.post")
    form = ReturnForm()
    form.to.choices = [("finance", str(ops.DESTINATIONS["finance"]))]
    if g.tenant.parent_id is not None:
        form.to.choices.append(("parent", str(ops.DESTINATIONS["parent"])))
    return _posting_page(form, _l("New return"), lambda data, key: ops.return_funds(
        g.tenant, data, actor=current_user, idempotency_key=key))


@bp.route("/funds/transactions/<int:transaction_id>/reverse", methods=["GET", "POST"])
def reverse(transaction_id):
    tx = get_owned(FundTransaction, transaction_id, g.tenant)
    require(current_user, "funds.reverse")
    form = ReversalForm()
    outcome = _Outcome()

    def run():
        posted = ops.reverse_transaction(tx, {"document_no": form.document_no.data, "date": form.date.data,
                                              "note": form.note.data}, actor=current_user,
                                         idempotency_key=form.idempotency_key.data or None)
        outcome.replayed, outcome.transaction = posted.replayed, posted.transaction

    if form.validate_on_submit() and submit(form, run, outcome):
        return redirect(url_for("funds_ui.transactions"))
    if not form.is_submitted():
        form.date.data = date.today().isoformat()
    item = queries.transaction_rows([tx], g.tenant, subtree=True)[0]
    entries = queries.visible_entries(tx)
    return render_template("funds/reverse.html", form=form, tenant=g.tenant, item=item, entries=entries,
                           may_reverse=ops.may_reverse(current_user, tx), **_labels()), \
        getattr(form, "error_status", None) or (422 if form.errors else 200)


@bp.route("/funds/balances.xlsx")
def export_balances():
    require(current_user, "funds.read")
    result = queries.balances(g.tenant, subtree=request.args.get("subtree") == "1",
                              year=_int_arg("year", 2000, 2100))
    audit.record("funds.export_balances", g.tenant, g.tenant, detail={"rows": len(result["rows"])})
    commit()
    return xlsx_download(queries.balances_xlsx(result), f"{g.tenant.code}-资金结余.xlsx")


@bp.route("/funds/transactions.xlsx")
def export_transactions():
    ops.require_ledger_reader(current_user)
    subtree = request.args.get("subtree") == "1"
    stmt = queries.transactions_query(g.tenant, subtree=subtree, **_transaction_filters())
    rows = queries.transaction_rows(db.session.scalars(stmt.limit(queries.EXPORT_LIMIT)).all(), g.tenant,
                                    subtree=subtree)
    audit.record("funds.export_transactions", g.tenant, g.tenant, detail={"rows": len(rows)})
    commit()
    return xlsx_download(queries.transactions_xlsx(rows), f"{g.tenant.code}-资金明细.xlsx")
