"""Flask-free delivery core: settings, message composition, SMTP sessions, diagnosis, presets.

Nothing in this package needs an app, a request or the database, so the same code
serves the web requests, the deferred-delivery worker, the CLI and the tests. Texts people
read are English msgids (``portal.i18n.marks.N_``) translated with Flask-Babel's
``gettext`` where they are shown: outside a request that is English.
"""

from portal.mail.compose import (
    ComposeError,
    HeaderInjectionError,
    InvalidAddressError,
    build_message,
    check_header,
    envelope_recipients,
    flatten_message,
    html_to_text,
)
from portal.mail.diagnosis import Diagnosis, diagnose
from portal.mail.errors import DeliveryError
from portal.mail.presets import PRESETS, PRESETS_BY_KEY, Preset, get_preset
from portal.mail.probe import ProbeReport, Step, probe
from portal.mail.settings import ENCRYPTIONS, SmtpSettings
from portal.mail.smtp import SendResult, SmtpSession, open_session
from portal.mail.testmail import TEST_MAIL_SUBJECT, build_test_mail

__all__ = [
    "ENCRYPTIONS",
    "PRESETS",
    "PRESETS_BY_KEY",
    "TEST_MAIL_SUBJECT",
    "ComposeError",
    "DeliveryError",
    "Diagnosis",
    "HeaderInjectionError",
    "InvalidAddressError",
    "Preset",
    "ProbeReport",
    "SendResult",
    "SmtpSession",
    "SmtpSettings",
    "Step",
    "build_message",
    "build_test_mail",
    "check_header",
    "diagnose",
    "envelope_recipients",
    "flatten_message",
    "get_preset",
    "html_to_text",
    "open_session",
    "probe",
]
