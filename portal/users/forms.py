"""User administration forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from portal.addresses import address_field, strip_text
from portal.auth.models import ROLES
from portal.forms import choices, no_control_chars
from portal.users import passwords
from portal.users.service import USERNAME_MESSAGE, USERNAME_PATTERN

USERNAME_RULE = Regexp(USERNAME_PATTERN, message=USERNAME_MESSAGE)


class UserDetailsForm(FlaskForm):
    display_name = StringField("Display name", validators=[
        DataRequired("Enter a display name."),
        Length(max=120, message="Display name must be at most 120 characters."),
        no_control_chars])
    email = EmailField("Email", filters=[strip_text], validators=[Optional(), address_field])
    is_system_admin = BooleanField("System administrator")


class UserEditForm(UserDetailsForm):
    active = BooleanField("Active (may sign in)")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(passwords.EMPTY_MESSAGE),
        Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH,
               message=passwords.LENGTH_MESSAGE)])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired("Repeat the password."),
        EqualTo("password", message="The two passwords do not match.")])


class UserCreateForm(UserDetailsForm, PasswordForm):
    username = StringField("Username", validators=[
        DataRequired("Enter a username."),
        Length(max=64, message="Username must be at most 64 characters."), USERNAME_RULE])


class MembershipForm(FlaskForm):
    team_id = SelectField("Team", coerce=int, validate_choice=True)
    role = SelectField("Role", choices=choices((r, r.capitalize()) for r in ROLES))
