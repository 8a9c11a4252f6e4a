"""The profile's forms: who I am and how the portal speaks to me; my password."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from portal.forms import no_control_chars
from portal.i18n.locales import LOCALES, valid_locale
from portal.i18n.zones import all_zones, valid_zone
from portal.users.forms import password_rules


def _known_locale(form, field):
    if field.data and not valid_locale(field.data):
        raise ValidationError(_("Choose a language from the list."))


def _known_zone(form, field):
    if field.data and not valid_zone(field.data):
        raise ValidationError(_("Choose a time zone from the list, e.g. Asia/Shanghai."))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[
        DataRequired(_l("Enter a display name.")),
        Length(max=120, message=_l("Display name must be at most 120 characters.")),
        no_control_chars])
    # Choices are set per request (``fill_choices``): their labels are translated.
    locale = SelectField(_l("Language"), validate_choice=False, validators=[_known_locale])
    timezone = SelectField(_l("Time zone"), validate_choice=False, validators=[_known_zone])

    def fill_choices(self) -> "ProfileForm":
        """Languages named in their own script (anyone can find theirs), after "Automatic";
        every time zone after the system default."""
        self.locale.choices = [("", _("Automatic (the browser's language)")),
                               *LOCALES.items()]
        default = current_app.config["DEFAULT_TIMEZONE"]
        self.timezone.choices = [("", _("System default (%(zone)s)", zone=default)),
                                 *((zone, zone) for zone in all_zones())]
        return self


class OwnPasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")),
        Length(max=256, message=_l("Password is too long."))])
    password = PasswordField(_l("New password"), validators=password_rules())
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")),
        EqualTo("password", message=_l("The two passwords do not match."))])
