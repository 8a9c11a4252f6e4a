"""The sender form, with the field names other tools rely on (DESIGN §2)."""

import re

from cryptography import x509
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.addresses import address_field, strip_text
from portal.forms import WholeNumberField, choices, no_control_chars
from portal.mail import PRESETS

ENCRYPTION_LABELS = [
    ("starttls", "STARTTLS (usually port 587 or 25)"),
    ("ssl", "SSL/TLS (implicit, usually port 465)"),
    ("none", "No encryption"),
]
MODE_LABELS = [("immediate", "Immediate: send during the request"),
               ("deferred", "Deferred: queue for the worker")]
_HOST = re.compile(
    r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:]+)$")
MAX_PEM = 64 * 1024


def host_name(form, field):
    if field.data and not _HOST.match(field.data.strip()):
        raise ValidationError("Enter a host name or IP address, like smtp.example.com.")


def pem_certificates(form, field):
    """Accept only PEM text holding at least one readable certificate."""
    data = (field.data or "").strip()
    if not data:
        return
    if len(data) > MAX_PEM:
        raise ValidationError("The CA certificate is too large (64 KB at most).")
    try:
        x509.load_pem_x509_certificates(data.encode())
    except ValueError as error:
        raise ValidationError(
            "This is not a PEM certificate. Paste the text that starts with "
            "-----BEGIN CERTIFICATE-----.") from error


class SenderForm(FlaskForm):
    preset = SelectField("Preset", choices=choices([("", "Choose a provider…")] + [
        (p.key, p.label) for p in PRESETS]), validate_choice=False)
    name = StringField("Name", validators=[
        DataRequired("Enter a name so agents can tell senders apart."),
        Length(max=120, message="Name must be at most 120 characters."), no_control_chars])
    team_id = SelectField("Team", validate_choice=True)
    host = StringField("Mail server (SMTP)", validators=[
        DataRequired("Enter the mail server's host name."),
        Length(max=255, message="Mail server must be at most 255 characters."),
        no_control_chars, host_name])
    port = WholeNumberField("Port", default=25, validators=[
        InputRequired("Enter a port number between 1 and 65535."),
        NumberRange(1, 65535, "Port must be a number between 1 and 65535.")])
    encryption = SelectField("Encryption", default="starttls", choices=choices(ENCRYPTION_LABELS))
    address = EmailField("Sender address", filters=[strip_text], validators=[
        DataRequired("Enter the address mail is sent from."), address_field])
    username = StringField("Username", validators=[
        Optional(), Length(max=254, message="Username must be at most 254 characters."),
        no_control_chars])
    password = PasswordField("Password / authorization code", validators=[
        Optional(), Length(max=1024, message="Password must be at most 1024 characters.")])
    display_name = StringField("Displayed name", validators=[
        DataRequired("Enter the name recipients see, like “Reporting”."),
        Length(max=120, message="Displayed name must be at most 120 characters."),
        no_control_chars])
    mode = SelectField("Send mode", default="immediate", choices=choices(MODE_LABELS))
    enabled = BooleanField("Enabled", default=True)
    allow_plain_auth = BooleanField("Allow login without encryption", default=False)
    ca_cert = TextAreaField("CA certificate (PEM)", validators=[Optional(), pem_certificates])
    rate_per_minute = WholeNumberField("Messages per minute", validators=[
        Optional(), NumberRange(1, 100000, "Messages per minute must be between 1 and 100000, "
                                "or empty for no limit.")])
    max_connections = WholeNumberField("Parallel connections", default=1, validators=[
        InputRequired("Enter how many connections deferred delivery may open (1 or more)."),
        NumberRange(1, 20, "Parallel connections must be between 1 and 20.")])
    test_recipient = EmailField("Test recipient", filters=[strip_text],
                                validators=[Optional(), address_field])

    CONNECTION_FIELDS = ("host", "port", "encryption", "address", "username", "password",
                         "ca_cert", "display_name", "team_id", "allow_plain_auth")

    def set_team_choices(self, teams, allow_system: bool) -> None:
        options = [("", "System (all teams)")] if allow_system else []
        self.team_id.choices = choices(options + [(str(t.id), t.name) for t in teams])

    def values(self) -> dict:
        """The submitted values, trimmed, with the team as an id (None = system level)."""
        values = {name: field.data for name, field in self._fields.items()}
        values["team_id"] = int(self.team_id.data) if self.team_id.data else None
        for name in ("name", "host", "address", "username", "display_name"):
            values[name] = (values.get(name) or "").strip()
        return values

    def connection_errors(self) -> dict:
        """Errors of the fields a connection test needs; the others may still be blank."""
        self.validate()
        return {name: self.errors[name] for name in self.CONNECTION_FIELDS if name in self.errors}

