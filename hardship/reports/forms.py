"""Report filing forms (SPEC 6.4). They only carry the fields: the API's schemas (``reports.schemas``) load them
(one validator for the UI, the API and the command line)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from hardship.reports.schemas import DecisionIn
from hardship.web import SchemaLimits


class FileForm(FlaskForm):
    """File this period's report: the form and period are hidden fields of the page's chosen period."""

    form = HiddenField()
    year = HiddenField()
    month = HiddenField()

    def data_for_schema(self, tenant_code: str) -> dict:
        return {"tenant": tenant_code, "form": self.form.data or "", "year": self.year.data or "",
                "month": self.month.data or ""}


class DecisionForm(SchemaLimits, FlaskForm):
    action = HiddenField()
    reason = StringField(_l("Reason for returning"))
    limits = (DecisionIn, {"reason": "reason"})

    def data_for_schema(self) -> dict:
        return {"action": self.action.data or "", "reason": self.reason.data or ""}
