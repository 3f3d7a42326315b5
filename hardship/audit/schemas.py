"""The audit log's input and output (the API, the page and the export load their filters through these)."""

from __future__ import annotations

from marshmallow import fields

from hardship.api import BaseSchema, between
from hardship.core.fields import Day, Text, Whole


class AuditQuery(BaseSchema):
    tenant = Text(required=True, max_length=32)
    #: a code (``funds.allocation``) or part of an action's name in the reader's language (``下拨``)
    action = Text(max_length=64, load_default=None)
    #: a user name, exactly
    user = Text(max_length=64, load_default=None)
    #: a union of the subtree, by code
    union = Text(max_length=32, load_default=None)
    date_from = Day(load_default=None)
    date_to = Day(load_default=None)
    #: the record: its kind (``Household``, ``FundTransaction``, ``User``, ...) and its id
    record_type = Text(max_length=64, load_default=None)
    record_id = Text(max_length=64, load_default=None)
    page = Whole(load_default=1, validate=between(1, 100000))


class DetailField(BaseSchema):
    label = fields.String(required=True)
    value = fields.String(required=True)


class AuditOut(BaseSchema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    tenant = fields.String(required=True)
    tenant_name = fields.String(required=True)
    username = fields.String(required=True, allow_none=True)
    action = fields.String(required=True)
    action_label = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True, allow_none=True)
    record_kind = fields.String(required=True)
    record_label = fields.String(required=True, allow_none=True)
    #: the record's page in the UI, when it has one
    record_url = fields.String(required=True, allow_none=True)
    #: as the reader may see it: a household's reasons and texts masked unless the reader keeps the household
    detail = fields.Dict(required=True, allow_none=True)
    detail_fields = fields.List(fields.Nested(DetailField), required=True)


class AuditPage(BaseSchema):
    events = fields.List(fields.Nested(AuditOut), required=True)
    page = fields.Integer(required=True)
