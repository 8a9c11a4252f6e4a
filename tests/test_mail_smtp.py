"""Delivery against real aiosmtpd servers: encryption, login, refusals, probe, reuse."""

from __future__ import annotations

import email
import socket
import ssl
import time
from email import policy
from email.parser import HeaderParser

import pytest

from portal.mail import (
    DeliveryError,
    SendResult,
    build_message,
    build_test_mail,
    diagnose,
    envelope_recipients,
    flatten_message,
    open_session,
    probe,
)

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

SENDER = "ops#1&co@example.com"
USER = {"robot@example.com": "s3cret-auth-code"}
KIND_STEPS = {
    "plain": ["connect", "ehlo", "auth", "mail_from", "rcpt"],
    "starttls": ["connect", "tls", "ehlo", "auth", "mail_from", "rcpt"],
    "ssl": ["connect", "tls", "ehlo", "auth", "mail_from", "rcpt"],
}


def _message(to=("alice@example.org",), bcc=(), subject="Quarterly report 报表"):
    return build_message(
        from_address=SENDER, display_name="报表系统", to=list(to), bcc=list(bcc),
        subject=subject, html="<p>Numbers are <b>up</b>.</p>",
    )


def _open_error(settings) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        open_session(settings)
    return info.value


def _auth_commands(server) -> list[str]:
    return [c for c in server.commands if c.startswith("AUTH")]


def _send_error(server, msg, recipients, **overrides) -> DeliveryError:
    with open_session(server.settings(**overrides)) as session, pytest.raises(
        DeliveryError
    ) as info:
        session.send(msg, SENDER, recipients)
    return info.value


@pytest.mark.parametrize("kind", ["plain", "starttls", "ssl"])
def test_send_with_login_arrives_for_each_encryption(smtpd_factory, kind):
    server = smtpd_factory(kind, auth=USER)
    msg = _message(bcc=["hidden@example.net"])
    recipients = envelope_recipients(["alice@example.org"], [], ["hidden@example.net"])

    with open_session(server.settings()) as session:
        result = session.send(msg, SENDER, recipients)

    assert result == SendResult(250, "2.0.0 Message accepted for delivery", recipients, {})
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["alice@example.org", "hidden@example.net"]
    sender = received.message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("报表系统", SENDER)
    assert str(received.message["Subject"]) == "Quarterly report 报表"
    assert received.message["Bcc"] is None and b"hidden@" not in received.content
    assert _auth_commands(server) == ["AUTH PLAIN"]


def test_wrong_password_is_auth_failed_and_never_echoed(smtpd_factory):
    server = smtpd_factory("starttls", auth=USER)
    err = _open_error(server.settings(password="wrong-pass-xyz"))

    assert (err.step, err.reason, err.code, err.kind) == ("auth", "auth_failed", 535, "permanent")
    assert not err.transient
    assert "authorization code" in diagnose(err).advice
    for shown in (str(err), repr(err), repr(server.settings(password="wrong-pass-xyz"))):
        assert "wrong-pass-xyz" not in shown


@pytest.mark.parametrize("kind", ["starttls", "ssl"])
def test_untrusted_certificate_then_success_with_ca_cert(smtpd_factory, kind):
    server = smtpd_factory(kind, auth=USER)

    failed = probe(server.settings(ca_cert=None), SENDER, "alice@example.org")
    err = failed.error
    assert (err.step, err.reason, err.kind) == ("tls", "cert_untrusted", "permanent")
    assert "CA certificate" in diagnose(err).advice
    assert [(s.name, s.ok) for s in failed.steps][-2:] == [("connect", True), ("tls", False)]

    report = probe(server.settings(), SENDER, "alice@example.org")
    assert report.ok, report.error


def test_unreadable_ca_certificate_is_reported_before_connecting(smtpd_factory):
    server = smtpd_factory("ssl")
    err = _open_error(server.settings(ca_cert="not a certificate"))
    assert (err.step, err.reason) == ("tls", "cert_untrusted")
    assert server.sessions == 0


def test_ssl_against_plain_port_is_tls_mismatch(smtpd_factory):
    server = smtpd_factory("plain")
    err = _open_error(server.settings(encryption="ssl"))
    assert (err.step, err.reason, err.kind) == ("tls", "tls_mismatch", "permanent")
    assert "465" in diagnose(err).advice


@pytest.mark.parametrize("encryption", ["none", "starttls"])
def test_plain_against_ssl_port_ends_within_timeout(smtpd_factory, encryption):
    server = smtpd_factory("ssl")
    started = time.monotonic()
    err = _open_error(server.settings(encryption=encryption, timeout=1.0))
    assert time.monotonic() - started < 2.0
    assert (err.step, err.reason, err.kind) == ("connect", "tls_mismatch", "permanent")
    assert "no greeting" in err.text


@pytest.mark.parametrize(("encryption", "step"), [("ssl", "tls"), ("none", "connect")])
def test_silent_listener_is_tls_mismatch_within_timeout(encryption, step):
    from portal.mail import SmtpSettings

    with socket.socket() as listener:  # the kernel completes TCP; nobody ever speaks
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        settings = SmtpSettings("127.0.0.1", listener.getsockname()[1], encryption, timeout=0.5)
        started = time.monotonic()
        err = _open_error(settings)
    assert time.monotonic() - started < 1.5
    assert (err.step, err.reason, err.kind) == (step, "tls_mismatch", "permanent")


def test_certificate_for_another_host_name_is_refused(smtpd_factory, smtp_ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    smtp_ca.issue_cert("mail.example.com").configure_cert(context)
    server = smtpd_factory("ssl", ssl_context=context)
    err = _open_error(server.settings())
    assert (err.step, err.reason) == ("tls", "cert_untrusted")
    assert "mismatch" in err.text.lower()


def test_closed_port_is_unreachable_and_transient(free_port):
    from portal.mail import SmtpSettings

    err = _open_error(SmtpSettings("127.0.0.1", free_port, "none", timeout=3.0))
    assert (err.step, err.reason, err.code) == ("connect", "unreachable", None)
    assert err.transient
    assert "firewall" in diagnose(err).advice


def test_starttls_required_but_not_offered(smtpd_factory):
    server = smtpd_factory("plain", auth=USER)
    err = _open_error(server.settings(encryption="starttls"))
    assert (err.step, err.reason, err.kind) == ("tls", "starttls_unsupported", "permanent")
    assert "SSL" in diagnose(err).advice


def test_login_without_auth_offered_is_auth_unsupported(smtpd_factory):
    server = smtpd_factory("plain")
    err = _open_error(server.settings(username="robot@example.com", password="x",
                                      allow_plain_auth=True))
    assert (err.step, err.reason, err.kind) == ("auth", "auth_unsupported", "permanent")


def test_no_username_means_no_login(smtpd_factory):
    server = smtpd_factory("plain")
    report = probe(server.settings(), SENDER, "alice@example.org")
    assert report.ok
    assert [s.name for s in report.steps] == ["connect", "ehlo", "mail_from", "rcpt"]
    assert not any(c.startswith("AUTH") for c in server.commands)


def test_partial_acceptance_delivers_to_the_accepted_and_reports_each_refusal(smtpd_factory):
    refusals = {"nobody@example.org": "550 5.1.1 No such user",
                "full@example.org": "452 4.2.2 Mailbox full"}
    server = smtpd_factory("plain", reply={"rcpt": refusals})
    recipients = ["alice@example.org", "nobody@example.org", "full@example.org",
                  "bob@example.org"]
    with open_session(server.settings()) as session:
        result = session.send(_message(), SENDER, recipients)
        assert session.is_open
        assert session.send(_message(), SENDER, ["alice@example.org"]).refused == {}

    assert (result.code, result.text) == (250, "2.0.0 Message accepted for delivery")
    assert result.accepted == ["alice@example.org", "bob@example.org"]
    assert result.refused == {"nobody@example.org": (550, "5.1.1 No such user"),
                              "full@example.org": (452, "4.2.2 Mailbox full")}
    assert [m.rcpt_tos for m in server.messages] == [
        ["alice@example.org", "bob@example.org"], ["alice@example.org"]]
    assert server.sessions == 1


def test_no_recipient_accepted_raises_with_every_refusal_and_session_stays_usable(
        smtpd_factory):
    refusals = {"nobody@example.org": "550 5.1.1 No such user",
                "full@example.org": "452 4.2.2 Mailbox full"}
    server = smtpd_factory("plain", reply={"rcpt": refusals})
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, ["full@example.org", "nobody@example.org"])
        err = info.value
        assert (err.step, err.reason, err.code, err.kind) == (
            "rcpt", "recipient_rejected", 550, "permanent")
        assert err.recipients == {"nobody@example.org": (550, "5.1.1 No such user"),
                                  "full@example.org": (452, "4.2.2 Mailbox full")}
        assert session.is_open
        assert session.send(_message(), SENDER, ["alice@example.org"]).code == 250
    assert "DATA" in server.commands and server.commands.count("RSET") >= 1
    assert [m.rcpt_tos for m in server.messages] == [["alice@example.org"]]
    assert server.sessions == 1


@pytest.mark.parametrize("first_accepted", [True, False])
def test_421_at_rcpt_closes_and_counts_untried_recipients_as_refused(smtpd_factory,
                                                                     first_accepted):
    closing = "421 4.7.0 Too many errors, closing"
    server = smtpd_factory("plain", reply={"rcpt": {"bob@example.org": closing}})
    recipients = ["alice@example.org"] * first_accepted + ["bob@example.org", "carol@example.org"]
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, recipients)
        assert not session.is_open
    err = info.value
    assert (err.step, err.code, err.kind, err.in_doubt) == ("rcpt", 421, "transient", False)
    refusal = (421, "4.7.0 Too many errors, closing")
    assert err.recipients == {"bob@example.org": refusal, "carol@example.org": refusal}
    assert "RCPT carol@example.org" not in server.commands
    assert "DATA" not in server.commands and server.messages == []


def test_permanent_refusal_outranks_temporary_one(smtpd_factory):
    server = smtpd_factory("plain", reply={"rcpt": {"a@example.org": "452 4.2.2 Mailbox full",
                                                    "b@example.org": "550 5.1.1 Unknown"}})
    err = _send_error(server, _message(), ["a@example.org", "b@example.org"])
    assert (err.reason, err.code, err.kind) == ("recipient_rejected", 550, "permanent")
    assert set(err.recipients) == {"a@example.org", "b@example.org"}


@pytest.mark.parametrize(
    ("reply", "step", "reason", "code", "kind"),
    [
        ({"data": "554 5.7.1 Content rejected as spam"}, "data", "spam_suspected", 554,
         "permanent"),
        ({"data": "552 5.3.4 Message too big"}, "data", "message_too_large", 552,
         "permanent"),
        ({"data": "554 5.6.0 Content refused"}, "data", "content_rejected", 554, "permanent"),
        ({"mail": "553 5.7.1 Sender address rejected"}, "mail_from", "sender_rejected", 553,
         "permanent"),
        ({"mail": "451 4.7.1 Try again later"}, "mail_from", "temporary", 451, "transient"),
        ({"rcpt": "450 4.2.0 Greylisted"}, "rcpt", "temporary", 450, "transient"),
        ({"data": "421 4.3.2 Service not available"}, "data", "temporary", 421, "transient"),
    ],
)
def test_server_refusals_are_classified(smtpd_factory, reply, step, reason, code, kind):
    server = smtpd_factory("plain", reply=reply)
    err = _send_error(server, _message(), ["alice@example.org"])
    assert (err.step, err.reason, err.code, err.kind) == (step, reason, code, kind)
    assert str(code) in diagnose(err).cause
    assert server.messages == []


def test_421_closes_the_session_and_later_sends_fail_transiently(smtpd_factory):
    server = smtpd_factory("plain", reply={"mail": "421 4.3.2 Shutting down"})
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError):
            session.send(_message(), SENDER, ["alice@example.org"])
        assert not session.is_open
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, ["alice@example.org"])
    assert info.value.transient


def test_scripted_temporary_failures_then_acceptance_on_one_session(smtpd_factory):
    server = smtpd_factory("plain", reply={"data": ["451 4.7.1 later", "451 4.7.1 later"]})
    outcomes = []
    with open_session(server.settings()) as session:
        for _ in range(3):
            try:
                outcomes.append(session.send(_message(), SENDER, ["alice@example.org"]).code)
            except DeliveryError as err:
                outcomes.append(err.reason)
    assert outcomes == ["temporary", "temporary", 250]
    assert len(server.messages) == 1 and server.sessions == 1


def test_temporary_auth_failure_is_transient(smtpd_factory):
    server = smtpd_factory("ssl", auth=USER, reply={"auth": "454 4.7.0 Temporary failure"})
    err = _open_error(server.settings())
    assert (err.step, err.reason, err.code, err.kind) == ("auth", "temporary", 454, "transient")


@pytest.mark.parametrize("kind", ["plain", "starttls", "ssl"])
def test_test_connection_probe_sends_nothing(smtpd_factory, kind):
    server = smtpd_factory(kind, auth=USER)
    seen = []
    report = probe(server.settings(), SENDER, "alice@example.org", on_step=seen.append)

    assert report.ok and report.error is None and report.message_id is None
    assert [s.name for s in report.steps] == KIND_STEPS[kind]
    assert all(s.ok for s in report.steps) and seen == report.steps
    assert report.steps[0].code == 220 and report.steps[-1].code == 250
    assert server.messages == [] and "DATA" not in server.commands
    assert server.commands[-1] == "RSET"


def test_failing_probe_marks_the_failing_step(smtpd_factory):
    server = smtpd_factory("starttls", auth=USER, reply={"rcpt": "550 5.1.1 No such user"})
    report = probe(server.settings(), SENDER, "nobody@example.org")

    assert not report.ok
    *earlier, last = report.steps
    assert all(s.ok for s in earlier)
    assert (last.name, last.ok, last.code) == ("rcpt", False, 550)
    assert "No such user" in last.text
    assert report.error.reason == "recipient_rejected"


def test_failing_probe_on_connect_never_raises(free_port):
    from portal.mail import SmtpSettings

    report = probe(SmtpSettings("127.0.0.1", free_port, "ssl", timeout=3.0), SENDER, "a@b.org")
    assert [(s.name, s.ok) for s in report.steps] == [("connect", False)]
    assert report.error.reason == "unreachable"


def test_send_test_mail_probe_delivers_one_message(smtpd_factory):
    server = smtpd_factory("ssl", auth=USER)
    msg = build_test_mail(SENDER, "报表系统", "alice@example.org")
    report = probe(server.settings(), SENDER, "alice@example.org", message=msg)

    assert report.ok and [s.name for s in report.steps][-1] == "data"
    [received] = server.messages
    assert "test" not in str(received.message["Subject"]).lower()
    assert received.message["Message-ID"] == report.message_id == msg["Message-ID"]
    html = received.message.get_body(("html",)).get_content()
    assert "configured successfully" in html and "ops#1&amp;co@example.com" in html


def test_one_session_delivers_many_messages(smtpd_factory):
    server = smtpd_factory("starttls", auth=USER)
    with open_session(server.settings()) as session:
        for n in range(3):
            session.send(_message(subject=f"Report {n}"), SENDER, ["alice@example.org"])
    assert server.sessions == 1
    assert [str(m.message["Subject"]) for m in server.messages] == [
        "Report 0", "Report 1", "Report 2"]
    probe(server.settings(), SENDER, "alice@example.org")
    assert server.sessions == 2


def test_close_never_raises_even_twice(smtpd_factory):
    server = smtpd_factory("plain")
    session = open_session(server.settings())
    session.close()
    session.close()
    assert not session.is_open


# --- Dropped links: where the link broke decides whether a retry is safe --------------

def _big_payload(megabytes: int = 12) -> bytes:
    """A raw message far bigger than the socket buffers (the client is still writing
    when the server hangs up), with a line that needs dot-stuffing."""
    line = b"x" * 76 + b"\r\n"
    head = (b"From: ops@example.com\r\nTo: alice@example.org\r\nSubject: Big\r\n"
            b"Message-ID: <big@example.com>\r\n\r\n.leading dot\r\n")
    return head + line * (megabytes * 1024 * 1024 // len(line))


@pytest.mark.parametrize(("drop", "step"), [
    ({"drop_at": "mail"}, "mail_from"),
    ({"drop_at": "rcpt"}, "rcpt"),
    ({"drop_after": 1}, "rcpt"),
    ({"drop_at": "data"}, "data"),
])
def test_link_dropped_at_a_command_is_transient_and_closes_the_session(smtpd_factory, drop,
                                                                       step):
    server = smtpd_factory("plain", **drop)
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, ["alice@example.org"])
        assert not session.is_open
    err = info.value
    assert (err.step, err.code, err.kind, err.in_doubt) == (step, None, "transient", False)
    assert not err.maybe_delivered and server.messages == []


def test_link_dropped_before_the_final_dot_is_safe_to_retry(smtpd_factory):
    server = smtpd_factory("plain", drop_at="data_content", drop_times=1,
                           reply={"rcpt": {"nobody@example.org": "550 5.1.1 No such user"}})
    recipients = ["alice@example.org", "nobody@example.org"]
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_big_payload(), SENDER, recipients)
        assert not session.is_open
    err = info.value
    assert (err.step, err.code, err.kind) == ("data", None, "transient")
    assert not err.in_doubt and not err.maybe_delivered
    assert err.recipients == {"nobody@example.org": (550, "5.1.1 No such user")}
    assert server.messages == [] and "DROP data_content" in server.commands

    with open_session(server.settings()) as session:  # a new session delivers it
        assert session.send(_big_payload(1), SENDER, recipients).accepted == recipients[:1]
    assert server.messages[0].content.startswith(b"From: ops@example.com")
    assert b"\r\n.leading dot\r\n" in server.messages[0].content  # dot-stuffing undone


def test_link_dropped_after_the_final_dot_without_reply_is_in_doubt(smtpd_factory):
    server = smtpd_factory("starttls", auth=USER, drop_at="data_end",
                           reply={"rcpt": {"nobody@example.org": "550 5.1.1 No such user"}})
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, ["alice@example.org", "nobody@example.org"])
        assert not session.is_open
    err = info.value
    assert (err.step, err.code, err.kind) == ("data", None, "transient")
    assert err.in_doubt and err.maybe_delivered
    assert err.recipients == {"nobody@example.org": (550, "5.1.1 No such user")}
    assert [m.rcpt_tos for m in server.messages] == [["alice@example.org"]]  # it did arrive


# --- One AUTH command per login -------------------------------------------------------

@pytest.mark.parametrize(("cram_md5", "mechanism"), [(False, "PLAIN"), (True, "CRAM-MD5")])
def test_wrong_password_costs_exactly_one_auth_command(smtpd_factory, cram_md5, mechanism):
    server = smtpd_factory("plain", auth=USER, cram_md5=cram_md5)
    err = _open_error(server.settings(password="wrong-pass-xyz"))
    assert (err.step, err.reason, err.code) == ("auth", "auth_failed", 535)
    assert _auth_commands(server) == [f"AUTH {mechanism}"]


@pytest.mark.parametrize(("cram_md5", "mechanism"), [(False, "PLAIN"), (True, "CRAM-MD5")])
def test_login_uses_the_strongest_mechanism_both_sides_support(smtpd_factory, cram_md5,
                                                                mechanism):
    server = smtpd_factory("starttls", auth=USER, cram_md5=cram_md5)
    with open_session(server.settings()) as session:
        assert session.auth_mechanism == mechanism
        assert session.send(_message(), SENDER, ["alice@example.org"]).code == 250
    assert _auth_commands(server) == [f"AUTH {mechanism}"]


# --- 8BITMIME and SMTPUTF8 ------------------------------------------------------------

def _eight_bit_message():
    msg = build_message(from_address=SENDER, display_name="Ops", to=["alice@example.org"],
                        subject="Grüße", html="<p>Grüße aus Köln — naïve café</p>")
    payload = flatten_message(msg)
    head, _, body = payload.partition(b"\r\n\r\n")
    assert head.isascii() and not body.isascii()  # the case under test: an 8-bit body
    return msg, payload


def test_8bit_body_goes_with_body_8bitmime_when_offered(smtpd_factory):
    server = smtpd_factory("plain")
    msg, payload = _eight_bit_message()
    with open_session(server.settings()) as session:
        session.send(msg, SENDER, ["alice@example.org"])
        session.send(_message(subject="plain ascii"), SENDER, ["alice@example.org"])
    first, second = server.messages
    assert first.mail_options == ["BODY=8BITMIME"] and first.content == payload
    assert second.mail_options == []  # 7-bit content needs no parameter


def test_8bit_body_is_sent_7bit_clean_when_8bitmime_is_not_offered(smtpd_factory):
    server = smtpd_factory("plain", eightbitmime=False)
    msg, payload = _eight_bit_message()
    with open_session(server.settings()) as session:
        assert session.send(payload, SENDER, ["alice@example.org"]).code == 250
    [received] = server.messages
    assert received.mail_options == [] and received.content.isascii()
    sent_head = payload.partition(b"\r\n\r\n")[0]
    assert received.content.partition(b"\r\n\r\n")[0] == sent_head  # every header kept
    assert received.message["Message-ID"] == msg["Message-ID"]
    sent = email.message_from_bytes(payload, policy=policy.default)
    for kind in ("plain", "html"):
        text = received.message.get_body((kind,)).get_content()
        assert text == sent.get_body((kind,)).get_content() and "Köln — naïve" in text


def _utf8_message():
    return build_message(from_address="ops@corp.internal", display_name="报表系统",
                         to=["用户@corp.internal"], subject="报表", html="<p>数据</p>")


def test_non_ascii_address_is_delivered_with_smtputf8_when_offered(smtpd_factory):
    server = smtpd_factory("plain", smtputf8=True)
    msg = _utf8_message()
    with open_session(server.settings()) as session:
        result = session.send(msg, "ops@corp.internal", ["用户@corp.internal"])
    assert result.accepted == ["用户@corp.internal"]
    [received] = server.messages
    assert received.rcpt_tos == ["用户@corp.internal"]
    assert received.mail_options == ["SMTPUTF8", "BODY=8BITMIME"]
    assert received.content == flatten_message(msg)
    head = received.content.partition(b"\r\n\r\n")[0].decode()  # UTF-8 headers (RFC 6532)
    headers = HeaderParser(policy=policy.default).parsestr(head)
    assert headers["To"].addresses[0].addr_spec == "用户@corp.internal"
    assert headers["From"].addresses[0].display_name == "报表系统"


def test_non_ascii_address_without_smtputf8_is_a_clear_permanent_error(smtpd_factory):
    server = smtpd_factory("plain")
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_utf8_message(), "ops@corp.internal", ["用户@corp.internal"])
        assert session.is_open  # nothing was sent; other mail can still go
    err = info.value
    assert (err.step, err.kind) == ("mail_from", "permanent")
    assert "SMTPUTF8" in err.text and "SMTPUTF8" in str(err)
    assert not any(c.startswith("MAIL") for c in server.commands)

    report = probe(server.settings(), "ops@corp.internal", "用户@corp.internal")
    assert report.error.step == "mail_from" and "SMTPUTF8" in report.error.text


# --- Port and encryption mismatch, fast; slow greeters still fine ---------------------

@pytest.mark.parametrize("encryption", ["none", "starttls"])
@pytest.mark.parametrize("trusted", [True, False])
def test_plain_or_starttls_against_implicit_tls_is_diagnosed_fast(smtpd_factory, encryption,
                                                                  trusted):
    server = smtpd_factory("ssl")
    overrides = {} if trusted else {"ca_cert": None}  # a failed verification proves TLS too
    started = time.monotonic()
    err = _open_error(server.settings(encryption=encryption, timeout=15.0, **overrides))
    assert time.monotonic() - started < 5.0
    assert (err.step, err.reason, err.kind) == ("connect", "tls_mismatch", "permanent")
    assert "no greeting" in err.text and "SSL" in err.text
    assert "465" in diagnose(err).advice


def test_slow_greeter_still_works(smtpd_factory):
    server = smtpd_factory("starttls", auth=USER, greeting_delay=3.5)
    started = time.monotonic()
    with open_session(server.settings(timeout=8.0)) as session:
        assert time.monotonic() - started >= 3.5
        assert session.send(_message(), SENDER, ["alice@example.org"]).code == 250
    assert server.sessions == 2  # the TLS question was asked on a second connection
    assert len(server.messages) == 1
