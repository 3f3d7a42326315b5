"""Ledger forms. They only carry the fields: the API's schemas (``funds.schemas``) load them (one validator
for the UI, the API and the command line). Each form instance carries its idempotency key (the page's
``?form=`` key, see ``funds.views``), so a double click, a re-sent form or Back and 记账 again posts once."""

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField

from hardship.funds.models import PURPOSES, SOURCES
from hardship.funds.postings import POSTING_FIELDS
from hardship.funds.schemas import PostingIn, ReversalIn
from hardship.web import SchemaLimits


def _new_key() -> str:
    return str(uuid.uuid4())


class _PostingForm(SchemaLimits, FlaskForm):
    idempotency_key = HiddenField(default=_new_key)
    source = SelectField(_l("Source"), choices=[], validate_choice=False)
    fiscal_year = StringField(_l("Fiscal year"))
    amount = StringField(_l("Amount (yuan)"))
    document_no = StringField(_l("Document number"))
    date = StringField(_l("Date"))
    note = StringField(_l("Note"))
    limits = (PostingIn, {"document_no": "document_no", "note": "note"})
    #: shown when the ledger refused the posting as a duplicate of an earlier one
    confirm_separate = BooleanField(_l("This is a separate posting (the same document number and amount were "
                                       "already posted)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = [(k, str(v)) for k, v in SOURCES.items()]

    def data_for_operation(self) -> dict:
        """The fields as the schema loads them (a field the browser did not send is empty text)."""
        return {**{name: getattr(self, name).data or "" for name in POSTING_FIELDS},
                "confirm_separate": bool(self.confirm_separate.data)}


class ReceiptForm(_PostingForm):
    pass


class AllocationForm(_PostingForm):
    to = SelectField(_l("To the child union"), choices=[], validate_choice=False)
    purpose = SelectField(_l("Earmarked for"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.purpose.choices = [("", str(_l("(no earmark)")))] + [(k, str(v)) for k, v in PURPOSES.items()]

    def data_for_operation(self) -> dict:
        return {**super().data_for_operation(), "to": self.to.data or "", "purpose": self.purpose.data or None}


class ReturnForm(_PostingForm):
    to = SelectField(_l("Return to"), choices=[], validate_choice=False)

    def data_for_operation(self) -> dict:
        return {**super().data_for_operation(), "to": self.to.data or ""}


class ReversalForm(SchemaLimits, FlaskForm):
    idempotency_key = HiddenField(default=_new_key)
    document_no = StringField(_l("Document number of the reversal"))
    date = StringField(_l("Date"))
    note = StringField(_l("Reason"))
    limits = (ReversalIn, {"document_no": "document_no", "note": "note"})
