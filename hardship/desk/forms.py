"""Service-desk forms. They only carry the fields: the API's schemas (``desk.schemas``) load them (one validator
for the UI, the API and the command line)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from hardship.desk.models import CATEGORIES, CHANNELS, KINDS, RESULTS, SATISFACTION
from hardship.desk.schemas import QUEUES, CaseCloseIn, CaseIn
from hardship.web import SchemaLimits


def _choices(labels: dict, empty=None) -> list[tuple[str, str]]:
    return ([("", str(empty))] if empty is not None else []) + [(k, str(v)) for k, v in labels.items()]


class CaseForm(SchemaLimits, FlaskForm):
    kind = SelectField(_l("Kind of case"), choices=[], validate_choice=False)
    channel = SelectField(_l("Channel"), choices=[], validate_choice=False)
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    name = StringField(_l("Name"))
    id_number = StringField(_l("ID number"))
    phone = StringField(_l("Phone"))
    enterprise = StringField(_l("Employer"))
    subject = TextAreaField(_l("Subject"))
    received_on = StringField(_l("Received on"))
    deadline = StringField(_l("Deadline (empty: by the settings)"))
    handler = SelectField(_l("Handler"), choices=[], validate_choice=False)
    limits = (CaseIn, {"subject": "subject", "enterprise": "person.enterprise"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(KINDS)
        self.channel.choices = _choices(CHANNELS)
        self.category.choices = _choices(CATEGORIES)

    def body(self, tenant_code: str) -> dict:
        """The form's data as ``CaseIn`` loads it (the person nested, as in the API)."""
        return {"tenant": tenant_code, "kind": self.kind.data or "", "channel": self.channel.data or "",
                "category": self.category.data or "", "subject": self.subject.data or "",
                "received_on": self.received_on.data or "", "deadline": self.deadline.data or "",
                "handler": self.handler.data or "",
                "person": {"name": self.name.data or "", "id_number": self.id_number.data or "",
                           "phone": self.phone.data or "", "enterprise": self.enterprise.data or ""}}


#: the schema's field paths on this form's inputs
CASE_FIELD_MAP = {"person.name": "name", "person.id_number": "id_number", "person.phone": "phone",
                  "person.enterprise": "enterprise"}


class ActionForm(SchemaLimits, FlaskForm):
    """Every action of the case page (each page form sends the inputs of its action)."""

    handler = SelectField(_l("Handler"), choices=[], validate_choice=False)
    to = SelectField(_l("Refer to the union below"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"))
    text = TextAreaField(_l("Text"))
    result = SelectField(_l("Result"), choices=[], validate_choice=False)
    satisfaction = SelectField(_l("Satisfaction of the person"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason"))
    limits = (CaseCloseIn, {"note": "note"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result.choices = _choices(RESULTS, _l("(choose)"))
        self.satisfaction.choices = _choices(SATISFACTION, _l("(not given)"))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    queue = SelectField(_l("Queue"), choices=[], validate_choice=False)
    kind = SelectField(_l("Kind of case"), choices=[], validate_choice=False)
    channel = SelectField(_l("Channel"), choices=[], validate_choice=False)
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    date_from = StringField(_l("Received from"))
    date_to = StringField(_l("Received to"))
    child = SelectField(_l("Union below"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queue.choices = _choices(QUEUES)
        self.kind.choices = _choices(KINDS, _l("(all)"))
        self.channel.choices = _choices(CHANNELS, _l("(all)"))
        self.category.choices = _choices(CATEGORIES, _l("(all)"))


__all__ = ["CaseForm", "ActionForm", "FilterForm", "CASE_FIELD_MAP"]
