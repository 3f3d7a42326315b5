"""The reports' input and output: the summary's query, loaded with :func:`hardship.api.load_data` by the API and
the summary page alike, and the summary's response (SPEC 6.1, appendix A)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validates_schema

from hardship.api import BaseSchema, between
from hardship.archives.schemas import CODE_LENGTH, InputSchema
from hardship.core.fields import Choice, Flag, Text, Whole, Year
from hardship.reports.models import FORMS, MONTHLY_FORMS


class SummaryQuery(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    year = Year(required=True)
    month = Whole(load_default=None, validate=between(1, 12))
    #: the figures computed directly from the base records (the oracle; for auditors) instead of the kept ones
    exact = Flag(default=False)


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
# ---------------------------------------------------------------- filing upward (SPEC 6.4)

class FilingPeriodIn(InputSchema):
    """A form and its period: a month for the monthly form, none for the annual forms."""

    tenant = Text(required=True, max_length=CODE_LENGTH)
    form = Choice(FORMS, required=True)
    year = Year(required=True)
    month = Whole(load_default=None, validate=between(1, 12))

    @validates_schema
    def month_fits_form(self, data, **kwargs):
        form, month = data.get("form"), data.get("month")
        if form in MONTHLY_FORMS and month is None:
            raise ValidationError({"month": [_l("A monthly report needs its month.")]})
        if form is not None and form not in MONTHLY_FORMS and month is not None:
            raise ValidationError({"month": [_l("An annual report has no month.")]})


class DecisionIn(InputSchema):
    action = Choice({"accept": _l("Accept"), "return": _l("Return")}, required=True)
    reason = Text(max_length=500, multiline=True)

    @validates_schema
    def reason_for_return(self, data, **kwargs):
        if data.get("action") == "return" and not data.get("reason"):
            raise ValidationError({"reason": [_l("Say why the report is returned.")]})


class FilingBriefOut(BaseSchema):
    id = fields.Integer()
    form = fields.String()
    form_label = fields.String()
    year = fields.Integer()
    month = fields.Integer(allow_none=True)
    version = fields.Integer()
    status = fields.String(metadata={"description": "filed | accepted | returned"})
    status_label = fields.String()
    due_on = fields.String(allow_none=True)
    late = fields.Boolean(metadata={"description": "Filed after the due date"})
    filed_at = fields.String()
    decided_at = fields.String(allow_none=True)
    return_reason = fields.String()


class SheetColumnOut(BaseSchema):
    header = fields.String(metadata={"description": "The form's Chinese column header"})
    kind = fields.String(metadata={"description": "count | money (a decimal string of yuan) | percent (45.5)"})


class SheetOut(BaseSchema):
    columns = fields.List(fields.Nested(SheetColumnOut), metadata={
        "description": "The figure columns (each row starts with the union's code and name before them)"})
    rows = fields.List(fields.List(fields.Raw()), metadata={
        "description": "A row per direct child, the union's own row, then the total (合计)"})


class FilingOut(FilingBriefOut):
    snapshot = fields.Nested(SummaryOut, metadata={"description": "The frozen summary of the period as filed"})
    sheet = fields.Nested(SheetOut, allow_none=True, metadata={
        "description": "The report form as filed, frozen with it (null on versions filed before forms were kept)"})


class FilingListOut(BaseSchema):
    items = fields.List(fields.Nested(FilingBriefOut))


class BoardRowOut(BaseSchema):
    tenant = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "missing | not_due | on_time | late | returned | accepted"})
    status_label = fields.String()
    due_on = fields.String()
    filing_id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    late = fields.Boolean()
    return_reason = fields.String()


class BoardOut(BaseSchema):
    items = fields.List(fields.Nested(BoardRowOut))


class ComparisonRowOut(BaseSchema):
    figure = fields.String()
    label = fields.String()
    money = fields.Boolean(metadata={"description": "An amount in fen (else a count)"})
    built = fields.Integer(metadata={"description": "Own live records plus the children's accepted reports"})
    live = fields.Integer(metadata={"description": "The live summary"})
    differs = fields.Boolean()


class ComparisonChildOut(BaseSchema):
    tenant = fields.String()
    name = fields.String()
    accepted = fields.Boolean()
    version = fields.Integer(allow_none=True)


class ComparisonOut(BaseSchema):
    tenant = fields.String()
    form = fields.String()
    year = fields.Integer()
    month = fields.Integer(allow_none=True)
    children = fields.List(fields.Nested(ComparisonChildOut))
    rows = fields.List(fields.Nested(ComparisonRowOut))
