"""Ledger pages of a union: balances by source and year (aging highlighted), matching, the transaction list
with filters, and the forms for receipts, allocations, returns and reversals."""

from __future__ import annotations

import uuid
from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.core.db import db, page_of
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.money import format_fen
from hardship.funds import exports, queries
from hardship.funds import operations as ops
from hardship.funds.forms import AllocationForm, ReceiptForm, ReturnForm, ReversalForm
from hardship.funds.models import AGING, KINDS, PURPOSES, SOURCES, FundTransaction
from hardship.funds.schemas import (
    DESTINATIONS,
    AllocationIn,
    BalanceQuery,
    ReceiptIn,
    ReturnIn,
    ReversalIn,
    TransactionQuery,
)
from hardship.web import money, submit, tenant_blueprint
from tenants import settings as tenant_settings
from tenants.models import Tenant
from tenants.scoping import get_owned, get_tenant, subtree_filter

bp = tenant_blueprint("funds_ui", __name__)


def _filters(schema) -> dict:
    """The page's query arguments loaded through the API's schema, for the page's union; an argument the
    schema refuses is ignored (a link's nonsense shows the unfiltered page, not an error)."""
    given = {**request.args.to_dict(), "tenant": g.tenant.code}
    try:
        return load_data(schema, given)
    except ValidationFailed as exc:
        return load_data(schema, {name: value for name, value in given.items() if name not in exc.fields})


def _may_post() -> bool:
    return current_user.can("funds.post") and current_user.tenant_id == g.tenant.id


#: an amount for people (1,200,000.00): ``hardship.web.money``, the templates' ``money()``
yuan = money


def yuan_text(value) -> str:
    """An amount with its unit, for a sentence or a fact: "1,200,000.00 元"."""
    return str(_l("%(amount)s yuan", amount=yuan(value)))


#: what an entry on an outside account is, by its prefix (``outside:<source>``, ``aid:<source>``)
ACCOUNTS = {"outside": _l("Outside the unions: %(source)s"), "aid": _l("Aid paid to people: %(source)s")}


def account_label(account: str | None) -> str:
    prefix, _sep, source = (account or "").partition(":")
    label = ACCOUNTS.get(prefix)
    return str(label % {"source": SOURCES.get(source, source)}) if label is not None else (account or "")


def _labels() -> dict:
    return {"sources": SOURCES, "kinds": KINDS, "purposes": PURPOSES, "aging": AGING, "fen": yuan,
            "yuan": yuan_text, "account": account_label,
            "destinations": {**DESTINATIONS, "recipients": _l("Aid recipients")}}


@bp.route("/funds/")
def index():
    require(current_user, "funds.read")
    args = _filters(BalanceQuery)
    subtree, year = args["subtree"], args["year"]
    result = queries.balances(g.tenant, subtree=subtree, year=year)
    matching_year = year or date.today().year
    matching = queries.matching(g.tenant, matching_year, subtree=subtree)
    return render_template("funds/index.html", tenant=g.tenant, result=result, subtree=subtree, year=year,
                           matching=matching, matching_year=matching_year, may_post=_may_post(),
                           aging_setting=tenant_settings.DEFINITIONS["aging"].label, **_labels())


FILTERS = ("kind", "source", "year", "date_from", "date_to", "document_no", "purpose")


@bp.route("/funds/transactions")
def transactions():
    ops.require_ledger_reader(current_user)
    args = _filters(TransactionQuery)
    subtree, page = args["subtree"], args["page"]
    filters = {name: args[name] for name in FILTERS}
    stmt = queries.transactions_query(g.tenant, subtree=subtree, **filters)
    rows, total = page_of(stmt, page, queries.PER_PAGE)
    items = queries.transaction_rows(rows, g.tenant, subtree=subtree)
    reversed_by = {item["id"]: item["reversed_by"] for item in items}
    reversible = {t.id for t in rows if ops.may_reverse(current_user, t, reversed_by.get(t.id), known=True)}
    args = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    if subtree:
        args["subtree"] = "1"
    return render_template("funds/transactions.html", tenant=g.tenant, items=items, total=total, page=page,
                           per_page=queries.PER_PAGE, filters=filters, args=args, subtree=subtree,
                           reversible=reversible, may_post=_may_post(), **_labels())


def _form_instance(form):
    """Post/redirect/get of a posting form: its page is served at ``?form=<uuid>``, the form instance's
    idempotency key, so the page that Back or a reload returns to posts with the same key (the ledger answers
    with the first posting and posts nothing) instead of a fresh one. A page opened without a key is
    redirected to one with a new key (the redirect, returned); ``None`` otherwise."""
    try:
        key = str(uuid.UUID(request.args.get("form", "")))
    except ValueError:
        if request.method != "GET":
            return None  # a form sent without a page key keeps the key of its hidden field
        return redirect(url_for(request.endpoint, **request.view_args, **{**request.args.to_dict(),
                                                                          "form": str(uuid.uuid4())}))
    if not form.is_submitted():
        form.idempotency_key.data = key
    return None


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
                      doc=self.transaction.document_no, amount=format_fen(self.transaction.amount, grouped=True)))


def _posting_page(form, title, schema, union_fields: dict, operation):
    """A posting form, loaded through the API's ``schema`` (``union_fields``: the unions the page names):
    ``operation`` posts, :func:`submit` commits (or rolls back and shows the error)."""
    fresh = _form_instance(form)
    if fresh is not None:
        return fresh
    outcome = _Outcome()

    def run():
        data = load_data(schema, {**form.data_for_operation(), **union_fields})
        posted = operation(data, form.idempotency_key.data or None)
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
    return _posting_page(ReceiptForm(), _l("New receipt"), ReceiptIn, {"tenant": g.tenant.code},
                         lambda data, key: ops.post_receipt(
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
        return ops.allocate_funds(g.tenant, get_tenant(data["to"]), data, actor=current_user, idempotency_key=key)

    return _posting_page(form, _l("New allocation"), AllocationIn, {"from": g.tenant.code}, allocate)


@bp.route("/funds/returns/new", methods=["GET", "POST"])
def new_return():
    require(current_user, "funds.post")
    form = ReturnForm()
    form.to.choices = [("finance", str(DESTINATIONS["finance"]))]
    if g.tenant.parent_id is not None:
        form.to.choices.append(("parent", str(DESTINATIONS["parent"])))
    return _posting_page(form, _l("New return"), ReturnIn, {"tenant": g.tenant.code},
                         lambda data, key: ops.return_funds(
        g.tenant, data, actor=current_user, idempotency_key=key))


@bp.route("/funds/transactions/<int:transaction_id>/reverse", methods=["GET", "POST"])
def reverse(transaction_id):
    tx = get_owned(FundTransaction, transaction_id, g.tenant)
    ops.require_reverser(current_user)
    form = ReversalForm()
    fresh = _form_instance(form)
    if fresh is not None:
        return fresh
    outcome = _Outcome()

    def run():
        data = load_data(ReversalIn, {name: getattr(form, name).data or "" for name in ("document_no", "date", "note")})
        posted = ops.reverse_transaction(tx, data, actor=current_user,
                                         idempotency_key=form.idempotency_key.data or None)
        outcome.replayed, outcome.transaction = posted.replayed, posted.transaction

    if form.validate_on_submit() and submit(form, run, outcome):
        return redirect(url_for("funds_ui.transactions"))
    if not form.is_submitted():
        form.date.data = date.today().isoformat()
    item = queries.transaction_rows([tx], g.tenant, subtree=True)[0]
    entries = queries.visible_entries(tx)
    codes = sorted({e["tenant"] for e in entries})
    union_names = dict(db.session.execute(select(Tenant.code, Tenant.name)
                                          .where(Tenant.code.in_(codes), subtree_filter(Tenant))).all())
    return render_template("funds/reverse.html", form=form, tenant=g.tenant, item=item, entries=entries,
                           union_names=union_names,
                           may_reverse=ops.may_reverse(current_user, tx), **_labels()), \
        getattr(form, "error_status", None) or (422 if form.errors else 200)


@bp.route("/funds/balances.xlsx")
def export_balances():
    require(current_user, "funds.read")
    args = _filters(BalanceQuery)
    return xlsx_download(*exports.balances_export(g.tenant, subtree=args["subtree"], year=args["year"]))


@bp.route("/funds/transactions.xlsx")
def export_transactions():
    ops.require_ledger_reader(current_user)
    args = _filters(TransactionQuery)
    subtree = args["subtree"]
    stmt = queries.transactions_query(g.tenant, subtree=subtree, **{name: args[name] for name in FILTERS})
    return xlsx_download(*exports.transactions_export(g.tenant, stmt, subtree=subtree))
