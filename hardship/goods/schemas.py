"""The goods stock's input and output: one schema per input, loaded by the API, the pages and the command
line alike (``hardship.api.load_data``). A quantity is a whole number of the item's units (see
:mod:`hardship.goods.models`): ``2.5``, ``0``, ``-1`` and ``true`` are refused, never rounded."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from hardship.api import BaseSchema, between
from hardship.core import idcard
from hardship.core.fields import Choice, Day, Fen, FiscalYear, Flag, Text, Whole
from hardship.funds.models import SOURCES
from hardship.goods.models import GOODS_SOURCES, MAX_QUANTITY, MOVEMENT_KINDS

_CODE = {"required": True, "max_length": 32}


class Quantity(Whole):
    """A whole number of units, from 1 to :data:`MAX_QUANTITY`."""

    def parse(self, value):
        text = idcard.fold_digits(str(value)).strip()
        if re.fullmatch(r"-?[0-9]+[.,][0-9]*", text):
            raise idcard.FieldError(_l("A whole number of units: goods are counted in whole units, e.g. 2."))
        if text.startswith("-"):
            raise idcard.FieldError(_l("Must be more than zero."))
        number = super().parse(value)
        if number == 0:
            raise idcard.FieldError(_l("Must be more than zero."))
        if number > MAX_QUANTITY:
            raise idcard.FieldError(_l("At most %(n)d units at once.", n=MAX_QUANTITY))
        return number


class SignedQuantity(Quantity):
    """A correction's change of the stock: a whole number of units, ``-3`` takes three away; not zero."""

    def parse(self, value):
        text = idcard.fold_digits(str(value)).strip()
        if text.startswith("-"):
            return -super().parse(text[1:])
        return super().parse(value)


class GoodsItemIn(BaseSchema):
    """A new goods item of a union."""

    tenant = Text(**_CODE)
    name = Text(required=True, max_length=100, metadata={"description": "what it is, e.g. 大米"})
    unit = Text(required=True, max_length=10, metadata={"description": "the unit counted, e.g. 袋, 公斤, 桶"})
    unit_value = Fen(required=True, metadata={"description": "value of one unit in yuan, e.g. \"50.00\""})
    source = Choice(GOODS_SOURCES, load_default="donation",
                    metadata={"description": "how it enters the stock: donation (default) or purchase"})
    note = Text(max_length=500)


class GoodsReceiptIn(BaseSchema):
    """Goods entering the stock: a donation received, or a purchase paid from a fund lot through the ledger
    (the lot named by ``lot`` or by ``source`` and ``fiscal_year``; needs the header ``Idempotency-Key``)."""

    quantity = Quantity(required=True)
    kind = Choice(GOODS_SOURCES, load_default=None,
                  metadata={"description": "donation or purchase; default: the item's source"})
    source = Choice(SOURCES, load_default=None, metadata={"description": "a purchase: the fund source of its lot"})
    fiscal_year = FiscalYear(load_default=None, metadata={"description": "a purchase: the fiscal year of its lot"})
    lot = fields.Integer(load_default=None, strict=True, validate=between(1, 2**31 - 1),
                         metadata={"description": "a purchase: the lot's id instead of source and fiscal year"})
    document_no = Text(max_length=100, metadata={"description": "文号 or receipt number; required for a purchase"})
    date = Day(required=True, past_only=True)
    note = Text(max_length=500)


class GoodsHandOutIn(BaseSchema):
    quantity = Quantity(required=True)
    reference = Text(required=True, max_length=64, metadata={"description": "what it is for, e.g. batch_item:41"})
    date = Day(load_default=None, past_only=True)
    note = Text(max_length=500)


class GoodsCorrectionIn(BaseSchema):
    quantity = SignedQuantity(required=True, metadata={"description": "the change, e.g. -3 (three bags spoiled)"})
    reason = Text(required=True, max_length=500)
    date = Day(load_default=None, past_only=True)


class GoodsQuery(BaseSchema):
    tenant = Text(**_CODE)
    subtree = Flag()


class GoodsMovementQuery(BaseSchema):
    page = Whole(load_default=1, validate=between(1, 100000))


# ---------------------------------------------------------------- responses

def _required(field_cls=fields.String, **kwargs):
    return field_cls(required=True, **kwargs)


def _nullable(field_cls=fields.String, **kwargs):
    return _required(field_cls, allow_none=True, **kwargs)


class GoodsItemOut(BaseSchema):
    id = _required(fields.Integer)
    tenant = _required(metadata={"description": "code of the union"})
    tenant_name = _required()
    name = _required()
    unit = _required()
    unit_value = _required(metadata={"description": "yuan as a decimal string"})
    source = _required(validate=validate.OneOf(list(GOODS_SOURCES)))
    stock = _required(fields.Integer, metadata={"description": "whole units in stock"})
    stock_value = _required(metadata={"description": "stock x unit value, yuan as a decimal string"})
    note = _required()
    created_at = _required()


class GoodsListOut(BaseSchema):
    tenant = _required()
    subtree = _required(fields.Boolean)
    items = _required(fields.List, cls_or_instance=fields.Nested(GoodsItemOut))
    total_value = _required(metadata={"description": "the stock's value, yuan as a decimal string"})


class GoodsMovementOut(BaseSchema):
    id = _required(fields.Integer)
    item = _required(fields.Integer)
    kind = _required(validate=validate.OneOf(list(MOVEMENT_KINDS)))
    quantity = _required(fields.Integer, metadata={"description": "signed: what it added to the stock"})
    value = _required(metadata={"description": "signed, yuan as a decimal string"})
    stock_after = _required(fields.Integer)
    date = _required()
    document_no = _required()
    note = _required()
    reference = _nullable()
    transaction = _nullable(fields.Integer, metadata={"description": "the ledger's disbursement of a purchase"})
    created_by = _nullable()
    created_at = _required()


class GoodsMovementPage(BaseSchema):
    item = _required(fields.Nested, nested=GoodsItemOut)
    page = _required(fields.Integer)
    per_page = _required(fields.Integer)
    total = _required(fields.Integer)
    movements = _required(fields.List, cls_or_instance=fields.Nested(GoodsMovementOut))
