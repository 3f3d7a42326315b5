"""Schemas of accounts: what the API, the users pages and the command line load, and what the API sends."""

import re

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from hardship.api import BaseSchema
from hardship.core.fields import Choice, Pattern, Text
from tenants.levels import ROLES

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 200


def username_field(**kwargs) -> Pattern:
    """A username, lower-cased: 3 to 64 letters, digits, '.', '_' or '-'."""
    return Pattern(USERNAME_RE, _l("3 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or "
                                   "digit."), normalise=str.lower, max_length=64, **kwargs)


def new_password(**kwargs) -> Text:
    """A new password: kept as typed, from :data:`MIN_PASSWORD` to :data:`MAX_PASSWORD` characters."""
    return Text(strip=False, max_length=MAX_PASSWORD,
                validate=validate.Length(min=MIN_PASSWORD, error=_l("At least %(n)d characters.", n=MIN_PASSWORD)),
                **kwargs)


def role_list(**kwargs) -> fields.List:
    """Roles of :data:`tenants.levels.ROLES`, at least one (which of them a level has is the operation's rule)."""
    role = Choice(ROLES, required=True, unknown=lambda value, known: _l("Not a role at this level: %(roles)s.",
                                                                         roles=value))
    return fields.List(role, validate=validate.Length(min=1, error=_l("Choose at least one role.")), **kwargs)


class TokenRequest(BaseSchema):
    username = Text(required=True, max_length=64)
    password = Text(required=True, strip=False, max_length=MAX_PASSWORD)


class UserCreate(BaseSchema):
    username = username_field(required=True)
    password = new_password(required=True)
    display_name = Text(max_length=50)
    roles = role_list(required=True)


class UserUpdate(BaseSchema):
    """A partial change: what is left out stays as it is."""

    display_name = Text(max_length=50, load_default=fields.missing_)
    roles = role_list()
    active = fields.Boolean()  # not Flag: a null must not be read as "no" and disable the user
    password = new_password(load_default=fields.missing_)


class PasswordChange(BaseSchema):
    """A user's change of their own password (``PUT /auth/password``, the password page): the current one and
    the new one (the rules of any new password); the page's repetition of the new one, when sent, must match."""

    current = Text(required=True, strip=False, max_length=MAX_PASSWORD)
    new = new_password(required=True)
    repeat = Text(strip=False, max_length=MAX_PASSWORD, load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def repeated_alike(self, data, **kwargs):
        if data.get("repeat") is not None and data["repeat"] != data["new"]:
            raise ValidationError({"repeat": [_l("The two new passwords differ.")]})
        if data["new"] == data["current"]:
            raise ValidationError({"new": [_l("Choose a password different from the current one.")]})


class UserOut(BaseSchema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    tenant = fields.String(required=True, attribute="tenant.code", metadata={"description": "code of the user's union"})
    roles = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class MeOut(UserOut):
    capabilities = fields.Function(lambda user: sorted(user.capabilities), required=True,
                                   metadata={"type": "array", "items": {"type": "string"}})


class TokenResponse(BaseSchema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(UserOut, required=True)


class UserList(BaseSchema):
    users = fields.List(fields.Nested(UserOut), required=True)
