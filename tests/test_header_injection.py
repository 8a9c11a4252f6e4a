"""Header and body injection through RFC 2047 encoded words, at every way in.

The interpreter ``make test`` uses (3.11.7) writes CR/LF decoded from an encoded word out
raw (CVE-2024-6923); the portal must refuse such values whatever the interpreter does.
"""

import base64

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail.compose import (
    HeaderInjectionError,
    _check_header_lines,
    build_message,
    check_header,
    flatten_message,
)
from portal.mail.diagnosis import describe
from portal.outbox.models import Message
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH
from tests.test_api import post


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


INJECT_HEADERS = _encoded("Invoice\r\nBcc: injected-bcc@evil.example\r\n"
                          "Reply-To: attacker@evil.example\r\nX-Injected: yes")
INJECT_BODY = _encoded("Invoice\r\nContent-Type: text/html\r\n\r\n<h1>pay to IBAN</h1>")
SHORT_INJECT = _encoded("Ops\r\nReply-To: a@evil.example")  # fits a displayed name
HOSTILE = [SHORT_INJECT, INJECT_HEADERS, INJECT_BODY, "=?utf-8?q?Ops=0D=0AX-Evil=3A_1?=",
           "Report " + _encoded("a\u2028b"), "=?utf-8?q?nul=00byte?="]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["subject", "display_name"])
def test_build_refuses_encoded_control_characters(field, value):
    values = {"from_address": "robot@example.com", "display_name": "Robot",
              "to": ["alice@example.org"], "subject": "Figures", "html": "<p>x</p>"}
    with pytest.raises(HeaderInjectionError) as info:
        build_message(**{**values, field: value})
    assert info.value.field == field
    assert "encoded word" in str(info.value)


def test_harmless_encoded_words_still_pass():
    assert check_header("subject", _encoded("月度报表")) == _encoded("月度报表")
    msg = build_message(from_address="robot@example.com", display_name=_encoded("报表系统"),
                        to=["alice@example.org"], subject=_encoded("月度报表"), html="<p>x</p>")
    assert str(msg["Subject"]) == "月度报表"


@pytest.mark.parametrize("data", [
    b"Subject: Invoice\r\nBcc: x@evil.example\r\nFrom: a@b.c\r\n\r\nbody",
    b"Subject: Invoice\r\n\r\n<h1>pay</h1>\r\nFrom: a@b.c\r\n\r\nbody",
    b"Subject: Invoice\r\nno colon here\r\nFrom: a@b.c\r\n\r\nbody",
])
def test_flattened_bytes_with_foreign_header_lines_are_refused(data):
    with pytest.raises(HeaderInjectionError):
        _check_header_lines(data, ["Subject", "From"])


def test_flattened_bytes_with_folded_lines_pass():
    msg = build_message(from_address="robot@example.com", display_name="Robot",
                        to=[f"user{i}@example.org" for i in range(30)],
                        subject="长" * 300, html="<p>x</p>")
    data = flatten_message(msg)
    assert data.count(b"\r\n ") > 5  # folded headers were checked and let through


def test_api_refuses_encoded_subject_and_sends_nothing(app, client, smtpd_factory,
                                                       make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="immediate", is_default=True)
    from portal.cli import SYSTEM
    from portal.tokens import service as tokens
    with app.app_context():
        _token, secret = tokens.create_token(SYSTEM, "ETL", None)
        db.session.commit()
    for subject in (INJECT_HEADERS, INJECT_BODY):
        response = post(client, secret, {"to": "alice@example.org", "subject": subject,
                                         "html": "<p>Figures.</p>"})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["field"] == "subject"
    assert server.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_compose_refuses_encoded_subject(app, client, world, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate", team_id=world["red"])
    login(client, "red_agent")
    response = client.post("/compose", headers=HX, data={
        "sender_id": sid, "to": "alice@example.org", "cc": "", "bcc": "", "template_id": "",
        "subject": INJECT_HEADERS, "html_body": "<p>Here.</p>", "text_body": "",
        "resource": ""})
    assert "encoded word" in response.get_data(as_text=True)
    assert server.messages == []


def test_sender_form_refuses_encoded_displayed_name(app, client, world):
    login(client, "root")
    page = client.get("/senders/new").get_data(as_text=True)
    from tests.conftest import csrf_from
    response = client.post("/senders/new", headers=HX, data={
        "csrf_token": csrf_from(page), "name": "Evil", "team_id": "", "host": "127.0.0.1",
        "port": "25", "encryption": "none", "address": "robot@example.com",
        "username": "", "password": "", "display_name": INJECT_HEADERS,
        "mode": "immediate", "enabled": "y", "action": "save"})
    assert "encoded word" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sender)) == 0


def test_stored_sender_name_cannot_inject_into_worker_mail(app, smtpd_factory,
                                                           make_smtp_sender):
    """A displayed name stored before this check (or written around the form) fails the
    message with a clear diagnosis instead of sending an attacker's Reply-To."""
    from portal.outbox.worker import Worker
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="deferred")
    with app.app_context():
        db.session.get(Sender, sid).display_name = SHORT_INJECT
        message = Message(sender_id=sid, sender_name="Relay", sender_address="robot@example.com",
                          sender_reason="explicit", to_addrs=["alice@example.org"],
                          cc_addrs=[], bcc_addrs=[], recipients_search="alice@example.org",
                          subject="Figures", html_body="<p>x</p>", mode="deferred",
                          status="queued", attempt_count=0, message_id="<m1@example.com>")
        db.session.add(message)
        db.session.commit()
    Worker(app).run_once()
    assert server.messages == []
    with app.app_context():
        stored = db.session.scalars(select(Message)).one()
        assert stored.status == "failed"
        shown = describe(stored.diagnosis)
        assert "could not be built" in shown and "display_name" in shown
