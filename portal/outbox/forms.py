"""The compose form. Template variables arrive as extra ``var_<name>`` fields."""

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import choices, no_control_chars

_SPLIT = re.compile(r"[,;\s]+")


def split_addresses(raw: str | None) -> list[str]:
    """Addresses typed with commas, semicolons, spaces or one per line."""
    return [part for part in _SPLIT.split(raw or "") if part]


class ComposeForm(FlaskForm):
    sender_id = SelectField("Send from", validators=[DataRequired("Choose a sender.")])
    to = TextAreaField("To", validators=[DataRequired("Enter at least one recipient."),
                                         Length(max=20000)])
    cc = StringField("Cc", validators=[Optional(), Length(max=5000)])
    bcc = StringField("Bcc", validators=[Optional(), Length(max=5000)])
    individually = BooleanField("Send individually (one message per To address, queued)")
    template_id = SelectField("Template", validators=[Optional()])
    subject = StringField("Subject", validators=[
        Optional(), Length(max=998, message="Subject must be at most 998 characters."),
        no_control_chars])
    html_body = TextAreaField("Message (HTML)", validators=[Optional(), Length(max=200_000)])
    text_body = TextAreaField("Plain-text version (optional)",
                              validators=[Optional(), Length(max=200_000)])
    resource = StringField("About (report, job or page)", validators=[
        Optional(), Length(max=500, message="About must be at most 500 characters."),
        no_control_chars])

    def set_choices(self, senders, templates) -> None:
        self.sender_id.choices = choices(
            [("", "Choose a sender…")]
            + [(str(s.id), f"{s.name} <{s.address}> · {s.scope_label} · {s.mode}")
               for s in senders])
        self.template_id.choices = choices(
            [("", "No template: write the message below")]
            + [(str(t.id), f"{t.name} ({t.team.name if t.team else 'System'})")
               for t in templates])

    def variables(self, form_data) -> dict:
        """Values typed for the template's variables."""
        return {key[4:]: value for key, value in form_data.items() if key.startswith("var_")}
