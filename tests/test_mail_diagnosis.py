"""Error classification, plain-language diagnosis and provider presets."""

from __future__ import annotations

import smtplib

import pytest

from portal.mail import ENCRYPTIONS, PRESETS, PRESETS_BY_KEY, SmtpSettings, get_preset
from portal.mail.diagnosis import Diagnosis, diagnose, diagnose_in_doubt
from portal.mail.errors import REASONS, DeliveryError, classify, from_reply, refused_error

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

EXPECTED = {
    "cert_untrusted": ("authority this system does not trust", "CA certificate"),
    "tls_mismatch": ("port and the encryption do not match", "465 usually means SSL"),
    "starttls_unsupported": ("does not offer STARTTLS", "enable STARTTLS"),
    "tls_required": ("only over an encrypted connection", "STARTTLS (usually port 587"),
    "unreachable": ("cannot reach", "firewall"),
    "auth_required": ("only after a login", "enter the username and password"),
    "auth_failed": ("refused the login", "authorization code or app password"),
    "auth_unsupported": ("does not accept a login", "STARTTLS"),
    "basic_auth_disabled": ("basic authentication", "OAuth2"),
    "send_as_denied": ("send as the sender address", "Send As permission"),
    "from_must_match_login": ("only from the account that logged in",
                              "sender address equal the login account"),
    "sender_rejected": ("will not send as this address", "must equal the login user"),
    "envelope_mismatch": ("envelope sender is not the same as the From", "one address"),
    "relay_denied": ("will not relay", "allow relaying"),
    "client_rejected": ("refuses mail from this client", "accept the portal's host"),
    "recipient_rejected": ("refused the recipient", "recipient address"),
    "content_rejected": ("refused the content, often as spam", "163 rejects subjects"),
    "spam_suspected": ("judged the message to be spam", "look like tests"),
    "message_too_large": ("larger than the server accepts", "maximum message size"),
    "too_many_recipients": ("more recipients in one message", "recipients-per-message"),
    "daily_quota": ("daily sending quota", "next day"),
    "rate_quota": ("short-term sending quota", "messages-per-minute"),
    "too_many_connections": ("too many connections", "parallel connections"),
    "temporary": ("temporarily", "retried"),
    "protocol": ("conversation with the mail server failed", "server settings"),
}


def test_every_reason_is_described():
    assert set(EXPECTED) == set(REASONS)


@pytest.mark.parametrize("reason", REASONS)
def test_every_reason_has_its_own_plain_language_diagnosis(reason):
    err = DeliveryError("data", reason, "5.7.1 Something\nhappened", code=554)
    result = diagnose(err)
    assert isinstance(result, Diagnosis)
    cause_words, advice_words = EXPECTED[reason]
    assert cause_words in result.cause
    assert advice_words in result.advice
    assert "554 5.7.1 Something happened" in result.cause
    assert err.text == "5.7.1 Something\nhappened"  # folded for display only


def test_diagnoses_are_distinct_and_unknown_reasons_fall_back():
    causes = {diagnose(DeliveryError("data", r, "x")).cause for r in REASONS}
    assert len(causes) == len(REASONS)
    assert "failed" in diagnose(DeliveryError("data", "something_new", "x")).cause


def test_cause_without_code_quotes_the_os_error_and_truncates_long_text():
    assert "(Connection refused)" in diagnose(
        DeliveryError("connect", "unreachable", "Connection refused")).cause
    long = diagnose(DeliveryError("data", "content_rejected", "x" * 1000, code=554)).cause
    assert len(long) < 400 and "..." in long


# (step, real reply line, words the cause must contain, words the advice must contain,
#  words neither may contain)
REAL = [
    ("rcpt", "553 5.7.1 <reports@corp.example>: Sender address rejected: not owned by user "
     "reports@corp.example", "not about the recipient", "must equal the login user", "typo"),
    ("rcpt", "554 5.7.1 <x@outside.example>: Relay access denied", "not about the recipient",
     "logs in (username and password)", "typo"),
    ("rcpt", "554 5.7.1 <unknown[10.1.2.3]>: Client host rejected: Access denied",
     "portal's host or IP address", "mail server's admin", "typo"),
    ("rcpt", "550 5.1.1 <gone@corp.example>: Recipient address rejected: User unknown in "
     "virtual mailbox table", "refused the recipient address", "typos",
     "not about the recipient"),
    ("mail_from", "530 5.7.0 Authentication required", "only after a login",
     "enter the username and password", "sender address"),
    ("rcpt", "530 5.7.0 Authentication required", "only after a login",
     "enter the username and password", "typo"),
    ("rcpt", "452 4.5.3 Error: too many recipients", "more recipients in one message",
     "recipients-per-message", "typo"),
    ("data", "552 5.3.4 Message size exceeds fixed limit", "larger than the server accepts",
     "attachments", "spam"),
    ("data", "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
     "Microsoft 365", "Send As permission", "authorization code"),
    ("auth", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
     "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
     "Microsoft 365 tenant", "Switch the sender to OAuth2", "app password"),
    ("auth", "550 5.7.30 Basic authentication is not supported for Client Submission.",
     "basic authentication", "OAuth2", "app password"),
    ("mail_from", "501 mail from address must be same as authorization user",
     "account that logged in", "equal the login account", "typo"),
    ("mail_from", "553 Mail from must equal authorized user", "account that logged in",
     "equal the login account", "typo"),
    ("data", "554 DT:SPM 163 smtp14,EsCowAC...: Message is considered spam", "spam",
     "subject", "quota"),
    ("data", "554 DT:SUM envelope sender is not the same as the sender in the header",
     "From address", "From header", "spam"),
    ("data", "554 MI:STC 163 smtp14,EsCowAC...: Sending quota exceeded for today",
     "daily sending quota", "quota resets", "spam"),
    ("mail_from", "451 MI:SFQ 163 smtp14,EsCowAC...: 15-minute sending quota exceeded",
     "last minutes", "messages-per-minute", "daily"),
    ("connect", "421 HL:ICC 163 smtp14,EsCowAC...: too many connections",
     "too many connections", "parallel connections", "quota"),
    ("auth", "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6", "refused the login",
     "authorization code", "OAuth2"),
]


@pytest.mark.parametrize(("step", "line", "cause_words", "advice_words", "absent"), REAL)
def test_real_replies_get_the_right_advice(step, line, cause_words, advice_words, absent):
    err = from_reply(step, int(line[:3]), line[4:])
    result = diagnose(err)
    assert cause_words in result.cause
    assert advice_words in result.advice
    assert absent not in result.cause + result.advice
    assert f"({line})" in result.cause  # the reply is quoted whole
    assert err.text == line[4:]


def test_starttls_missing_does_not_recommend_no_encryption():
    advice = diagnose(from_reply("tls", 502, "5.5.1 Error: command not recognized")).advice
    assert "No encryption" not in advice and "none" not in advice.lower()
    assert "SSL (usually port 465)" in advice and "enable STARTTLS" in advice


TRANSIENT_ERRORS = [
    from_reply("data", 451, "4.3.0 Error: queue file write error"),
    from_reply("mail_from", 451, "MI:SFQ 163 smtp14,EsCowAC...: 15-minute sending quota"),
    from_reply("connect", 421, "HL:ICC 163 smtp14,EsCowAC...: too many connections"),
    from_reply("rcpt", 452, "4.5.3 Error: too many recipients"),
    DeliveryError("connect", "unreachable", "smtp.corp.example:587: Connection refused"),
    classify("data", smtplib.SMTPServerDisconnected("Connection unexpectedly closed")),
]


@pytest.mark.parametrize("err", TRANSIENT_ERRORS, ids=lambda e: e.reason)
def test_transient_error_is_retried_until_final_then_given_up(err):
    assert err.transient and not err.maybe_delivered
    waiting = diagnose(err)
    assert "will be retried automatically" in waiting.advice
    assert "Gave up" not in waiting.advice
    final = diagnose(err, final=True, attempts=5)
    assert final.advice.startswith("Gave up after 5 attempts")
    assert "will be retried" not in final.advice
    assert final.cause == waiting.cause


def test_final_wording_counts_attempts_and_works_without_a_count():
    err = TRANSIENT_ERRORS[0]
    assert diagnose(err, True, 1).advice.startswith("Gave up after 1 attempt:")
    assert diagnose(err, final=True).advice.startswith("Gave up:")


def test_a_one_off_check_is_neither_retried_nor_given_up():
    advice = diagnose(TRANSIENT_ERRORS[0], retrying=False).advice
    assert "retried automatically" not in advice and "Gave up" not in advice
    assert "try again in a few minutes" in advice


def test_permanent_error_never_talks_about_retries():
    err = from_reply("rcpt", 550, "5.1.1 <gone@corp.example>: User unknown")
    for result in (diagnose(err), diagnose(err, final=True, attempts=3)):
        assert "retried" not in result.advice and "Gave up" not in result.advice


@pytest.mark.parametrize(
    ("step", "who"),
    [("data", "connection broke"), ("handover", "worker"), (None, "connection or the worker")],
)
def test_in_doubt_wording_warns_of_a_second_copy(step, who):
    result = diagnose_in_doubt(step)
    assert who in result.cause
    assert "may or may not have arrived" in result.cause
    assert "not resent automatically" in result.advice
    assert "second copy" in result.advice
    assert "try again" not in (result.cause + result.advice).lower()


def test_error_that_may_have_delivered_gets_the_in_doubt_wording_even_when_final():
    err = DeliveryError("data", "protocol", "Connection reset by peer", kind="transient",
                        in_doubt=True)
    assert diagnose(err) == diagnose_in_doubt("data")
    assert diagnose(err, final=True, attempts=2) == diagnose_in_doubt("data")


def test_refusal_diagnosis_names_the_recipients_and_quotes_the_chosen_reply():
    refused = {f"r{i}@corp.example": (452, "4.2.2 Mailbox full") for i in range(4)}
    refused["x@outside.example"] = (554, "5.7.1 <x@outside.example>: Relay access denied")
    result = diagnose(refused_error(refused), final=True, attempts=5)
    assert "(554 5.7.1 <x@outside.example>: Relay access denied)" in result.cause
    assert "Recipients not accepted: r0@corp.example (452), r1@corp.example (452), " \
           "r2@corp.example (452) and 2 more." in result.cause
    assert "Gave up" not in result.advice  # a permanent refusal decides the wording


def test_delivery_error_string_is_one_short_line():
    err = DeliveryError("rcpt", "recipient_rejected", "5.1.1 No such\nuser " + "y" * 500, code=550)
    text = str(err)
    assert "\n" not in text and len(text) < 260
    assert text.startswith("rcpt failed (recipient_rejected): 550 5.1.1 No such user")
    assert err.as_dict()["code"] == 550


def test_settings_hide_password_and_reject_nonsense():
    settings = SmtpSettings("smtp.qq.com", 465, "ssl", "me@qq.com", "hunter2-code")
    assert "hunter2-code" not in repr(settings) and "hunter2-code" not in str(settings)
    with pytest.raises(ValueError):
        SmtpSettings("smtp.qq.com", 465, "tls")
    with pytest.raises(ValueError):
        SmtpSettings("smtp.qq.com", 0, "ssl")


@pytest.mark.parametrize(
    ("key", "host", "port", "encryption", "advice"),
    [
        ("qq", "smtp.qq.com", 465, "ssl", "authorization code"),
        ("163", "smtp.163.com", 465, "ssl", "look like tests"),
        ("exmail", "smtp.exmail.qq.com", 465, "ssl", "authorization code"),
        ("outlook", "smtp.office365.com", 587, "starttls", "app password"),
        ("gmail", "smtp.gmail.com", 587, "starttls", "app password"),
        ("sina", "smtp.sina.com", 465, "ssl", "authorization code"),
        ("exchange", "", 25, "none", "CA certificate"),
        ("custom", "", 25, "starttls", ""),
    ],
)
def test_presets(key, host, port, encryption, advice):
    preset = get_preset(key)
    assert (preset.host, preset.port, preset.encryption) == (host, port, encryption)
    assert advice in preset.advice and preset.label


def test_preset_lookup_and_order():
    assert [p.key for p in PRESETS] == [
        "qq", "163", "exmail", "outlook", "outlook_oauth", "gmail", "gmail_oauth", "sina",
        "exchange", "custom"]
    assert get_preset("outlook_oauth").auth_method == "oauth2"
    assert "SMTP.SendAsApp" in get_preset("outlook_oauth").advice
    assert PRESETS_BY_KEY["qq"] is get_preset("qq")
    assert get_preset("nope") is None and get_preset(None) is None
    assert all(p.encryption in ENCRYPTIONS for p in PRESETS)
    assert "login user" in get_preset("qq").advice


@pytest.mark.parametrize("step, words", [("auth", "could not check the login"),
                                          ("connect", "not taking connections"),
                                          ("rcpt", "refused the mail temporarily")])
def test_temporary_refusal_names_what_was_refused(step, words):
    err = from_reply(step, 454, b"4.7.0 Temporary failure, try again")
    assert err.reason == "temporary" and words in diagnose(err).cause


@pytest.mark.parametrize("text", ["the server does not offer STARTTLS",
                                  "The Server does not offer  STARTTLS."])
def test_cause_never_repeats_a_reply_that_says_the_same(text):
    cause = diagnose(DeliveryError("tls", "starttls_unsupported", text)).cause
    assert cause == "The server does not offer STARTTLS."
    assert cause.lower().count("does not offer starttls") == 1


def test_a_reply_that_adds_something_is_still_quoted():
    cause = diagnose(DeliveryError("tls", "starttls_unsupported", "STARTTLS not available",
                                   code=502)).cause
    assert cause == "The server does not offer STARTTLS (502 STARTTLS not available)."
    partial = diagnose(DeliveryError("connect", "unreachable", "server")).cause
    assert "(server)" in partial  # "server" inside "mail server" is no whole-reply match
