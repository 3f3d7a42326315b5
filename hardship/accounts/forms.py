from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    tenant = SelectField(_l("Union"), choices=[])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=[])


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=50)])
    password = PasswordField(_l("New password (leave empty to keep)"), validators=[Optional(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=[])
    active = BooleanField(_l("Active"))
