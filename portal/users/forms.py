"""User administration forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from portal.addresses import address_field, strip_text
from portal.forms import choices, no_control_chars
from portal.i18n.marks import N_
from portal.users import passwords
from portal.users.service import USERNAME_MESSAGE, USERNAME_PATTERN

USERNAME_RULE = Regexp(USERNAME_PATTERN, message=_l(USERNAME_MESSAGE))
# A membership's role as people read it (the glossary's words); the stored value is the key.
ROLE_NAMES = {"admin": N_("Team admin"), "agent": N_("Agent")}


def password_rules() -> list:
    """The users page's password rules (see ``portal.users.passwords``), in the reader's
    language."""
    return [DataRequired(_l(passwords.EMPTY_MESSAGE)),
            Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH,
                   message=_l(passwords.LENGTH_TEMPLATE, min=passwords.MIN_LENGTH,
                              max=passwords.MAX_LENGTH))]


class UserDetailsForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[
        DataRequired(_l("Enter a display name.")),
        Length(max=120, message=_l("Display name must be at most 120 characters.")),
        no_control_chars])
    email = EmailField(_l("Email"), filters=[strip_text], validators=[Optional(), address_field])
    is_system_admin = BooleanField(_l("System administrator"))


class UserEditForm(UserDetailsForm):
    active = BooleanField(_l("Active (may sign in)"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=password_rules())
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(_l("Repeat the password.")),
        EqualTo("password", message=_l("The two passwords do not match."))])


class UserCreateForm(UserDetailsForm, PasswordForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username.")),
        Length(max=64, message=_l("Username must be at most 64 characters.")), USERNAME_RULE])


class MembershipForm(FlaskForm):
    team_id = SelectField(_l("Team"), coerce=int, validate_choice=True)
    role = SelectField(_l("Role"), choices=choices((role, _l(name))
                                                   for role, name in ROLE_NAMES.items()))
