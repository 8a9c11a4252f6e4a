"""Classifying real servers' replies by their words and enhanced status code, not only
by the step; choosing and keeping a refusal verbatim."""

from __future__ import annotations

import pytest

from portal.mail.errors import (
    REASONS,
    DeliveryError,
    enhanced_status,
    from_reply,
    reason_for,
    refused_error,
)

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

# (step, the server's reply line as it arrives, reason, kind)
REAL = [
    # Postfix, smtpd_delay_reject=yes: sender, relay and client refusals come at RCPT.
    ("rcpt", "553 5.7.1 <reports@corp.example>: Sender address rejected: not owned by user "
     "reports@corp.example", "sender_rejected", "permanent"),
    ("rcpt", "554 5.7.1 <x@outside.example>: Relay access denied", "relay_denied", "permanent"),
    ("rcpt", "554 5.7.1 <unknown[10.1.2.3]>: Client host rejected: Access denied",
     "client_rejected", "permanent"),
    ("rcpt", "550 5.1.1 <gone@corp.example>: Recipient address rejected: User unknown in "
     "virtual mailbox table", "recipient_rejected", "permanent"),
    ("mail_from", "530 5.7.0 Authentication required", "auth_required", "permanent"),
    ("rcpt", "530 5.7.0 Authentication required", "auth_required", "permanent"),
    ("data", "530 5.7.0 Authentication required", "auth_required", "permanent"),
    ("mail_from", "530 5.7.0 Must issue a STARTTLS command first", "tls_required", "permanent"),
    ("rcpt", "452 4.5.3 Error: too many recipients", "too_many_recipients", "transient"),
    ("rcpt", "552 5.5.3 Too many recipients", "too_many_recipients", "transient"),
    ("data", "552 5.3.4 Message size exceeds fixed limit", "message_too_large", "permanent"),
    ("data", "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
     "send_as_denied", "permanent"),
    ("auth", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
     "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
     "basic_auth_disabled", "permanent"),
    ("auth", "550 5.7.30 Basic authentication is not supported for Client Submission.",
     "basic_auth_disabled", "permanent"),
    ("mail_from", "501 mail from address must be same as authorization user",
     "from_must_match_login", "permanent"),
    ("mail_from", "553 Mail from must equal authorized user", "from_must_match_login",
     "permanent"),
    ("data", "554 DT:SPM 163 smtp14,EsCowAC...: Message is considered spam",
     "spam_suspected", "permanent"),
    ("data", "554 DT:SUM envelope sender is not the same as the sender in the header",
     "envelope_mismatch", "permanent"),
    ("data", "554 MI:STC 163 smtp14,EsCowAC...: Sending quota exceeded for today",
     "daily_quota", "transient"),
    ("mail_from", "451 MI:SFQ 163 smtp14,EsCowAC...: 15-minute sending quota exceeded",
     "rate_quota", "transient"),
    ("connect", "421 HL:ICC 163 smtp14,EsCowAC...: too many connections", "too_many_connections",
     "transient"),
    ("auth", "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6", "auth_failed", "permanent"),
    ("auth", "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.",
     "auth_failed", "permanent"),
    ("rcpt", "450 4.2.0 <a@corp.example>: Recipient address rejected: Greylisted",
     "temporary", "transient"),
    ("rcpt", "450 4.1.8 <reports@corp.example>: Sender address rejected: Domain not found",
     "temporary", "transient"),
    ("data", "451 4.3.0 Error: queue file write error", "temporary", "transient"),
    ("rcpt", "550 5.7.1 Delivery not authorized", "recipient_rejected", "permanent"),
    ("data", "554 5.7.1 Delivery not authorized", "content_rejected", "permanent"),
]


def _from_line(step: str, line: str) -> DeliveryError:
    return from_reply(step, int(line[:3]), line[4:].encode())


@pytest.mark.parametrize(("step", "line", "reason", "kind"), REAL)
def test_real_replies_are_classified_by_their_words_and_status_code(step, line, reason, kind):
    err = _from_line(step, line)
    assert (err.step, err.code, err.reason, err.kind) == (step, int(line[:3]), reason, kind)
    assert err.text == line[4:]  # verbatim: nothing added, nothing removed
    assert err.transient is (kind == "transient")
    assert reason in REASONS
    assert reason_for(step, int(line[:3]), line[4:]) == reason


def test_every_new_reason_is_reachable_from_a_real_reply():
    reached = {reason for _step, _line, reason, _kind in REAL}
    added = set(REASONS[REASONS.index("protocol") + 1:])
    assert added <= reached


def test_multi_line_reply_is_kept_verbatim_and_read_from_its_first_status_code():
    raw = (b"5.7.0 Authentication Required. Learn more at\n"
           b"5.7.0  https://support.google.com/mail/?p=WantAuthError x1sm.1 - gsmtp")
    err = from_reply("mail_from", 530, raw)
    assert err.reason == "auth_required"
    assert err.text == raw.decode()


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("5.7.60 SMTP; Client does not have permissions", "5.7.60"),
        ("4.5.3 Error: too many recipients", "4.5.3"),
        ("  5.1.1 <a@b>: User unknown", "5.1.1"),
        ("5.7.139 Authentication unsuccessful", "5.7.139"),
        ("DT:SPM 163 smtp14", None),
        ("mail from address must be same as authorization user", None),
        ("5.7.1234 too long a detail", None),
        ("3.1.1 not a status class", None),
        ("", None),
    ],
)
def test_enhanced_status_code_is_read_from_the_start_of_the_reply(text, status):
    assert enhanced_status(text) == status


@pytest.mark.parametrize(
    ("reason", "kind"),
    [("temporary", "transient"), ("unreachable", "transient"), ("rate_quota", "transient"),
     ("too_many_connections", "transient"), ("too_many_recipients", "transient"),
     ("daily_quota", "transient"), ("relay_denied", "permanent"), ("auth_required", "permanent")],
)
def test_delivery_error_default_kind_follows_the_reason(reason, kind):
    assert DeliveryError("rcpt", reason, "x").kind == kind


@pytest.mark.parametrize(
    ("step", "code", "reason", "kind"),
    [
        ("mail_from", 451, "temporary", "transient"),
        ("rcpt", 452, "temporary", "transient"),
        ("data", 421, "temporary", "transient"),
        ("auth", 454, "temporary", "transient"),
        ("connect", 421, "temporary", "transient"),
        ("mail_from", 501, "sender_rejected", "permanent"),
        ("mail_from", 553, "sender_rejected", "permanent"),
        ("rcpt", 550, "recipient_rejected", "permanent"),
        ("data", 554, "content_rejected", "permanent"),
        ("data", 552, "content_rejected", "permanent"),
        ("auth", 535, "auth_failed", "permanent"),
        ("auth", 534, "auth_failed", "permanent"),
        ("auth", 504, "auth_unsupported", "permanent"),
        ("tls", 502, "starttls_unsupported", "permanent"),
        ("ehlo", 554, "protocol", "permanent"),
        ("mail_from", 530, "auth_required", "permanent"),
    ],
)
def test_replies_without_telling_words_are_classified_by_code_and_step(step, code, reason,
                                                                        kind):
    err = from_reply(step, code, b"server says no ")
    assert (err.step, err.code, err.reason, err.kind, err.text) == (
        step, code, reason, kind, "server says no")
    assert err.transient is (kind == "transient")


RELAY = (554, "5.7.1 <x@outside.example>: Relay access denied")
GONE = (550, "5.1.1 <gone@corp.example>: Recipient address rejected: User unknown")
FULL = (452, "4.2.2 <full@corp.example>: Mailbox full")
LATER = (451, "4.7.1 <slow@corp.example>: try again later")


def test_refusal_keeps_the_chosen_reply_verbatim_and_all_refusals():
    refused = {"full@corp.example": FULL, "gone@corp.example": GONE,
               "x@outside.example": RELAY}
    err = refused_error(refused)
    assert (err.step, err.code, err.text) == ("rcpt", 550, GONE[1])  # first 5xx, verbatim
    assert (err.reason, err.kind) == ("recipient_rejected", "permanent")
    assert err.recipients == refused


def test_refusal_reason_comes_from_the_chosen_reply_not_from_the_step():
    err = refused_error({"full@corp.example": FULL, "x@outside.example": RELAY})
    assert (err.reason, err.code, err.text, err.kind) == ("relay_denied", 554, RELAY[1],
                                                          "permanent")


def test_refusals_all_4xx_are_transient_and_report_the_first():
    err = refused_error({"slow@corp.example": LATER, "full@corp.example": FULL})
    assert (err.reason, err.kind, err.code, err.text) == ("temporary", "transient", 451,
                                                          LATER[1])
    assert set(err.recipients) == {"slow@corp.example", "full@corp.example"}


def test_refusal_needs_at_least_one_refused_recipient():
    with pytest.raises(ValueError):
        refused_error({})
