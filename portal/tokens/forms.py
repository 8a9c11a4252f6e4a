"""The token form: a name saying which system uses it, and its scope."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.errors import ServiceError
from portal.forms import choices, no_control_chars
from portal.tokens.callback import MAX_URL, check_url
from portal.tokens.models import ApiToken


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name that says which system uses the token.")),
        Length(max=120, message=_l("Name must be at most 120 characters.")), no_control_chars])
    team_id = SelectField(_l("Team"), validate_choice=False)
    callback_url = StringField(_l("Callback URL (optional)"), validators=[
        Optional(), Length(max=MAX_URL, message=_l("The callback URL must be at most %(num)d "
                                                   "characters.", num=MAX_URL))])

    def set_team_choices(self, teams, allow_system: bool) -> None:
        """System scope only for system admins; only teams the user administers."""
        options = [("", _(ApiToken.SYSTEM_LABEL))] if allow_system else []
        self.team_id.choices = choices(options + [(str(t.id), t.name) for t in teams])

    def validate_team_id(self, field) -> None:
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError(_("Choose one of the listed teams: only system "
                                    "administrators can create system tokens."))

    def validate_callback_url(self, field) -> None:
        try:
            check_url(field.data)
        except ServiceError as error:
            raise ValidationError(error.message) from error

    def team_value(self) -> int | None:
        return int(self.team_id.data) if self.team_id.data else None


class CallbackForm(FlaskForm):
    """Set, change or remove an existing token's callback URL."""

    callback_url = StringField(_l("Callback URL"), validators=[
        Optional(), Length(max=MAX_URL, message=_l("The callback URL must be at most %(num)d "
                                                   "characters.", num=MAX_URL))])

    validate_callback_url = TokenForm.validate_callback_url
