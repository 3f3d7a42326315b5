"""The ledger's input and output: one schema per input, loaded by the API, the pages and the command line
alike (``hardship.api.load_data``), built on the shared fields of :mod:`hardship.core.fields`; the
operations receive what they load. Formats are checked here (a fiscal year is four digits from 2000, an
amount is yuan with at most two decimals, full-width digits fold); the ledger's rules are the operations'
(a fiscal year at most the posting date's year + 1, allocations to a direct child, ...). The responses'
shapes (appendix A) are here too.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from hardship.api import BaseSchema, between
from hardship.core.fields import Choice, Day, Fen, FiscalYear, Flag, Text, Whole, Year
from hardship.funds.models import AGING, KINDS, PURPOSES, SOURCES
from hardship.funds.queries import MONEY_FIELDS

DESTINATIONS = {"finance": _l("Back to finance"), "parent": _l("Back to the parent union")}
#: a union's code in a body or a query (looked up in the caller's scope: 404 when absent)
_CODE = {"required": True, "max_length": 32}


class PostingIn(BaseSchema):
    """What every receipt, allocation and return carries."""

    source = Choice(SOURCES, required=True, metadata={"description": "资金来源 (SPEC 4.2)"})
    fiscal_year = FiscalYear(required=True, metadata={"description": "at most the year after the posting's date"})
    amount = Fen(required=True, metadata={"description": "yuan as a decimal string, e.g. \"600.00\""})
    document_no = Text(required=True, max_length=100, metadata={"description": "文号"})
    date = Day(required=True, past_only=True, metadata={"description": "ISO date, e.g. 2026-03-01"})
    note = Text(max_length=500)
    confirm_separate = Flag(metadata={"description": "true: post it even though a posting of the union with the "
                                                     "same kind, 文号, amount (and receiving union) exists; "
                                                     "otherwise such a posting is a 409 with `duplicate_of`"})


class ReceiptIn(PostingIn):
    tenant = Text(**_CODE)


class AllocationIn(PostingIn):
    from_ = Text(data_key="from", **_CODE)
    to = Text(metadata={"description": "a direct child of `from`"}, **_CODE)
    purpose = Choice(PURPOSES, load_default=None, metadata={"description": "earmark: a program type of SPEC 5.1"})


class ReturnIn(PostingIn):
    tenant = Text(**_CODE)
    to = Choice(DESTINATIONS, required=True)


class ReversalIn(BaseSchema):
    document_no = Text(required=True, max_length=100)
    date = Day(required=True, past_only=True)
    note = Text(max_length=500)


class DisbursementIn(BaseSchema):
    """A disbursement's options (the aid module's payment of a batch)."""

    amount = Fen(required=True)
    sources = fields.List(Choice(SOURCES, required=True), load_default=list)
    lot = fields.Integer(load_default=None, strict=True, validate=between(1, 2**31 - 1))
    document_no = Text(required=True, max_length=100)
    date = Day(required=True, past_only=True)
    reference = Text(max_length=64, load_default=None)
    purpose = Choice(PURPOSES, load_default=None)
    note = Text(max_length=500)


# ---------------------------------------------------------------- query filters

class BalanceQuery(BaseSchema):
    tenant = Text(**_CODE)
    subtree = Flag()
    year = Year(load_default=None)


class MatchingQuery(BalanceQuery):
    pass


class TransactionQuery(BaseSchema):
    tenant = Text(**_CODE)
    subtree = Flag()
    kind = Choice(KINDS, load_default=None)
    source = Choice(SOURCES, load_default=None)
    year = Year(load_default=None)
    date_from = Day(load_default=None)
    date_to = Day(load_default=None)
    document_no = Text(max_length=100, load_default=None)
    purpose = Choice(PURPOSES, load_default=None)
    page = Whole(load_default=1, validate=between(1, 100000))


# ---------------------------------------------------------------- responses (appendix A)

def _required(field_cls=fields.String, **kwargs):
    """A key every answer has (``null`` where ``allow_none``)."""
    return field_cls(required=True, **kwargs)


def _money(description: str = "yuan as a decimal string, e.g. \"600.00\""):
    return _required(metadata={"description": description})


def _nullable(field_cls=fields.String, **kwargs):
    return _required(field_cls, allow_none=True, **kwargs)


class EntryOut(BaseSchema):
    """An entry the reader may see (``queries.visible_entries``): a lot's, or an outside account's (no lot)."""

    tenant = _required()
    lot = _nullable(fields.Integer)
    source = _nullable()
    fiscal_year = _nullable(fields.Integer)
    account = _nullable(metadata={"description": "the outside account, for an entry without a lot"})
    category = _required()
    amount = _money()


class _TransactionBase(BaseSchema):
    """What a transaction's answer and its list row share (``queries.transaction_dict``)."""

    id = _required(fields.Integer)
    kind = _required(validate=validate.OneOf(list(KINDS)))
    document_no = _required()
    date = _required(metadata={"description": "ISO date of the posting"})
    source = _nullable()
    fiscal_year = _nullable(fields.Integer)
    amount = _money()
    from_ = _nullable(data_key="from", attribute="from", metadata={"description": "code of the paying union"})
    from_name = _nullable()
    to = _nullable(metadata={"description": "code of the receiving union, or the destination of a return"})
    to_name = _nullable()
    destination = _nullable(metadata={"description": "a return's destination (finance, parent)"})
    purpose = _nullable()
    note = _required()
    reference = _nullable()
    reverses = _nullable(fields.Integer)
    reversed_by = _nullable(fields.Integer)
    posted_by = _nullable(metadata={"description": "username of the poster"})
    posted_at = _nullable(metadata={"description": "ISO date and time it was written"})


class TransactionOut(_TransactionBase):
    """One transaction, as read or as posted, with the entries the reader may see."""

    entries = _required(fields.List, cls_or_instance=fields.Nested(EntryOut))


class TransactionRow(_TransactionBase):
    """A row of the transaction list."""

    change = _money("what it did to the balance of the listed union or subtree, yuan as a decimal string")


class TransactionPage(BaseSchema):
    tenant = _required()
    page = _required(fields.Integer)
    per_page = _required(fields.Integer)
    total = _required(fields.Integer)
    transactions = _required(fields.List, cls_or_instance=fields.Nested(TransactionRow))


#: a lot's row (``queries.balances``): its money fields are the running totals' (``returned`` is money returned
#: out) and the balance
BalanceRow = BaseSchema.from_dict({
    "lot": _required(fields.Integer), "tenant": _required(), "tenant_name": _required(), "source": _required(),
    "fiscal_year": _required(fields.Integer), **{name: _money() for name in MONEY_FIELDS},
    "consumed_pct": _required(fields.Float), "aging": _required(validate=validate.OneOf(list(AGING)))},
    name="BalanceRow")

#: the rows' money fields summed; ``warning`` and ``overdue``: the balances of the lots in that state
BalanceTotals = BaseSchema.from_dict({
    **{name: _money() for name in (*MONEY_FIELDS, "warning", "overdue")}, "consumed_pct": _required(fields.Float)},
    name="BalanceTotals")


class BalancesOut(BaseSchema):
    tenant = _required()
    subtree = _required(fields.Boolean)
    year = _nullable(fields.Integer)
    rows = _required(fields.List, cls_or_instance=fields.Nested(BalanceRow))
    totals = _required(fields.Nested, nested=BalanceTotals)


class MatchingRow(BaseSchema):
    tenant = _required()
    tenant_name = _required()
    year = _required(fields.Integer)
    ratio = _required(fields.Float)
    from_above = _money()
    required = _money()
    achieved = _money()
    shortfall = _money()


class MatchingOut(BaseSchema):
    tenant = _required()
    year = _required(fields.Integer)
    rows = _required(fields.List, cls_or_instance=fields.Nested(MatchingRow))
