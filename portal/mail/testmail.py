"""The "Send test mail" message, written in the language of the admin who sends it."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask_babel import gettext
from markupsafe import Markup, escape

from portal.i18n.marks import N_
from portal.mail.compose import build_message

# The test mail in the admin's language. Never "test" (nor 测试 / 測試) in the subject:
# some providers (163: "554 DT:SPM") reject such mail as spam.
TEST_MAIL_SUBJECT = N_("Mail server configured successfully")
TEST_MAIL_TEXTS = (
    N_("Hello,"),
    N_("Congratulations! Your mail server is configured successfully."),
    N_("This message was sent by the Mailbox Portal as %(address)s at %(time)s."),
    N_("No action is needed."),
)


def build_test_mail(from_address: str, display_name: str, to: str | list[str], *,
                    sent_at: str | None = None) -> EmailMessage:
    """The "Send test mail" message, in the language of the admin who sends it (the
    current locale); its subject avoids words that spam filters punish ("test", 测试).
    ``sent_at`` is the sending time as the admin reads it (default: this host's time)."""
    recipients = [to] if isinstance(to, str) else list(to)
    when = sent_at or datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    address = Markup("<strong>%s</strong>") % from_address
    body = "".join(Markup("<p>%s</p>") % paragraph for paragraph in (
        gettext(TEST_MAIL_TEXTS[0]),
        gettext(TEST_MAIL_TEXTS[1]),
        escape(gettext(TEST_MAIL_TEXTS[2])) % {"address": address, "time": when},
        gettext(TEST_MAIL_TEXTS[3])))
    return build_message(
        from_address=from_address,
        display_name=display_name,
        to=recipients,
        subject=gettext(TEST_MAIL_SUBJECT),
        html=str(body),
    )
