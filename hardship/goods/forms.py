"""Goods forms. They only carry the fields: the API's schemas (``goods.schemas``) load them (one validator
for the UI, the API and the command line)."""

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField

from hardship.goods.models import GOODS_SOURCES
from hardship.goods.schemas import GoodsCorrectionIn, GoodsItemIn, GoodsReceiptIn
from hardship.web import SchemaLimits


def _new_key() -> str:
    return str(uuid.uuid4())


class _Form(SchemaLimits, FlaskForm):
    #: the form's fields the schema loads, and those of them left out when empty (the schema's default)
    loaded: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def data_for_schema(self) -> dict:
        """The fields as the schema loads them (a field the browser did not send is empty text)."""
        data = {name: getattr(self, name).data or "" for name in self.loaded}
        return {name: value for name, value in data.items() if value or name not in self.optional}


class ItemForm(_Form):
    name = StringField(_l("Goods"))
    unit = StringField(_l("Unit"))
    unit_value = StringField(_l("Value per unit (yuan)"))
    source = SelectField(_l("Origin of the goods"), choices=[], validate_choice=False)
    note = StringField(_l("Note"))
    limits = (GoodsItemIn, {"name": "name", "unit": "unit", "note": "note"})
    loaded = ("name", "unit", "unit_value", "source", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = [(k, str(v)) for k, v in GOODS_SOURCES.items()]


class DonationForm(_Form):
    quantity = StringField(_l("Quantity"))
    document_no = StringField(_l("Receipt or document number"))
    date = StringField(_l("Date"))
    note = StringField(_l("Note (donor)"))
    limits = (GoodsReceiptIn, {"document_no": "document_no", "note": "note"})
    loaded = ("quantity", "document_no", "date", "note")


class PurchaseForm(DonationForm):
    idempotency_key = HiddenField(default=_new_key)
    lot = SelectField(_l("Paid from"), choices=[], validate_choice=False)
    document_no = StringField(_l("Document number"))
    note = StringField(_l("Note"))

    def data_for_schema(self) -> dict:
        lot = self.lot.data or ""
        return {**super().data_for_schema(), "lot": int(lot) if lot.isdigit() else None}


class CorrectionForm(_Form):
    quantity = StringField(_l("Change of the stock (e.g. -3)"))
    reason = StringField(_l("Reason"))
    date = StringField(_l("Date"))
    limits = (GoodsCorrectionIn, {"reason": "reason"})
    loaded = ("quantity", "reason", "date")
    optional = ("date",)
