"""Special-fund ledger API (SPEC 4, 8.3, appendix A).

Postings need the header ``Idempotency-Key``: repeating a posting with the same key returns the first
result (header ``Idempotent-Replayed: true``) and posts nothing; the same key with another body is 409.
"""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields, validate

from hardship.accounts.operations import require
from hardship.api import BaseSchema, between, json_object, load_body, load_query, route
from hardship.core import audit
from hardship.core.db import db
from hardship.core.downloads import xlsx_download
from hardship.core.errors import BadRequest, ValidationFailed
from hardship.funds import operations as ops
from hardship.funds import queries
from hardship.funds.models import KINDS, PURPOSES, SOURCES, FundTransaction
from tenants.scoping import get_owned, get_tenant


class _Posting(BaseSchema):
    source = fields.String(required=True, validate=validate.OneOf(list(SOURCES)),
                           metadata={"description": "资金来源 (SPEC 4.2)"})
    fiscal_year = fields.Integer(required=True, validate=between(2000, 2100))
    amount = fields.String(required=True, metadata={"description": "yuan as a decimal string, e.g. \"600.00\""})
    document_no = fields.String(required=True, validate=validate.Length(max=100), metadata={"description": "文号"})
    date = fields.String(required=True, metadata={"description": "ISO date, e.g. 2026-03-01"})
    note = fields.String(validate=validate.Length(max=500))


class ReceiptIn(_Posting):
    tenant = fields.String(required=True)


class AllocationIn(_Posting):
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True, metadata={"description": "a direct child of `from`"})
    purpose = fields.String(allow_none=True, validate=validate.OneOf(list(PURPOSES)),
                            metadata={"description": "earmark: a program type of SPEC 5.1"})


class ReturnIn(_Posting):
    tenant = fields.String(required=True)
    to = fields.String(required=True, validate=validate.OneOf(list(ops.DESTINATIONS)))


class ReversalIn(BaseSchema):
    document_no = fields.String(required=True, validate=validate.Length(max=100))
    date = fields.String(required=True)
    note = fields.String(validate=validate.Length(max=500))


class EntryOut(BaseSchema):
    tenant = fields.String()
    lot = fields.Integer(allow_none=True)
    account = fields.String(allow_none=True)
    category = fields.String()
    amount = fields.String()


class TransactionOut(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    document_no = fields.String()
    date = fields.String()
    source = fields.String(allow_none=True)
    fiscal_year = fields.Integer(allow_none=True)
    amount = fields.String()
    from_ = fields.String(allow_none=True, data_key="from")
    to = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    reverses = fields.Integer(allow_none=True)
    reversed_by = fields.Integer(allow_none=True)
    change = fields.String(metadata={"description": "what it did to the balance of the listed union or subtree"})
    entries = fields.List(fields.Nested(EntryOut))


class TransactionPage(BaseSchema):
    tenant = fields.String()
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    transactions = fields.List(fields.Nested(TransactionOut))


class BalanceRow(BaseSchema):
    lot = fields.Integer()
    tenant = fields.String()
    source = fields.String()
    fiscal_year = fields.Integer()
    received = fields.String()
    allocated_in = fields.String()
    returned_in = fields.String()
    allocated_out = fields.String()
    disbursed = fields.String()
    returned = fields.String()
    balance = fields.String()
    consumed_pct = fields.Float()
    aging = fields.String(validate=validate.OneOf(["ok", "warning", "overdue"]))


class BalancesOut(BaseSchema):
    rows = fields.List(fields.Nested(BalanceRow))
    totals = fields.Dict()


class MatchingRow(BaseSchema):
    tenant = fields.String()
    year = fields.Integer()
    ratio = fields.Float()
    from_above = fields.String()
    required = fields.String()
    achieved = fields.String()
    shortfall = fields.String()


class MatchingOut(BaseSchema):
    rows = fields.List(fields.Nested(MatchingRow))


class BalanceQuery(BaseSchema):
    tenant = fields.String(required=True)
    subtree = fields.Boolean(load_default=False)
    year = fields.Integer(validate=between(2000, 2100))


class MatchingQuery(BalanceQuery):
    pass


class TransactionQuery(BaseSchema):
    tenant = fields.String(required=True)
    subtree = fields.Boolean(load_default=False)
    kind = fields.String(validate=validate.OneOf(list(KINDS)))
    source = fields.String(validate=validate.OneOf(list(SOURCES)))
    year = fields.Integer(validate=between(2000, 2100))
    date_from = fields.Date()
    date_to = fields.Date()
    document_no = fields.String(validate=validate.Length(max=100))
    purpose = fields.String(validate=validate.OneOf(list(PURPOSES)))
    page = fields.Integer(load_default=1, validate=between(1, 100000))


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
    tx = posted.transaction
    if posted.replayed:
        body = queries.transaction_dict(tx, entries=queries.visible_entries(tx),
                                        reversed_by=getattr(ops.reversal_of(tx), "id", None))
    else:  # a new posting: what it wrote is known, and nothing has reversed it yet
        body = queries.transaction_dict(tx, posted.labels, entries=posted.entries)
    response = jsonify(body)
    response.status_code = 201
    if posted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


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
    """Reverse a posting (冲销) with a new document number and date. Needs ``Idempotency-Key``."""
    tx = get_owned(FundTransaction, transaction_id)
    require(current_user, "funds.reverse")
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
    rows, total = queries.page_of(stmt, args["page"])
    return {"tenant": tenant.code, "page": args["page"], "per_page": queries.PER_PAGE, "total": total,
            "transactions": queries.transaction_rows(rows, tenant, subtree=args["subtree"])}


@route("/funds/transactions.xlsx", tags=["funds"], query=TransactionQuery)
def export_transactions():
    """The filtered transaction list as xlsx (Chinese headers; at most 100,000 rows)."""
    args = load_query(TransactionQuery)
    tenant, stmt = transactions_for(args, current_user)
    rows = queries.transaction_rows(db.session.scalars(stmt.limit(queries.EXPORT_LIMIT)).all(), tenant,
                                    subtree=args["subtree"])
    audit.record("funds.export_transactions", tenant, tenant, detail={"rows": len(rows)})
    return xlsx_download(queries.transactions_xlsx(rows), f"{tenant.code}-资金明细.xlsx")


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
    result = queries.balances(tenant, subtree=args["subtree"], year=args.get("year"))
    audit.record("funds.export_balances", tenant, tenant, detail={"rows": len(result["rows"])})
    return xlsx_download(queries.balances_xlsx(result), f"{tenant.code}-资金结余.xlsx")


@route("/funds/matching", tags=["funds"], query=MatchingQuery, response=MatchingOut)
def get_matching():
    """Required and achieved local matching (配套) per union for a fiscal year (default: this year)."""
    args, tenant = _read(MatchingQuery)
    year = args.get("year") or date.today().year
    return {"tenant": tenant.code, "year": year,
            "rows": queries.format_matching(queries.matching(tenant, year, subtree=args["subtree"]))}
