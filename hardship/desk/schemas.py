"""The service desk's input and output: one schema per input, loaded with :func:`hardship.api.load_data` by the
API, the web forms, the command line and the demo; operations receive the clean values."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from hardship.api import BaseSchema, between
from hardship.archives.schemas import CODE_LENGTH, InputSchema
from hardship.core.fields import Choice, Day, Fen, Flag, IdNumber, Name, Phone, Text, Whole, Year
from hardship.desk.models import (
    CATEGORIES,
    CHANNELS,
    KINDS,
    LEGAL_OUTCOMES,
    RESULTS,
    SATISFACTION,
)

#: the longest subject, note or answer a case takes (characters)
MAX_TEXT = 2000
MAX_ATTACHMENTS = 50

QUEUES = {"mine": _l("My cases"), "open": _l("Open cases"), "referred_to_us": _l("Referred to us"),
          "referred_by_us": _l("Referred by us"), "closed": _l("Closed cases")}


def _note(required: bool = False) -> Text:
    return Text(required=required, max_length=MAX_TEXT, multiline=True)


class CasePersonIn(InputSchema):
    """The person who came to the window: a name; the ID number (optional: it links the case to the person's
    open household in the archive), a phone and the employer."""

    name = Name(required=True)
    id_number = IdNumber(load_default=None)
    phone = Phone(load_default=None)
    enterprise = Text(max_length=100)


class CaseLookupIn(InputSchema):
    """The registration page's search of the archive by ID number."""

    id_number = IdNumber(required=True)


class CaseAttachmentIn(InputSchema):
    name = Text(required=True, max_length=200)
    date = Day(past_only=True, load_default=None)


class CaseIn(InputSchema):
    """A case registered at the window of ``tenant`` (the caller's own union)."""

    tenant = Text(required=True, max_length=CODE_LENGTH)
    kind = Choice(KINDS, required=True)
    channel = Choice(CHANNELS, required=True)
    category = Choice(CATEGORIES, required=True)
    person = fields.Nested(CasePersonIn, required=True)
    subject = _note(required=True)
    #: the day the case came in (default: today); never in the future
    received_on = Day(past_only=True, load_default=None)
    #: default: the received day plus the ``desk_deadline_days`` setting (by kind where set)
    deadline = Day(load_default=None)
    #: the username of a handler of the union (default: nobody yet)
    handler = Text(max_length=64)
    attachments = fields.List(fields.Nested(CaseAttachmentIn), load_default=list, validate=validate.Length(
        max=MAX_ATTACHMENTS, error=_l("At most %(n)d attachments.", n=MAX_ATTACHMENTS)))

    @validates_schema(skip_on_field_errors=True)
    def deadline_ahead(self, data, **kwargs):
        deadline = data.get("deadline")
        if deadline is None:
            return
        if deadline < date.today():
            raise ValidationError({"deadline": [_l("The deadline cannot be in the past.")]})
        if data.get("received_on") and deadline < data["received_on"]:
            raise ValidationError({"deadline": [_l("The deadline cannot be before the day the case came in.")]})


class CaseAssignIn(InputSchema):
    handler = Text(required=True, max_length=64)
    note = _note()


class CaseReferIn(InputSchema):
    #: the code of a union below the case's union
    to = Text(required=True, max_length=CODE_LENGTH)
    note = _note()


class CaseTextIn(InputSchema):
    """An answer from the union below, or a reply to the person."""

    text = _note(required=True)


class CaseCloseIn(InputSchema):
    result = Choice(RESULTS, required=True)
    note = _note()
    #: when the person gives one
    satisfaction = Choice(SATISFACTION, load_default=None)


class CaseReopenIn(InputSchema):
    reason = _note(required=True)


#: the kind-specific record of each kind: its fields (the record endpoint takes those of the case's kind)
RECORD_FIELDS = {
    "legal_aid": ("legal_lawyer", "legal_dispute_type", "legal_claimed", "legal_won", "legal_outcome"),
    "job_referral": ("job_employer", "job_title", "job_placed", "job_placed_on"),
    "training": ("training_course", "training_hours", "training_completed", "training_certificate"),
    "petition": (),
}


class CaseRecordIn(InputSchema):
    """Legal aid: lawyer or firm, dispute type, amounts claimed and won, outcome; job referral: employer, job,
    placed or not and when; training: course, hours, completed or not, certificate."""

    legal_lawyer = Text(max_length=100)
    legal_dispute_type = Text(max_length=100)
    legal_claimed = Fen(allow_zero=True, load_default=None)
    legal_won = Fen(allow_zero=True, load_default=None)
    legal_outcome = Choice(LEGAL_OUTCOMES, load_default=None)
    job_employer = Text(max_length=100)
    job_title = Text(max_length=100)
    job_placed = Flag(default=None)
    job_placed_on = Day(past_only=True, load_default=None)
    training_course = Text(max_length=100)
    training_hours = Whole(load_default=None, validate=between(0, 10000))
    training_completed = Flag(default=None)
    training_certificate = Text(max_length=100)


class CaseFilters(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    queue = Choice(QUEUES, load_default="open")
    kind = Choice(KINDS, load_default=None)
    channel = Choice(CHANNELS, load_default=None)
    category = Choice(CATEGORIES, load_default=None)
    #: received on or after / on or before
    date_from = Day(load_default=None)
    date_to = Day(load_default=None)
    #: the code of a union below: only the cases registered in its subtree
    child = Text(max_length=CODE_LENGTH)


class CaseQuery(CaseFilters):
    page = Whole(load_default=1, validate=between(1, 100000))


FILTERS = ("kind", "channel", "category", "date_from", "date_to", "child")


def filters_of(args: dict) -> dict:
    return {k: args.get(k) or None for k in FILTERS}


class DeskFiguresQuery(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    year = Year(load_default=None)
    month = Whole(load_default=None, validate=between(1, 12))


# ---------------------------------------------------------------- responses

def _nullable():
    return fields.String(allow_none=True)


class CasePersonOut(BaseSchema):
    name = fields.String()
    id_number = _nullable()
    phone = _nullable()
    enterprise = fields.String()
    #: the open household in the archive the person heads or belongs to (visible to the reader), if any
    household = fields.Integer(allow_none=True)


class CaseAttachmentOut(BaseSchema):
    name = fields.String()
    date = _nullable()


class CaseOut(BaseSchema):
    id = fields.Integer()
    tenant = fields.String(metadata={"description": "The union that registered the case"})
    tenant_name = fields.String()
    held_by = fields.String(metadata={"description": "The union holding it: its own, or the one it was referred to"})
    held_by_name = fields.String()
    kind = fields.String()
    channel = fields.String()
    category = fields.String()
    status = fields.String()
    person = fields.Nested(CasePersonOut)
    subject = fields.String()
    received_on = fields.String()
    deadline = fields.String()
    overdue = fields.Boolean()
    handler = _nullable()
    result = _nullable()
    satisfaction = _nullable()
    closed_on = _nullable()
    attachments = fields.List(fields.Nested(CaseAttachmentOut))
    record = fields.Dict(metadata={"description": "The kind-specific record (money as decimal strings)"})
    masked = fields.Boolean(metadata={"description": "Whether the person's ID number, phone and identifiers in the "
                                                     "subject are masked for you"})


class CasePageOut(BaseSchema):
    tenant = fields.String()
    queue = fields.String()
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    cases = fields.List(fields.Nested(CaseOut))


class CaseEventOut(BaseSchema):
    id = fields.Integer()
    at = fields.String()
    username = _nullable()
    union = _nullable()
    action = fields.String()
    note = fields.String()
    detail = fields.Dict()


class CaseHistoryOut(BaseSchema):
    case = fields.Integer()
    events = fields.List(fields.Nested(CaseEventOut))


class DeskCountsOut(BaseSchema):
    received = fields.Integer()
    closed = fields.Integer()
    closure_rate = fields.Float(metadata={"description": "closed / received, 0 to 1 (0 when none received)"})
    open = fields.Integer()
    overdue_open = fields.Integer()
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())


class DeskChildFiguresOut(DeskCountsOut):
    tenant = fields.String()
    name = fields.String()


class DeskFiguresOut(DeskCountsOut):
    tenant = fields.String()
    year = fields.Integer()
    month = fields.Integer(allow_none=True)
    children = fields.List(fields.Nested(DeskChildFiguresOut))
