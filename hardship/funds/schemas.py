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
from hardship.core.fields import Choice, Day, Fen, FiscalYear, Flag, Text, Year
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
    lot = fields.Integer(load_default=None, strict=True)
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
    page = fields.Integer(load_default=1, validate=between(1, 100000))


# ---------------------------------------------------------------- responses (appendix A)

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


#: a lot's row: its money fields are the running totals' (``returned`` is money returned out) and the balance
BalanceRow = BaseSchema.from_dict({
    "lot": fields.Integer(), "tenant": fields.String(), "source": fields.String(), "fiscal_year": fields.Integer(),
    **{name: fields.String() for name in MONEY_FIELDS}, "consumed_pct": fields.Float(),
    "aging": fields.String(validate=validate.OneOf(list(AGING)))}, name="BalanceRow")


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
