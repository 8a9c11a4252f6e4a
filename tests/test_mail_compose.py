"""Message composition: header injection, encodings, Bcc, Message-ID, text alternative."""

from __future__ import annotations

import email
from email import policy

import pytest

from portal.mail.compose import (
    HeaderInjectionError,
    InvalidAddressError,
    build_message,
    check_header,
    envelope_recipients,
    flatten_message,
    html_to_text,
)
from portal.mail.testmail import TEST_MAIL_SUBJECT, build_test_mail

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

BASE = {
    "from_address": "ops#1&co@example.com",
    "display_name": "报表系统",
    "to": ["alice@example.org"],
    "subject": "Daily figures",
    "html": "<p>Hello</p>",
}


def _build(**changes):
    return build_message(**{**BASE, **changes})


def _reparse(msg):
    return email.message_from_bytes(flatten_message(msg), policy=policy.default)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hi\r\nBcc: victim@example.net"),
        ("subject", "Hi\nX-Evil: 1"),
        ("subject", "nul\x00byte"),
        ("display_name", "Ops\r\nBcc: victim@example.net"),
        ("from_address", "ops@example.com\nBcc: victim@example.net"),
        ("to", ["alice@example.org\r\nBcc: victim@example.net"]),
        ("cc", ["bob@example.org\rX: y"]),
        ("bcc", ["carol@example.org\x0b"]),
        ("reply_to", "help@example.com\u2028X: y"),
    ],
)
def test_header_injection_is_rejected_naming_the_field(field, value):
    with pytest.raises(HeaderInjectionError) as info:
        _build(**{field: value})
    assert info.value.field == field
    assert field in str(info.value)


def test_check_header_passes_clean_values_through():
    assert check_header("subject", "Réport #1 & more\tok") == "Réport #1 & more\tok"
    with pytest.raises(HeaderInjectionError):
        check_header("subject", "a\rb")


@pytest.mark.parametrize("bad", ["not-an-address", "@example.com", "a@", "a b@c@d"])
def test_invalid_addresses_are_rejected(bad):
    with pytest.raises(InvalidAddressError) as info:
        _build(to=[bad])
    assert info.value.field == "to"


def test_from_header_encodes_non_ascii_display_name_and_keeps_special_local_part():
    raw = flatten_message(_build())
    assert raw.isascii()
    assert "报表系统".encode() not in raw
    parsed = _reparse(_build())
    sender = parsed["From"].addresses[0]
    assert sender.display_name == "报表系统"
    assert sender.addr_spec == "ops#1&co@example.com"


def test_bcc_only_in_envelope_never_in_headers():
    msg = _build(cc=["bob@example.org"], bcc=["hidden@example.net"])
    assert msg["Bcc"] is None
    assert b"hidden@example.net" not in flatten_message(msg)
    assert str(msg["Cc"]) == "bob@example.org"
    assert envelope_recipients(BASE["to"], ["bob@example.org"], ["hidden@example.net"]) == [
        "alice@example.org", "bob@example.org", "hidden@example.net"]


def test_flatten_message_strips_a_bcc_header_added_by_someone_else():
    msg = _build()
    msg["Bcc"] = "sneaky@example.net"
    assert b"sneaky" not in flatten_message(msg)
    assert msg["Bcc"] == "sneaky@example.net"


def test_envelope_recipients_deduplicate_and_keep_order():
    assert envelope_recipients(
        ["a@x.org", " b@x.org"], ["A@x.org", "c@x.org"], ["b@x.org", "d@x.org", ""]
    ) == ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]


def test_date_and_message_id_are_set_with_sender_domain():
    msg = _build()
    assert msg["Date"] is not None and msg["Date"].datetime.tzinfo is not None
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@example.com>")
    assert _build()["Message-ID"] != msg["Message-ID"]
    assert _build(message_id="<fixed@example.com>")["Message-ID"] == "<fixed@example.com>"


def test_reply_to_and_multiple_recipients():
    msg = _build(to=["a@example.org", "b@example.org"], reply_to="help@example.com")
    assert [a.addr_spec for a in msg["To"].addresses] == ["a@example.org", "b@example.org"]
    assert str(msg["Reply-To"]) == "help@example.com"


def test_multipart_alternative_with_text_derived_from_html():
    html = (
        "<html><head><style>p {color: red}</style><title>T</title></head><body>"
        "<h1>Report</h1><p>Line one<br>Line  two</p>"
        "<ul><li>first</li><li>second &amp; last</li></ul>"
        '<p>See <a href="https://intranet/reports/7">the report</a>.</p>'
        "<script>alert(1)</script></body></html>"
    )
    msg = _build(html=html)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    assert msg.get_body(("html",)).get_content().strip() == html
    assert "<" not in text.replace("<https://intranet/reports/7>", "")
    assert "color" not in text and "alert" not in text
    assert "Report\n" in text
    assert "Line one\nLine two" in text
    assert "- first\n- second & last" in text
    assert "the report <https://intranet/reports/7>." in text
    assert "\n\n\n" not in text


def test_explicit_text_alternative_is_used_as_is():
    msg = _build(text="Plain version\n")
    assert msg.get_body(("plain",)).get_content() == "Plain version\n"


def test_html_to_text_handles_empty_and_entities():
    assert html_to_text("") == "\n"
    assert html_to_text("<div>a&nbsp;&lt;b&gt;</div>") == "a <b>\n"
    assert html_to_text("<table><tr><td>x</td><td>1</td></tr></table>") == "x  1\n"
    assert html_to_text("<pre>  keep\n   this</pre>after") == "keep\nthis\n\nafter\n"


def test_test_mail_subject_avoids_the_word_test_and_body_mentions_sender():
    assert "test" not in TEST_MAIL_SUBJECT.lower()
    msg = build_test_mail("ops#1&co@example.com", "报表系统", "alice@example.org")
    assert msg["Subject"] == TEST_MAIL_SUBJECT
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@example.org"]
    html = msg.get_body(("html",)).get_content()
    assert "configured successfully" in html
    assert "ops#1&amp;co@example.com" in html
    assert "ops#1&co@example.com" in msg.get_body(("plain",)).get_content()
