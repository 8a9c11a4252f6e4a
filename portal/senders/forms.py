"""The sender form, with the field names other tools rely on (DESIGN §2)."""

import re

from cryptography import x509
from flask_babel import lazy_gettext as _l
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
from portal.mail.oauth import url_problem
from portal.senders.service import fallback_fits

ENCRYPTION_LABELS = [
    ("starttls", _l("STARTTLS (usually port 587 or 25)")),
    ("ssl", _l("SSL/TLS (implicit, usually port 465)")),
    ("none", _l("No encryption")),
]
MODE_LABELS = [("immediate", _l("Immediate: send during the request")),
               ("deferred", _l("Deferred: queue for the worker"))]
_HOST = re.compile(
    r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:]+)$")
MAX_PEM = 64 * 1024
MB = 1024 * 1024
MAX_MESSAGE_MB = 150  # Microsoft 365's ceiling; no public provider takes more


class MegabytesField(WholeNumberField):
    """A size typed in whole MB and stored in bytes (``SenderForm.values`` converts)."""

    def process_data(self, value):
        super().process_data(round(value / MB) if value else None)


AUTH_LABELS = [("password", _l("Password")), ("oauth2", _l("OAuth2 (Microsoft 365, Google)"))]
PROVIDER_LABELS = [("microsoft", _l("Microsoft 365")), ("google", _l("Google Workspace / Gmail")),
                   ("generic", _l("Other (any OAuth2 token URL)"))]
FLOW_LABELS = [("application", _l("Application: the app's own client secret")),
               ("delegated", _l("Delegated: a mailbox owner signs in once"))]


def host_name(form, field):
    if field.data and not _HOST.match(field.data.strip()):
        raise ValidationError(_l("Enter a host name or IP address, like smtp.example.com."))


def oauth_url(form, field):
    """An endpoint secrets are sent to: https://, or http:// on this machine only."""
    if (field.data or "").strip():
        problem = url_problem(field.data)
        if problem:
            raise ValidationError(_l(problem))


def pem_certificates(form, field):
    """Accept only PEM text holding at least one readable certificate."""
    data = (field.data or "").strip()
    if not data:
        return
    if len(data) > MAX_PEM:
        raise ValidationError(_l("The CA certificate is too large (64 KB at most)."))
    try:
        x509.load_pem_x509_certificates(data.encode())
    except ValueError as error:
        raise ValidationError(
            _l("This is not a PEM certificate. Paste the text that starts with "
               "-----BEGIN CERTIFICATE-----.")) from error


class SenderForm(FlaskForm):
    preset = SelectField(_l("Preset"), choices=choices([("", _l("Choose a provider…"))] + [
        (p.key, _l(p.label)) for p in PRESETS]), validate_choice=False)
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name so agents can tell senders apart.")),
        Length(max=120, message=_l("Name must be at most 120 characters.")), no_control_chars])
    team_id = SelectField(_l("Team"), validate_choice=True)
    host = StringField(_l("Mail server (SMTP)"), validators=[
        DataRequired(_l("Enter the mail server's host name.")),
        Length(max=255, message=_l("Mail server must be at most 255 characters.")),
        no_control_chars, host_name])
    port = WholeNumberField(_l("Port"), default=25, validators=[
        InputRequired(_l("Enter a port number between 1 and 65535.")),
        NumberRange(1, 65535, _l("Port must be a number between 1 and 65535."))])
    encryption = SelectField(_l("Encryption"), default="starttls",
                             choices=choices(ENCRYPTION_LABELS))
    address = EmailField(_l("Sender address"), filters=[strip_text], validators=[
        DataRequired(_l("Enter the address mail is sent from.")), address_field])
    username = StringField(_l("Username"), validators=[
        Optional(), Length(max=254, message=_l("Username must be at most 254 characters.")),
        no_control_chars])
    password = PasswordField(_l("Password / authorization code"), validators=[
        Optional(), Length(max=1024, message=_l("Password must be at most 1024 characters."))])
    auth_method = SelectField(_l("Authentication"), default="password",
                              choices=choices(AUTH_LABELS))
    oauth_provider = SelectField(_l("OAuth2 provider"), default="microsoft",
                                 choices=choices(PROVIDER_LABELS))
    oauth_flow = SelectField(_l("Sign-in"), default="application", choices=choices(FLOW_LABELS))
    oauth_tenant = StringField(_l("Tenant (directory) ID"), validators=[
        Optional(), Length(max=100, message=_l("Tenant must be at most 100 characters.")),
        no_control_chars])
    oauth_client_id = StringField(_l("Client (application) ID"), validators=[
        Optional(), Length(max=255, message=_l("Client ID must be at most 255 characters.")),
        no_control_chars])
    oauth_client_secret = PasswordField(_l("Client secret"), validators=[
        Optional(), Length(max=2048, message=_l("Client secret must be at most 2048 "
                                                "characters."))])
    oauth_token_url = StringField(_l("Token URL"), validators=[
        Optional(), Length(max=500, message=_l("Token URL must be at most 500 characters.")),
        oauth_url])
    oauth_authorize_url = StringField(_l("Authorization URL"), validators=[
        Optional(), Length(max=500, message=_l("Authorization URL must be at most 500 "
                                               "characters.")), oauth_url])
    oauth_scope = StringField(_l("Scope"), validators=[
        Optional(), Length(max=500, message=_l("Scope must be at most 500 characters.")),
        no_control_chars])
    display_name = StringField(_l("Displayed name"), validators=[
        DataRequired(_l("Enter the name recipients see, like “Reporting”.")),
        Length(max=120, message=_l("Displayed name must be at most 120 characters.")),
        no_control_chars])
    mode = SelectField(_l("Send mode"), default="immediate", choices=choices(MODE_LABELS))
    enabled = BooleanField(_l("Enabled"), default=True)
    allow_plain_auth = BooleanField(_l("Allow login without encryption"), default=False)
    ca_cert = TextAreaField(_l("CA certificate (PEM)"), validators=[Optional(), pem_certificates])
    rate_per_minute = WholeNumberField(_l("Messages per minute"), validators=[
        Optional(), NumberRange(1, 100000, _l("Messages per minute must be between 1 and "
                                              "100000, or empty for no limit."))])
    max_connections = WholeNumberField(_l("Parallel connections"), default=1, validators=[
        InputRequired(_l("Enter how many connections deferred delivery may open (1 or more).")),
        NumberRange(1, 20, _l("Parallel connections must be between 1 and 20."))])
    daily_recipient_quota = WholeNumberField(_l("Recipients per 24 hours"), validators=[
        Optional(), NumberRange(1, 10_000_000, _l("Recipients per 24 hours must be between 1 "
                                                  "and 10000000, or empty for no limit."))])
    max_recipients_per_message = WholeNumberField(_l("Recipients per message"), validators=[
        Optional(), NumberRange(1, 10_000, _l("Recipients per message must be between 1 and "
                                              "10000, or empty for no limit."))])
    fallback_sender_id = SelectField(_l("Fallback sender"), validate_choice=False)
    max_message_bytes = MegabytesField(_l("Largest message (MB)"), validators=[
        Optional(), NumberRange(1, MAX_MESSAGE_MB, _l(
            "Largest message must be between 1 and %(max)s MB, or empty for 25 MB."))])
    test_recipient = EmailField(_l("Test recipient"), filters=[strip_text],
                                validators=[Optional(), address_field])

    CONNECTION_FIELDS = ("host", "port", "encryption", "address", "username", "password",
                         "ca_cert", "display_name", "team_id", "allow_plain_auth",
                         "auth_method", "oauth_provider", "oauth_flow", "oauth_tenant",
                         "oauth_client_id", "oauth_client_secret", "oauth_token_url",
                         "oauth_authorize_url", "oauth_scope")

    def set_team_choices(self, teams, allow_system: bool) -> None:
        options = [("", _l("System (all teams)"))] if allow_system else []
        self.team_id.choices = choices(options + [(str(t.id), t.name) for t in teams])

    def set_fallback_choices(self, senders, current) -> None:
        """Enabled senders the admin may use in the sender's scope (system level, or its
        own team: ``service.fallback_fits``), never the sender itself; a stored fallback
        that is no longer one of them stays visible (saving it again says why not)."""
        options = [("", _l("None: mail waits while this sender cannot connect"))]
        options += [(str(s.id), s.name) for s in senders if current is None or (
            s.id != current.id and fallback_fits(s, current.team_id))]
        stored = current.fallback_sender_id if current is not None else None
        if stored and all(value != str(stored) for value, _label in options):
            options.append((str(stored), _l("Sender %(id)s (not usable)", id=stored)))
        self.fallback_sender_id.choices = choices(options)

    def process(self, *args, **kwargs) -> None:
        """Load the data; a password sender (no OAuth2 settings stored) or a form post
        from a script without the choices gets the defaults, not "not a valid choice"."""
        super().process(*args, **kwargs)
        for choice in (self.auth_method, self.oauth_provider, self.oauth_flow):
            if not choice.data:
                choice.data = choice.default

    def validate(self, extra_validators=None) -> bool:
        """The field rules, plus what an OAuth2 sender cannot do without."""
        ok = super().validate(extra_validators)
        if self.auth_method.data != "oauth2":
            return ok
        needed = [(self.oauth_client_id, _l("Enter the client (application) ID."))]
        if self.oauth_provider.data == "microsoft":
            needed.append((self.oauth_tenant, _l("Enter the tenant (directory) ID or the "
                                                 "tenant's domain.")))
        if self.oauth_provider.data == "generic":
            needed.append((self.oauth_token_url, _l("Enter the token URL.")))
            if self.oauth_flow.data == "delegated":
                needed.append((self.oauth_authorize_url, _l("Enter the authorization URL.")))
        if self.oauth_provider.data == "google" and self.oauth_flow.data == "application":
            self.oauth_flow.errors = [*self.oauth_flow.errors, _l(
                "Google gives SMTP tokens only to a signed-in account: choose Delegated.")]
            ok = False
        for field, message in needed:
            if not (field.data or "").strip() and not field.errors:
                field.errors = [*field.errors, message]
                ok = False
        return ok

    def values(self) -> dict:
        """The submitted values, trimmed, with the team as an id (None = system level)."""
        values = {name: field.data for name, field in self._fields.items()}
        values["team_id"] = int(self.team_id.data) if self.team_id.data else None
        fallback = str(self.fallback_sender_id.data or "")
        values["fallback_sender_id"] = int(fallback) if fallback.isascii() \
            and fallback.isdecimal() else None
        megabytes = self.max_message_bytes.data
        values["max_message_bytes"] = megabytes * MB if megabytes else None
        for name in ("name", "host", "address", "username", "display_name", "oauth_tenant",
                     "oauth_client_id", "oauth_token_url", "oauth_authorize_url", "oauth_scope"):
            values[name] = (values.get(name) or "").strip()
        return values

    def connection_errors(self) -> dict:
        """Errors of the fields a connection test needs; the others may still be blank."""
        self.validate()
        return {name: self.errors[name] for name in self.CONNECTION_FIELDS if name in self.errors}

