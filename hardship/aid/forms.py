"""Aid forms. They only carry the fields: the API's schemas (``aid.schemas``) load them (one validator for the
UI, the API and the command line)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField

from hardship.aid.models import KINDS, PROGRAM_TYPES
from hardship.aid.schemas import PersonIn, ProgramIn
from hardship.core.money import format_fen
from hardship.funds.models import SOURCES
from hardship.web import SchemaLimits


class ProgramForm(SchemaLimits, FlaskForm):
    type = SelectField(_l("Type"), choices=[], validate_choice=False)
    year = StringField(_l("Year"))
    name = StringField(_l("Name"))
    starts_on = StringField(_l("Starts on"))
    ends_on = StringField(_l("Ends on"))
    sources = SelectMultipleField(_l("Fund sources"), choices=[], validate_choice=False)
    limits = (ProgramIn, {"name": "name"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type.choices = [(k, str(v)) for k, v in PROGRAM_TYPES.items()]
        self.sources.choices = [(k, str(v)) for k, v in SOURCES.items()]

    def data_for_schema(self, tenant_code: str) -> dict:
        return {"tenant": tenant_code, "type": self.type.data or "", "year": self.year.data or "",
                "name": self.name.data or "", "starts_on": self.starts_on.data or None,
                "ends_on": self.ends_on.data or None, "sources": list(self.sources.data or []) or None}


class ItemForm(SchemaLimits, FlaskForm):
    """One item: an archived household by its number, or a named person."""

    household = StringField(_l("Archived household number"))
    kind = SelectField(_l("Beneficiary kind"), choices=[], validate_choice=False)
    name = StringField(_l("Name"))
    id_number = StringField(_l("ID number"))
    phone = StringField(_l("Phone"))
    reason = StringField(_l("Reason"))
    amount = StringField(_l("Amount (yuan)"))
    goods_item = SelectField(_l("Goods"), choices=[], validate_choice=False)
    goods_quantity = StringField(_l("Quantity of goods"))
    limits = (PersonIn, {"reason": "reason"})

    def __init__(self, *args, goods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", str(_l("(by the recipient)")))] + [(k, str(v)) for k, v in KINDS.items()]
        self.goods_item.choices = [("", str(_l("(no goods)")))] + [
            (str(i), str(_l("%(name)s (%(value)s yuan per %(unit)s, %(stock)s %(unit)s in stock)", name=name,
                            value=format_fen(value, grouped=True), unit=unit, stock=stock)))
            for i, name, unit, value, stock in goods]

    def data_for_schema(self) -> dict:
        item = {"kind": self.kind.data or None, "amount": (self.amount.data or "").strip() or None}
        chosen = (self.goods_item.data or "").strip()
        if chosen or (self.goods_quantity.data or "").strip():
            item["goods"] = {"item": int(chosen) if chosen.isdigit() else -1,
                             "quantity": (self.goods_quantity.data or "").strip() or None}
        if (self.household.data or "").strip():
            household = self.household.data.strip()
            item["household"] = int(household) if household.isdigit() else -1
        else:
            item["person"] = {"name": self.name.data or "", "id_number": self.id_number.data or "",
                              "phone": self.phone.data or None, "reason": self.reason.data or ""}
        return {"items": [item]}


class StepForm(FlaskForm):
    """A step of the batch (submit, approve, reject with a reason, pay with a document number and date)."""

    reason = StringField(_l("Reason"))
    document_no = StringField(_l("Document number"))
    date = StringField(_l("Date"))


class ItemsUploadForm(FlaskForm):
    """The file of a batch's items (``hardship.aid.upload`` reads it as the API does)."""

    file = FileField(_l("File (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file."))])
