"""Test connection and Send test mail, on the values currently in the sender form."""

from dataclasses import dataclass

from flask_babel import gettext as _

from portal.dbtypes import utcnow
from portal.errors import ServiceError
from portal.extensions import db
from portal.i18n.formatting import when
from portal.mail import (
    ComposeError,
    Diagnosis,
    InvalidAddressError,
    ProbeReport,
    build_test_mail,
    diagnose,
    probe,
)
from portal.outbox import lifecycle, quota
from portal.outbox.delivery import SESSION_STEPS
from portal.outbox.records import new_message
from portal.senders import oauth
from portal.senders.models import Sender
from portal.senders.service import MOVED_AWAY_MESSAGE, moved_away, smtp_settings

TEST_MAIL_TEMPLATE = "Test mail"  # stored in the record: not translated


@dataclass
class CheckResult:
    """What the result panel shows: each step, and the diagnosis when one failed."""

    action: str  # "connection" or "mail"
    report: ProbeReport
    diagnosis: Diagnosis | None
    recipient: str
    message_pk: int | None = None


def secret_problems(values: dict, stored: Sender | None) -> dict:
    """A stored secret the check would use elsewhere than it was saved for, or a
    missing one: the same refusals as Save (``service.save_sender``)."""
    if not values.get("password") and moved_away(values, stored):
        return {"password": [str(MOVED_AWAY_MESSAGE)]}
    try:
        oauth.check_secret(values, stored)
    except ServiceError as error:
        return {error.field: [error.message]}
    return {}


def recipient_problems(form, action: str) -> dict:
    """The test recipient is checked like any recipient whenever it is filled in (Test
    connection uses it for RCPT TO as well); Send test mail cannot do without one.
    Runs after ``form.validate()``, so the field's own errors are known."""
    if form.test_recipient.errors:
        return {"test_recipient": list(form.test_recipient.errors)}
    if action == "mail" and not form.test_recipient.data:
        return {"test_recipient": [_("Enter a test recipient to send the test mail to.")]}
    return {}


def check_connection(values: dict, stored: Sender | None, timeout: float) -> CheckResult:
    """Connect, TLS, EHLO, login, MAIL FROM, RCPT TO, then RSET and QUIT: nothing is sent."""
    recipient = values.get("test_recipient") or values["address"]
    settings = smtp_settings(values, stored, timeout)
    report = probe(settings, values["address"], recipient)
    return CheckResult("connection", report, _diagnosis(report), recipient)


def send_test_mail(values: dict, stored: Sender | None, timeout: float, *,
                   user_id: int | None, client_ip: str | None) -> CheckResult:
    """Send the test mail and keep it as a sending record with template "Test mail".

    The record is committed as started before the hand-over, like any immediate send,
    so a request that dies mid-way leaves it for recovery rather than nowhere. A failed
    test mail is final: the worker would retry it with the stored settings, not the
    ones being tested.
    """
    booking = None
    if stored is not None:  # a saved sender's test mail counts against its quotas too
        booking = quota.check(stored, 1)
        if isinstance(booking, quota.Wait):
            raise quota.Refused(quota.refusal(stored.name, booking))
    try:
        return _send_test_mail(values, stored, timeout, booking, user_id=user_id,
                               client_ip=client_ip)
    except Exception:
        db.session.rollback()
        quota.give_back(booking)  # nothing reached the server
        raise


def _send_test_mail(values: dict, stored: Sender | None, timeout: float, booking, *,
                    user_id: int | None, client_ip: str | None) -> CheckResult:
    """``send_test_mail`` once its recipient is booked; the booking is given back when
    the session never opened (nothing was offered to the server)."""
    recipient = values["test_recipient"]
    settings = smtp_settings(values, stored, timeout)
    msg = build_test_mail(values["address"], values["display_name"], recipient,
                          sent_at=when(utcnow()))
    message = new_message(
        msg=msg, sender_id=stored.id if stored is not None else None,
        sender_name=values.get("name") or values["display_name"],
        sender_address=values["address"], sender_reason="test mail",
        team_id=values.get("team_id"), user_id=user_id, client_ip=client_ip, to=[recipient],
        html=msg.get_body(("html",)).get_content(), text=None,
        template_name=TEST_MAIL_TEMPLATE, resource=None, mode="immediate")
    lifecycle.start_immediate(message)
    db.session.commit()
    started = utcnow()
    report = probe(settings, values["address"], recipient, msg)
    if stored is not None:
        quota.after_reply(stored.id, report.error,
                          report.result.refused if report.result is not None else None)
    if report.error is not None and report.error.step in SESSION_STEPS:
        quota.give_back(booking)
    lifecycle.finish_immediate(message, started, result=report.result, error=report.error,
                               retry=False)
    return CheckResult("mail", report, _diagnosis(report), recipient, message_pk=message.id)


def _diagnosis(report: ProbeReport) -> Diagnosis | None:
    """The panel's diagnosis in the reader's language; nothing retries a check, so no
    "will be retried"."""
    return diagnose(report.error, retrying=False) if report.error is not None else None


def compose_problem(error: ComposeError) -> str:
    """What the mail core refused, in the reader's language; the panel adds the label."""
    if isinstance(error, InvalidAddressError) and "value" in error.params:
        return _("%(value)s is not a valid address", value=error.params["value"])
    return error.localized()
