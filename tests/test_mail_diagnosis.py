"""Error classification, plain-language diagnosis and provider presets."""

from __future__ import annotations

import pytest

from portal.mail import ENCRYPTIONS, PRESETS, PRESETS_BY_KEY, SmtpSettings, get_preset
from portal.mail.diagnosis import Diagnosis, diagnose
from portal.mail.errors import REASONS, DeliveryError, from_reply

EXPECTED = {
    "cert_untrusted": ("authority this system does not trust", "CA certificate"),
    "tls_mismatch": ("port and the encryption do not match", "465 usually means SSL"),
    "starttls_unsupported": ("does not offer STARTTLS", "SSL"),
    "unreachable": ("cannot reach", "firewall"),
    "auth_failed": ("refused the login", "authorization code or app password"),
    "auth_unsupported": ("does not accept a login", "STARTTLS"),
    "sender_rejected": ("will not send as this address", "must equal the login user"),
    "recipient_rejected": ("refused the recipient", "recipient address"),
    "content_rejected": ("refused the content, often as spam", "163 rejects subjects"),
    "temporary": ("temporarily", "retried"),
    "protocol": ("conversation with the mail server failed", "Try again"),
}


@pytest.mark.parametrize("reason", REASONS)
def test_every_reason_has_its_own_plain_language_diagnosis(reason):
    err = DeliveryError("data", reason, "5.7.1 Something\nhappened", code=554)
    result = diagnose(err)
    assert isinstance(result, Diagnosis)
    cause_words, advice_words = EXPECTED[reason]
    assert cause_words in result.cause
    assert advice_words in result.advice
    assert "554 5.7.1 Something happened" in result.cause


def test_diagnoses_are_distinct_and_unknown_reasons_fall_back():
    causes = {diagnose(DeliveryError("data", r, "x")).cause for r in REASONS}
    assert len(causes) == len(REASONS)
    assert "failed" in diagnose(DeliveryError("data", "something_new", "x")).cause


def test_cause_without_code_quotes_the_os_error_and_truncates_long_text():
    assert "(Connection refused)" in diagnose(
        DeliveryError("connect", "unreachable", "Connection refused")).cause
    long = diagnose(DeliveryError("data", "content_rejected", "x" * 1000, code=554)).cause
    assert len(long) < 400 and "..." in long


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
    ],
)
def test_replies_are_classified_by_code_and_step(step, code, reason, kind):
    err = from_reply(step, code, b"server says no ")
    assert (err.step, err.code, err.reason, err.kind, err.text) == (
        step, code, reason, kind, "server says no")
    assert err.transient is (kind == "transient")


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
        "qq", "163", "exmail", "outlook", "gmail", "sina", "exchange", "custom"]
    assert PRESETS_BY_KEY["qq"] is get_preset("qq")
    assert get_preset("nope") is None and get_preset(None) is None
    assert all(p.encryption in ENCRYPTIONS for p in PRESETS)
    assert "login user" in get_preset("qq").advice
