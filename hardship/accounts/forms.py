from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from hardship.accounts.schemas import UserCreate, UserUpdate
from hardship.web import SchemaLimits


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# The users forms only render and carry the inputs: their data is loaded through the API's schemas
# (hardship.accounts.schemas), which alone validate them.

class UserForm(SchemaLimits, FlaskForm):
    tenant = SelectField(_l("Union"), choices=[])
    username = StringField(_l("Username"))
    display_name = StringField(_l("Display name"))
    password = PasswordField(_l("Password"))
    limits = (UserCreate, {"username": "username", "display_name": "display_name", "password": "password"})
    roles = MultiCheckboxField(_l("Roles"), choices=[], validate_choice=False)


class UserEditForm(SchemaLimits, FlaskForm):
    display_name = StringField(_l("Display name"))
    password = PasswordField(_l("New password (leave empty to keep)"))
    limits = (UserUpdate, {"display_name": "display_name", "password": "password"})
    roles = MultiCheckboxField(_l("Roles"), choices=[], validate_choice=False)
    active = BooleanField(_l("Active"))


class PasswordForm(FlaskForm):
    """One's own password change, loaded through ``schemas.PasswordChange``."""

    current = PasswordField(_l("Current password"))
    new = PasswordField(_l("New password"))
    repeat = PasswordField(_l("New password again"))
