"""The template form: sizes, one-line subject, scope choices and template syntax."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import choices, no_control_chars
from portal.templates_.render import check_syntax

MAX_BODY_BYTES = 200 * 1024
MAX_SAMPLE_CHARS = 20_000


def at_most_bytes(limit: int):
    """Limit a text's size as stored (UTF-8), which is what mail and the database see."""

    def check(form, field):
        if field.data and len(field.data.encode("utf-8")) > limit:
            raise ValidationError(_("%(field)s is too large (%(size)s KB at most).",
                                    field=field.label.text, size=limit // 1024))

    return check


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name for the template.")),
        Length(max=120, message=_l("Name must be at most 120 characters.")), no_control_chars])
    team_id = SelectField(_l("Team"), validate_choice=False)
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Enter a subject.")),
        Length(max=998, message=_l("Subject must be at most 998 characters.")),
        no_control_chars])
    html_body = TextAreaField(_l("HTML body"), validators=[
        DataRequired(_l("Enter the HTML body.")), at_most_bytes(MAX_BODY_BYTES)])
    text_body = TextAreaField(_l("Plain-text body (optional)"), validators=[
        Optional(), at_most_bytes(MAX_BODY_BYTES)])
    preview_variables = TextAreaField(_l("Preview variables"), validators=[
        Optional(), Length(max=MAX_SAMPLE_CHARS,
                           message=_l("Preview variables must be at most 20000 characters."))])

    def set_team_choices(self, teams, allow_system: bool) -> None:
        """Offer system level only to system admins, and only teams the user administers."""
        options = [("", _("System (all teams)"))] if allow_system else []
        self.team_id.choices = choices(options + [(str(t.id), t.name) for t in teams])

    def validate_team_id(self, field) -> None:
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError(_("Choose one of the listed teams: only system "
                                    "administrators can manage system-level templates."))

    def validate(self, extra_validators=None) -> bool:
        """The field checks, then template syntax on the parts that passed them."""
        valid = super().validate(extra_validators)
        problems = check_syntax(self.subject.data or "", self.html_body.data or "",
                                self.text_body.data or None)
        for name, message in problems.items():
            field = getattr(self, name)
            if not field.errors:
                field.errors.append(message)
                valid = False
        return valid
