from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from hardship.web import SchemaLimits
from tenants.schemas import TenantCreate


class ChildTenantForm(SchemaLimits, FlaskForm):
    """Renders and carries the inputs; its data is loaded through :class:`tenants.schemas.TenantCreate`."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    level = SelectField(_l("Level"), choices=[], validate_choice=False)
    division_code = StringField(_l("Division code"))
    limits = (TenantCreate, {"code": "code", "name": "name", "division_code": "division_code"})
