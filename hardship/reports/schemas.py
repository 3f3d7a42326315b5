"""The reports' input and output: the summary's query, loaded with :func:`hardship.api.load_data` by the API and
the summary page alike, and the summary's response (SPEC 6.1, appendix A)."""

from __future__ import annotations

from marshmallow import fields

from hardship.api import BaseSchema, between
from hardship.archives.schemas import CODE_LENGTH, InputSchema
from hardship.core.fields import Flag, Text, Whole, Year


class SummaryQuery(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    year = Year(required=True)
    month = Whole(load_default=None, validate=between(1, 12))
    #: the figures computed directly from the base records; for now the only path (the fast path comes later)
    exact = Flag(default=True)


def _counts():
    return fields.Dict(keys=fields.String(), values=fields.Integer())


class SummaryHouseholdFiguresOut(BaseSchema):
    by_status = _counts()
    by_category = _counts()
    by_reason = _counts()
    newly_archived = fields.Integer()
    relieved = fields.Integer()
    exited = fields.Integer()
    cancelled = fields.Integer()
    returned = fields.Integer(metadata={"description": "Reopened: fell back into hardship (返困)"})
    stock = fields.Integer(metadata={"description": "Archived at the period's end (存量)"})


class SummaryAidRowOut(BaseSchema):
    amount = fields.String()
    households = fields.Integer()
    person_times = fields.Integer()
    goods_value = fields.String()


class SummaryAidFiguresOut(BaseSchema):
    by_type = fields.Dict(keys=fields.String(), values=fields.Nested(SummaryAidRowOut))
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(SummaryAidRowOut))
    total = fields.Nested(SummaryAidRowOut)


class SummaryFundFiguresOut(BaseSchema):
    received = fields.String()
    allocated_in = fields.String()
    allocated_out = fields.String()
    disbursed = fields.String()
    returned_in = fields.String(metadata={"description": "Money returned to the subtree's unions from below"})
    returned = fields.String(metadata={"description": "Money returned out (to finance or the parent)"})
    balance = fields.String()
    warning = fields.String()
    overdue = fields.String()


class SummaryMatchingOut(BaseSchema):
    required = fields.String()
    achieved = fields.String()
    ratio = fields.Float(metadata={"description": "achieved / required (0 when nothing is required)"})


class SummaryDeskOut(BaseSchema):
    received = fields.Integer()
    closed = fields.Integer()
    open = fields.Integer()
    closure_rate = fields.Float(metadata={"description": "closed / received, 0 to 1"})
    overdue = fields.Integer()


class SummaryPartOut(BaseSchema):
    tenant = fields.String()
    name = fields.String()
    level = fields.String()
    households = fields.Nested(SummaryHouseholdFiguresOut)
    aid = fields.Nested(SummaryAidFiguresOut)
    funds = fields.Nested(SummaryFundFiguresOut)
    matching = fields.Nested(SummaryMatchingOut)
    desk = fields.Nested(SummaryDeskOut)


class SummaryOut(SummaryPartOut):
    year = fields.Integer()
    month = fields.Integer(allow_none=True)
    start = fields.String(metadata={"description": "The period's first day (Asia/Shanghai)"})
    end = fields.String(metadata={"description": "The period's last day (Asia/Shanghai)"})
    exact = fields.Boolean(metadata={"description": "Computed directly from the base records"})
    own = fields.Nested(SummaryPartOut, metadata={"description": "The union's own records, without its children"})
    children = fields.List(fields.Nested(SummaryPartOut))


class FormQuery(InputSchema):
    """A report form's union and period (SPEC 6.3): the month is required by the monthly form only."""

    tenant = Text(required=True, max_length=CODE_LENGTH)
    year = Year(required=True)
    month = Whole(load_default=None, validate=between(1, 12))
