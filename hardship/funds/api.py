"""Special-fund ledger API (SPEC 4, 8.3, appendix A).

Postings need the header ``Idempotency-Key``: repeating a posting with the same key returns the first
result (header ``Idempotent-Replayed: true``) and posts nothing; the same key with another body is 409.
"""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import json_object, load_body, load_query, route
from hardship.core.db import page_of
from hardship.core.downloads import xlsx_download
from hardship.core.errors import BadRequest, ValidationFailed
from hardship.funds import exports, queries
from hardship.funds import operations as ops
from hardship.funds.models import FundTransaction
from hardship.funds.schemas import (
    AllocationIn,
    BalanceQuery,
    BalancesOut,
    MatchingOut,
    MatchingQuery,
    ReceiptIn,
    ReturnIn,
    ReversalIn,
    TransactionOut,
    TransactionPage,
    TransactionQuery,
)
from tenants.scoping import get_owned, get_tenant

# ---------------------------------------------------------------- helpers

#: the header every posting needs (documented in the OpenAPI document)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": ops.MAX_KEY},
    "description": "One key per posting (e.g. a UUID): a retry with the same key and body returns the first "
                   "result (header Idempotent-Replayed: true); the same key with another body is a 409.",
}


def idempotency_key() -> str:
    """The request's ``Idempotency-Key`` header (400 when it is missing or malformed)."""
    raw = request.headers.get("Idempotency-Key")
    message = _l("Send an Idempotency-Key header (1 to 100 characters, e.g. a UUID) with every posting; "
                 "repeat it to retry the same posting safely.")
    if raw is None or not raw.strip():
        raise BadRequest(message, fields={"Idempotency-Key": [_l("Required.")]})
    try:
        return ops.check_idempotency_key(raw)
    except ValidationFailed:
        raise BadRequest(message, fields={"Idempotency-Key": [_l("1 to %(n)d printable characters.",
                                                                  n=ops.MAX_KEY)]}) from None


def _posted(posted: ops.Posted):
    """A posting's answer: 201 with the transaction, also for a replay (header ``Idempotent-Replayed``)."""
    tx = posted.transaction
    if posted.replayed:
        body = queries.transaction_dict(tx, entries=queries.visible_entries(tx),
                                        reversed_by=getattr(ops.reversal_of(tx), "id", None))
        return body, 201, {"Idempotent-Replayed": "true"}
    # a new posting: what it wrote is known, and nothing has reversed it yet
    return queries.transaction_dict(tx, posted.labels, entries=posted.entries), 201, {}


def _body_tenant(name: str):
    value = json_object().get(name)
    return get_tenant(value if isinstance(value, str) else "")


# ---------------------------------------------------------------- postings

def _post_for(field: str, schema, operation):
    """A posting by the union named in the body's ``field`` (receipts, returns)."""
    tenant = _body_tenant(field)
    require(current_user, "funds.post")
    key = idempotency_key()
    data = load_body(schema)
    return _posted(operation(tenant, data, actor=current_user, idempotency_key=key))


@route("/funds/receipts", ["POST"], body=ReceiptIn, response=TransactionOut, status=201, tags=["funds"],
       responses={409: None}, headers=(IDEMPOTENCY_HEADER,))
def post_receipt():
    """Receipt (入账): money enters the tree at a union from outside. Needs ``Idempotency-Key``."""
    return _post_for("tenant", ReceiptIn, ops.post_receipt)


@route("/funds/allocations", ["POST"], body=AllocationIn, response=TransactionOut, status=201, tags=["funds"],
       responses={409: None}, headers=(IDEMPOTENCY_HEADER,))
def post_allocation():
    """Allocation (下拨) from a union to a direct child, same source and fiscal year. Needs ``Idempotency-Key``."""
    parent = _body_tenant("from")
    child = _body_tenant("to")
    require(current_user, "funds.post")
    key = idempotency_key()
    data = load_body(AllocationIn)
    return _posted(ops.allocate_funds(parent, child, data, actor=current_user, idempotency_key=key))


@route("/funds/returns", ["POST"], body=ReturnIn, response=TransactionOut, status=201, tags=["funds"],
       responses={409: None}, headers=(IDEMPOTENCY_HEADER,))
def post_return():
    """Return (退回) to finance or to the parent union. Needs ``Idempotency-Key``."""
    return _post_for("tenant", ReturnIn, ops.return_funds)


@route("/funds/transactions/<int:transaction_id>/reversal", ["POST"], body=ReversalIn, response=TransactionOut,
       status=201, tags=["funds"], responses={409: None}, headers=(IDEMPOTENCY_HEADER,))
def post_reversal(transaction_id):
    """Reverse a posting (冲销) with a new document number and date: an approver of the posting union, or the
    finance officer who posted it on the same day. Needs ``Idempotency-Key``."""
    tx = get_owned(FundTransaction, transaction_id)
    ops.require_reverser(current_user)
    key = idempotency_key()
    data = load_body(ReversalIn)
    return _posted(ops.reverse_transaction(tx, data, actor=current_user, idempotency_key=key))


# ---------------------------------------------------------------- reading

@route("/funds/transactions/<int:transaction_id>", tags=["funds"], response=TransactionOut)
def get_transaction(transaction_id):
    """One transaction with the entries you may see."""
    tx = get_owned(FundTransaction, transaction_id)
    ops.require_ledger_reader(current_user)
    return queries.transaction_dict(tx, entries=queries.visible_entries(tx),
                                    reversed_by=getattr(ops.reversal_of(tx), "id", None))


def transactions_for(args: dict, actor):
    """The union named by loaded :class:`TransactionQuery` arguments and the query of its transactions, for
    ``actor`` (``None``: the command line's operator); the API and the command line alike."""
    tenant = get_tenant(args["tenant"])
    ops.require_ledger_reader(actor)
    filters = {k: args.get(k) for k in ("kind", "source", "year", "date_from", "date_to", "document_no", "purpose")}
    return tenant, queries.transactions_query(tenant, subtree=args["subtree"], **filters)


@route("/funds/transactions", tags=["funds"], query=TransactionQuery, response=TransactionPage)
def list_transactions():
    """Transactions touching a union (or its subtree, ``subtree=1``), newest first, 50 a page."""
    args = load_query(TransactionQuery)
    tenant, stmt = transactions_for(args, current_user)
    rows, total = page_of(stmt, args["page"], queries.PER_PAGE)
    return {"tenant": tenant.code, "page": args["page"], "per_page": queries.PER_PAGE, "total": total,
            "transactions": queries.transaction_rows(rows, tenant, subtree=args["subtree"])}


@route("/funds/transactions.xlsx", tags=["funds"], query=TransactionQuery)
def export_transactions():
    """The filtered transaction list as xlsx (Chinese headers; at most 100,000 rows)."""
    args = load_query(TransactionQuery)
    tenant, stmt = transactions_for(args, current_user)
    return xlsx_download(*exports.transactions_export(tenant, stmt, subtree=args["subtree"]))


def _read(schema):
    """The query arguments and the union they name, for a reader of the ledger."""
    args = load_query(schema)
    tenant = get_tenant(args["tenant"])
    require(current_user, "funds.read")
    return args, tenant


@route("/funds/balances", tags=["funds"], query=BalanceQuery, response=BalancesOut)
def get_balances():
    """Balances per union x source x fiscal year with aging, and totals (SPEC 4.8)."""
    args, tenant = _read(BalanceQuery)
    return queries.format_balances(queries.balances(tenant, subtree=args["subtree"], year=args.get("year")))


@route("/funds/balances.xlsx", tags=["funds"], query=BalanceQuery)
def export_balances():
    """The balances as xlsx (Chinese headers)."""
    args, tenant = _read(BalanceQuery)
    return xlsx_download(*exports.balances_export(tenant, subtree=args["subtree"], year=args.get("year")))


@route("/funds/matching", tags=["funds"], query=MatchingQuery, response=MatchingOut)
def get_matching():
    """Required and achieved local matching (配套) per union for a fiscal year (default: this year)."""
    args, tenant = _read(MatchingQuery)
    year = args.get("year") or date.today().year
    return {"tenant": tenant.code, "year": year,
            "rows": queries.format_matching(queries.matching(tenant, year, subtree=args["subtree"]))}
