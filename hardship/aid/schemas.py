"""The aid module's input and output: one schema per input, loaded by the API, the pages and the command
line alike (``hardship.api.load_data``), built on the shared fields of :mod:`hardship.core.fields`. Formats
are checked here; the rules (standards, no duplicate aid, states, roles) are the operations'."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validates_schema

from hardship.aid.models import BATCH_STATUSES, HOUSEHOLD_KINDS, ITEM_STATUSES, KINDS, PROGRAM_TYPES
from hardship.api import BaseSchema, between
from hardship.core.fields import Choice, Day, Fen, Flag, IdNumber, Name, Phone, Text, Whole, Year
from hardship.funds.models import SOURCES
from hardship.goods.models import MAX_QUANTITY

_CODE = {"required": True, "max_length": 32}
_ID = {"strict": True, "validate": between(1, 2**31 - 1)}


class StandardIn(BaseSchema):
    """A standard per beneficiary kind: minimum and maximum per household (per person for frontline); above
    ``max`` and up to ``max_with_head`` with the head's approval (emergency aid)."""

    kind = Choice(KINDS, required=True)
    min = Fen(load_default=None, allow_none=True)
    max = Fen(load_default=None, allow_none=True)
    max_with_head = Fen(load_default=None, allow_none=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        low, high, head = data.get("min"), data.get("max"), data.get("max_with_head")
        if low is not None and high is not None and low > high:
            raise ValidationError({"max": [_l("Must not be below the minimum.")]})
        if head is not None and high is not None and head < high:
            raise ValidationError({"max_with_head": [_l("Must not be below the maximum.")]})


class _ProgramFields(BaseSchema):
    name = Text(required=True, max_length=100)
    starts_on = Day(load_default=None, allow_none=True)
    ends_on = Day(load_default=None, allow_none=True)
    sources = fields.List(Choice(SOURCES, required=True), load_default=None, allow_none=True,
                          metadata={"description": "allowed fund sources (default: the type's)"})
    allow_non_archived = Flag(default=None)
    approval_threshold = Fen(load_default=None, allow_none=True, metadata={"description": "default 1000.00"})
    standards = fields.List(fields.Nested(StandardIn), load_default=None, allow_none=True,
                            metadata={"description": "default: the type's standards (SPEC 5.1)"})

    @validates_schema
    def _period(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError({"ends_on": [_l("The period ends before it starts.")]})
        kinds = [s["kind"] for s in data.get("standards") or ()]
        if len(kinds) != len(set(kinds)):
            raise ValidationError({"standards": [_l("One standard per beneficiary kind.")]})


class ProgramIn(_ProgramFields):
    tenant = Text(**_CODE)
    type = Choice(PROGRAM_TYPES, required=True)
    year = Year(required=True)


class ProgramUpdate(_ProgramFields):
    """A program's changes (PATCH: only the fields sent)."""


class PersonIn(BaseSchema):
    name = Name(required=True)
    id_number = IdNumber(required=True)
    phone = Phone(load_default=None, allow_none=True)
    reason = Text(max_length=200)


class GoodsIn(BaseSchema):
    """Goods handed out with an item (SPEC 5.7): a goods item of the union that pays the program, whole units."""

    item = fields.Integer(required=True, **_ID)
    quantity = Whole(required=True, validate=between(1, MAX_QUANTITY))


class ItemIn(BaseSchema):
    """A recipient: an archived household (``household``) or a named person (``person``), with the amount in
    cash and/or goods (``goods``: their value, 物资折款, counts toward the standard)."""

    household = fields.Integer(load_default=None, allow_none=True, **_ID)
    person = fields.Nested(PersonIn, load_default=None, allow_none=True)
    kind = Choice(KINDS, load_default=None)
    amount = Fen(allow_zero=True, load_default=None, allow_none=True,
                 metadata={"description": "cash in yuan as a decimal string, e.g. \"600.00\" (may be omitted "
                                          "or \"0.00\" when goods are given)"})
    goods = fields.Nested(GoodsIn, load_default=None, allow_none=True,
                          metadata={"description": "{\"item\": goods item id, \"quantity\": whole units}"})
    reason = Text(max_length=200)
    override_reason = Text(max_length=500, load_default=None, allow_none=True,
                           metadata={"description": "a head's reason to aid a person again this year "
                                                    "(living and emergency aid)"})

    @validates_schema
    def _one_recipient(self, data, **kwargs):
        if (data.get("household") is None) == (data.get("person") is None):
            raise ValidationError({"household": [_l("Name either an archived household or a person.")]})
        if not data.get("amount") and data.get("goods") is None:
            raise ValidationError({"amount": [_l("Name an amount of cash or goods to hand out.")]})

    @post_load
    def _cash(self, data, **kwargs):
        data["amount"] = data.get("amount") or 0
        return data


class BatchIn(BaseSchema):
    tenant = Text(**_CODE)
    note = Text(max_length=500)
    items = fields.List(fields.Nested(ItemIn), load_default=list)


class ItemsIn(BaseSchema):
    items = fields.List(fields.Nested(ItemIn), required=True)


class RecipientIdIn(BaseSchema):
    """The ID number by which a row of an uploaded file names an archived household (``hardship.aid.upload``)."""

    id_number = IdNumber(required=True)


class ItemsUploadIn(BaseSchema):
    """multipart/form-data: the file of items (xlsx, or csv in UTF-8 or GB18030; columns 受助类别, 身份证号, 姓名,
    电话, 原因, 金额); its rows are loaded one by one with :class:`ItemIn` by ``hardship.aid.upload``."""

    file = fields.Raw(required=True, error_messages={
        "required": _l("Attach the file as the multipart field \"file\".")}, metadata={
        "type": "string", "format": "binary", "description": "xlsx or csv, at most 20 MB and 10,000 rows"})


class ProposeIn(BaseSchema):
    kind = Choice({k: KINDS[k] for k in HOUSEHOLD_KINDS}, load_default="archived")
    amount = Fen(load_default=None, allow_none=True, metadata={"description": "default: the standard's minimum"})


class ActionIn(BaseSchema):
    """Submit and approve: no fields (a note is welcome)."""

    note = Text(max_length=500)


class RejectIn(BaseSchema):
    reason = Text(required=True, max_length=500)


class PayIn(BaseSchema):
    document_no = Text(required=True, max_length=100, metadata={"description": "文号 of the payment"})
    date = Day(required=True, past_only=True)
    lot = fields.Integer(load_default=None, allow_none=True, **_ID)
    note = Text(max_length=500)


class ItemReceiptIn(BaseSchema):
    signed_by = Name(required=True)
    date = Day(load_default=None, allow_none=True, past_only=True)


class ProgramQuery(BaseSchema):
    tenant = Text(**_CODE)
    year = Year(load_default=None)


class QueueQuery(BaseSchema):
    tenant = Text(**_CODE)


class BatchQuery(BaseSchema):
    status = Choice(BATCH_STATUSES, load_default=None)
    page = Whole(load_default=1, validate=between(1, 100000))


# ---------------------------------------------------------------- responses

def _req(field_cls=fields.String, **kwargs):
    return field_cls(required=True, **kwargs)


def _null(field_cls=fields.String, **kwargs):
    return field_cls(required=True, allow_none=True, **kwargs)


class StandardOut(BaseSchema):
    kind = _req()
    kind_label = _req()
    min = _null()
    max = _null()
    max_with_head = _null()


class ProgramOut(BaseSchema):
    id = _req(fields.Integer)
    tenant = _req()
    tenant_name = _req()
    type = _req()
    type_label = _req()
    year = _req(fields.Integer)
    name = _req()
    starts_on = _null()
    ends_on = _null()
    sources = _req(fields.List, cls_or_instance=fields.String())
    allow_non_archived = _req(fields.Boolean)
    approval_threshold = _req()
    standards = _req(fields.List, cls_or_instance=fields.Nested(StandardOut))


class ProgramList(BaseSchema):
    tenant = _req()
    programs = _req(fields.List, cls_or_instance=fields.Nested(ProgramOut))


class GoodsOut(BaseSchema):
    item = _req(fields.Integer)
    name = _req()
    unit = _req()
    quantity = _req(fields.Integer)
    value = _req(metadata={"description": "quantity x unit value (物资折款), yuan"})
    label = _req(metadata={"description": "e.g. 大米 2袋"})


class ItemOut(BaseSchema):
    id = _req(fields.Integer)
    kind = _req()
    kind_label = _req()
    household = _null(fields.Integer)
    name = _req()
    id_number = _null(metadata={"description": "masked"})
    phone = _null(metadata={"description": "masked"})
    reason = _req()
    amount = _req()
    goods = _null(fields.Nested, nested=GoodsOut)
    value = _req(metadata={"description": "cash + goods value: what the standards check"})
    needs_head = _req(fields.Boolean)
    override_reason = _null()
    status = _req(validate=lambda s: s in ITEM_STATUSES)
    status_label = _req()
    signed_by = _null()
    received_on = _null()


class BatchEventOut(BaseSchema):
    at = _req()
    username = _null()
    action = _req()
    action_label = _req()
    from_status = _null()
    to_status = _null()
    reason = _req()


class BatchOut(BaseSchema):
    id = _req(fields.Integer)
    program = _req(fields.Integer)
    program_name = _req()
    tenant = _req()
    tenant_name = _req()
    status = _req(validate=lambda s: s in BATCH_STATUSES)
    status_label = _req()
    note = _req()
    created_by = _null()
    total = _req()
    goods_total = _req(metadata={"description": "value of the goods handed out (物资折款)"})
    count = _req(fields.Integer)
    needs_head = _req(fields.Boolean)
    approved_by = _null()
    head_approved_by = _null()
    reject_reason = _null()
    transaction = _null(fields.Integer)
    paid_on = _null()
    items = _req(fields.List, cls_or_instance=fields.Nested(ItemOut))
    history = _req(fields.List, cls_or_instance=fields.Nested(BatchEventOut))


class BatchRow(BaseSchema):
    id = _req(fields.Integer)
    program = _req(fields.Integer)
    program_name = _req()
    tenant = _req()
    tenant_name = _req()
    status = _req()
    status_label = _req()
    total = _req()
    count = _req(fields.Integer)
    needs_head = _req(fields.Boolean)
    waiting_for = _null(metadata={"description": "approver | head | pay, for the approval queue"})


class BatchList(BaseSchema):
    batches = _req(fields.List, cls_or_instance=fields.Nested(BatchRow))


class ProposeOut(BaseSchema):
    added = _req(fields.Integer)
    skipped = _req(fields.Integer)
    batch = _req(fields.Nested, nested=BatchOut)


class KindTotal(BaseSchema):
    kind = _req()
    kind_label = _req()
    amount = _req()
    goods = _req(metadata={"description": "goods value (物资折款)"})
    count = _req(fields.Integer)


class UnionTotal(BaseSchema):
    tenant = _req()
    tenant_name = _req()
    amount = _req()
    goods = _req(metadata={"description": "goods value (物资折款)"})
    count = _req(fields.Integer)


class SourceTotal(BaseSchema):
    source = _req()
    amount = _req()


class LateItem(BaseSchema):
    batch = _req(fields.Integer)
    item = _req(fields.Integer)
    name = _req()
    amount = _req()


class ProgramTotals(BaseSchema):
    """Paid and received items of the program in your subtree (``not_received``: paid, not signed for, after the
    program's period)."""

    program = _req(fields.Integer)
    paid = _req()
    received = _req()
    goods_paid = _req(metadata={"description": "value of the goods handed out (物资折款)"})
    goods_received = _req()
    by_kind = _req(fields.List, cls_or_instance=fields.Nested(KindTotal))
    by_union = _req(fields.List, cls_or_instance=fields.Nested(UnionTotal))
    by_source = _req(fields.List, cls_or_instance=fields.Nested(SourceTotal))
    not_received = _req(fields.List, cls_or_instance=fields.Nested(LateItem))


class AidHistoryRow(BaseSchema):
    program = _req(fields.Integer)
    program_name = _req()
    type = _req()
    year = _null(fields.Integer)
    batch = _req(fields.Integer)
    batch_status = _req()
    item = _req(fields.Integer)
    amount = _req()
    goods = _null(metadata={"description": "e.g. 大米 2袋"})
    goods_value = _null()
    status = _req()
    status_label = _req()
    received_on = _null()


class AidHistory(BaseSchema):
    household = _req(fields.Integer)
    aid = _req(fields.List, cls_or_instance=fields.Nested(AidHistoryRow))


class VisitIn(BaseSchema):
    """A follow-up visit (回访); ``relieved``: record relief (解困) on the household as well (its archive's
    approver)."""

    visited_on = Day(required=True, past_only=True)
    visitors = fields.List(Name(), required=True)
    notes = Text(required=True, max_length=2000, multiline=True)
    relieved = Flag()

    @validates_schema
    def _someone(self, data, **kwargs):
        if not data.get("visitors"):
            raise ValidationError({"visitors": [_l("Name who visited.")]})


class VisitOut(BaseSchema):
    id = _req(fields.Integer)
    item = _req(fields.Integer)
    visited_on = _req()
    visitors = _req(fields.List, cls_or_instance=fields.String())
    notes = _req()
    relieved = _req(fields.Boolean)


class UnassistedQuery(BaseSchema):
    tenant = Text(**_CODE)
    year = Year(required=True)


class PaidItemsQuery(BaseSchema):
    """The items behind the summary's aid figures: a union's subtree, a year (and month), one program type or
    the batches that drew on one fund source."""
    tenant = Text(**_CODE)
    year = Year(required=True)
    month = Whole(load_default=None, validate=between(1, 12))
    program_type = Choice(PROGRAM_TYPES, load_default=None)
    source = Choice(SOURCES, load_default=None)
    page = Whole(load_default=1, validate=between(1, 100000))


class PaidItemRow(BaseSchema):
    id = _req(fields.Integer)
    batch = _req(fields.Integer)
    paid_on = _req()
    tenant = _req()
    tenant_name = _req()
    program = _req(fields.Integer)
    program_name = _req()
    program_type = _req()
    program_type_label = _req()
    kind = _req()
    kind_label = _req()
    name = _req()
    household = _null(fields.Integer)
    amount = _req(metadata={"description": "Cash, yuan"})
    goods_value = _req(metadata={"description": "Goods at their value (物资折款), yuan"})
    status = _req()
    status_label = _req()


class PaidItemsTotal(BaseSchema):
    count = _req(fields.Integer, metadata={"description": "Items: the summary's person-times"})
    households = _req(fields.Integer, metadata={"description": "Distinct recipients per paying union"})
    amount = _req()
    goods_value = _req()


class PaidItemsOut(BaseSchema):
    tenant = _req()
    start = _req()
    end = _req(metadata={"description": "The period's last day"})
    page = _req(fields.Integer)
    pages = _req(fields.Integer)
    total = fields.Nested(PaidItemsTotal, required=True)
    items = _req(fields.List, cls_or_instance=fields.Nested(PaidItemRow))


class UnassistedRow(BaseSchema):
    household = _req(fields.Integer)
    name = _req()
    tenant = _req()
    tenant_name = _req()


class UnassistedOut(BaseSchema):
    tenant = _req()
    year = _req(fields.Integer)
    households = _req(fields.List, cls_or_instance=fields.Nested(UnassistedRow))
