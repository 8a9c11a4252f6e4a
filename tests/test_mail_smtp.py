"""Delivery against real aiosmtpd servers: encryption, login, refusals, probe, reuse."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from portal.mail import (
    DeliveryError,
    build_message,
    build_test_mail,
    diagnose,
    envelope_recipients,
    open_session,
    probe,
)

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
        code, text = session.send(msg, SENDER, recipients)

    assert code == 250 and "accepted" in text
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["alice@example.org", "hidden@example.net"]
    sender = received.message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("报表系统", SENDER)
    assert str(received.message["Subject"]) == "Quarterly report 报表"
    assert received.message["Bcc"] is None and b"hidden@" not in received.content
    assert f"AUTH {'PLAIN'}" in server.commands


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
    err = _open_error(server.settings(username="robot@example.com", password="x"))
    assert (err.step, err.reason, err.kind) == ("auth", "auth_unsupported", "permanent")


def test_no_username_means_no_login(smtpd_factory):
    server = smtpd_factory("plain")
    report = probe(server.settings(), SENDER, "alice@example.org")
    assert report.ok
    assert [s.name for s in report.steps] == ["connect", "ehlo", "mail_from", "rcpt"]
    assert not any(c.startswith("AUTH") for c in server.commands)


def test_refused_recipient_fails_message_but_session_stays_usable(smtpd_factory):
    refusal = {"nobody@example.org": "550 5.1.1 No such user"}
    server = smtpd_factory("plain", reply={"rcpt": refusal})
    with open_session(server.settings()) as session:
        with pytest.raises(DeliveryError) as info:
            session.send(_message(), SENDER, ["alice@example.org", "nobody@example.org"])
        err = info.value
        assert (err.step, err.reason, err.code, err.kind) == (
            "rcpt", "recipient_rejected", 550, "permanent")
        assert err.recipients == {"nobody@example.org": (550, "5.1.1 No such user")}
        assert "nobody@example.org" in err.text
        assert session.is_open
        assert session.send(_message(), SENDER, ["alice@example.org"])[0] == 250
    assert server.commands.count("RSET") >= 1
    assert len(server.messages) == 1 and server.sessions == 1


def test_permanent_refusal_outranks_temporary_one(smtpd_factory):
    server = smtpd_factory("plain", reply={"rcpt": {"a@example.org": "452 4.2.2 Mailbox full",
                                                    "b@example.org": "550 5.1.1 Unknown"}})
    err = _send_error(server, _message(), ["a@example.org", "b@example.org"])
    assert (err.reason, err.code, err.kind) == ("recipient_rejected", 550, "permanent")
    assert set(err.recipients) == {"a@example.org", "b@example.org"}


@pytest.mark.parametrize(
    ("reply", "step", "reason", "code", "kind"),
    [
        ({"data": "554 5.7.1 Content rejected as spam"}, "data", "content_rejected", 554,
         "permanent"),
        ({"data": "552 5.3.4 Message too big"}, "data", "content_rejected", 552, "permanent"),
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
                outcomes.append(session.send(_message(), SENDER, ["alice@example.org"])[0])
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
