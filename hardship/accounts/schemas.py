"""API schemas for accounts."""

from marshmallow import fields

from hardship.api import BaseSchema


class TokenRequest(BaseSchema):
    username = fields.String(required=True)
    password = fields.String(required=True)


class TokenResponse(BaseSchema):
    token = fields.String()
    expires_at = fields.DateTime()


class UserCreate(BaseSchema):
    username = fields.String(required=True)
    password = fields.String(required=True)
    display_name = fields.String(load_default="")
    roles = fields.List(fields.String(), required=True)


class UserUpdate(BaseSchema):
    display_name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    password = fields.String()


class UserOut(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    tenant = fields.Function(lambda u: u.tenant.code)
    roles = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()


class UserList(BaseSchema):
    users = fields.List(fields.Nested(UserOut))
