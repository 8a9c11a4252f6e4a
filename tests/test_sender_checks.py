"""Test connection and Send test mail through the sender form, against real SMTP servers."""

import time

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.outbox.models import Message
from tests.conftest import HX, login
from tests.sender_helpers import AUTH, sender_form


def _check(client, server=None, action="connection", **overrides):
    data = sender_form(server, **overrides)
    data["action"] = action
    return client.post("/senders/check", data=data, headers=HX)


@pytest.fixture
def root(client, world):
    login(client, "root")
    return client


@pytest.mark.parametrize("kind", ["plain", "starttls", "ssl"])
def test_connection_ok_for_each_encryption(root, smtpd_factory, kind):
    server = smtpd_factory(kind, auth=AUTH)
    response = _check(root, server)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Connection works" in body and "nothing was sent" in body
    assert "✗" not in body
    assert server.messages == []


@pytest.mark.parametrize("kind", ["plain", "starttls", "ssl"])
def test_test_mail_delivered_and_recorded(app, root, smtpd_factory, kind):
    server = smtpd_factory(kind, auth=AUTH)
    response = _check(root, server, action="mail", test_recipient="me@example.org",
                      address="ops#1&co@example.com", username="robot@example.com",
                      display_name="报表系统")
    assert "Test mail sent to me@example.org" in response.get_data(as_text=True)
    assert len(server.messages) == 1
    received = server.messages[0].message
    assert "test" not in received["Subject"].lower()
    assert "configured successfully" in received.get_body(("html",)).get_content()
    assert "报表系统" in str(received["From"])
    with app.app_context():
        record = db.session.scalar(select(Message))
        assert record.template_name == "Test mail" and record.status == "sent"
        assert record.to_addrs == ["me@example.org"] and record.attempt_count == 1
        assert record.message_id == received["Message-ID"]
        assert record.attempts[0].reply_code == 250


def test_wrong_password_gives_authorization_code_advice(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    body = _check(root, server, password="wrong").get_data(as_text=True)
    assert "Connection failed" in body and "535" in body
    assert "authorization code" in body


def test_failed_test_mail_recorded_with_diagnosis(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    _check(root, server, action="mail", password="wrong", test_recipient="me@example.org")
    with app.app_context():
        record = db.session.scalar(select(Message))
        assert record.status == "failed" and record.reply_code == 535
        assert "authorization code" in describe(record.diagnosis)


def test_deferred_test_mail_is_final_and_not_promised_a_retry(app, root, smtpd_factory):
    # The worker would retry with the stored settings, not the ones being tested.
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "451 4.3.0 Try again later"})
    body = _check(root, server, action="mail", test_recipient="me@example.org")
    text = body.get_data(as_text=True)
    assert "451 4.3.0 Try again later" in text and "retried automatically" not in text
    assert "try again in a few minutes" in text
    with app.app_context():
        record = db.session.scalar(select(Message))
        assert record.status == "failed" and record.next_attempt_at is None
        assert "Gave up after 1 attempt" in describe(record.diagnosis)


def test_untrusted_ca_then_success_with_pasted_pem(root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    body = _check(root, server, ca_cert="").get_data(as_text=True)
    assert "not trust" in body and "CA certificate" in body
    assert "Connection works" in _check(root, server).get_data(as_text=True)


def test_ssl_against_plain_port_is_mismatch(root, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    body = _check(root, server, encryption="ssl").get_data(as_text=True)
    assert "The port and the encryption do not match" in body
    assert "465 usually means SSL" in body


def test_plain_against_ssl_port_is_mismatch_within_timeout(app, root, smtpd_factory):
    server = smtpd_factory("ssl", auth=AUTH)
    started = time.monotonic()
    body = _check(root, server, encryption="none").get_data(as_text=True)
    # Well under the 15 s a real timeout would cost; the margin absorbs a busy machine.
    assert time.monotonic() - started < app.config["SMTP_TIMEOUT"] + 5
    assert "do not match" in body


def test_unreachable_port(root, free_port):
    body = _check(root, None, host="127.0.0.1", port=str(free_port),
                  encryption="none").get_data(as_text=True)
    assert "cannot reach" in body and "firewall" in body


def test_starttls_not_offered(root, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    body = _check(root, server, encryption="starttls").get_data(as_text=True)
    assert "does not offer STARTTLS" in body
    why = body.split("<strong>Why:</strong>", 1)[1].split("</p>", 1)[0]
    assert why.strip() == "The server does not offer STARTTLS."  # said once, not twice


@pytest.mark.parametrize("reply, expected", [
    ({"rcpt": "550 5.1.1 No such user"}, "550"),
    ({"data": "554 5.7.1 Content rejected as spam"}, "spam"),
    ({"mail": "451 4.7.1 Try again later"}, "refused the mail temporarily"),
    ({"mail": "553 5.7.1 Sender not owned by user"}, "sender address must equal"),
])
def test_server_refusals_are_diagnosed(root, smtpd_factory, reply, expected):
    server = smtpd_factory("plain", auth=AUTH, reply=reply)
    body = _check(root, server, action="mail", test_recipient="me@example.org").get_data(
        as_text=True)
    assert "Test mail failed" in body and expected in body


def test_stored_password_used_when_field_blank(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    response = root.post("/senders/new", data=sender_form(server), headers=HX)
    assert response.status_code == 204
    from portal.senders.models import Sender

    with app.app_context():
        sid = db.session.scalar(select(Sender.id))
    body = _check(root, server, password="", sender_id=str(sid)).get_data(as_text=True)
    assert "Connection works" in body
    body = _check(root, server, password="", sender_id="").get_data(as_text=True)
    assert "Connection works" in body and "auth" not in body.split("Connection works")[1][:200]


def test_check_reports_field_problems_first(root):
    body = _check(root, None, host="", action="mail").get_data(as_text=True)
    assert "Fix these fields first" in body
    assert "Mail server (SMTP)" in body and "Test recipient" in body


def test_test_mail_never_echoes_password(root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    body = _check(root, server, action="mail", test_recipient="me@example.org").get_data(
        as_text=True)
    assert next(iter(AUTH.values())) not in body


def test_stored_password_is_not_sent_to_another_server(app, root, smtpd_factory):
    from portal.senders.models import Sender

    real = smtpd_factory("plain", auth=AUTH)
    response = root.post("/senders/new", data=sender_form(real), headers=HX)
    assert response.status_code == 204
    with app.app_context():
        sid = db.session.scalar(select(Sender.id))
    elsewhere = smtpd_factory("plain", auth=AUTH)  # another host name, another server
    body = _check(root, elsewhere, host="localhost", password="",
                  sender_id=str(sid)).get_data(as_text=True)
    assert "Enter the password again" in body
    assert not any(command.startswith("AUTH") for command in elsewhere.commands)
    assert "Connection works" in _check(root, real, password="", sender_id=str(sid)).get_data(
        as_text=True)


# ---- The last check: remembered per sender, carried from a check to Save ----

def _sender(app, sid=None):
    from portal.senders.models import Sender

    with app.app_context():
        query = select(Sender) if sid is None else select(Sender).where(Sender.id == sid)
        sender = db.session.scalar(query)
        return sender and (sender.id, sender.last_check_ok, sender.last_check_reason,
                           sender.last_check_at)


def _token(body: str) -> str:
    import re

    match = re.search(r'name="check_token" value="([^"]+)"', body)
    assert match, body[:1500]
    return match.group(1)


def _saved(root, server, **overrides):
    response = root.post("/senders/new", data=sender_form(server, **overrides), headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)[:1500]


def test_check_of_the_stored_settings_is_remembered(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    _saved(root, server)
    sid = _sender(app)[0]
    assert _sender(app)[1:3] == (None, None)  # never tested
    _check(root, server, password="", sender_id=str(sid))
    assert _sender(app)[1:3] == (True, None) and _sender(app)[3] is not None
    # A typed password or other settings test something not saved: nothing is remembered.
    _check(root, server, password="wrong", sender_id=str(sid))
    _check(root, server, password="", sender_id=str(sid), address="other@example.com")
    assert _sender(app)[1:3] == (True, None)


def test_list_test_button_checks_stored_settings_and_answers_with_the_cell(
        app, root, smtpd_factory, free_port):
    server = smtpd_factory("starttls", auth=AUTH)
    _saved(root, server)
    sid = _sender(app)[0]
    body = root.post(f"/senders/{sid}/test", headers=HX).get_data(as_text=True)
    assert "pill-ok" in body and "<tr" not in body
    assert _sender(app)[1] is True and server.messages == []
    with app.app_context():
        from portal.senders.models import Sender

        db.session.get(Sender, sid).port = free_port  # the server went away
        db.session.commit()
    body = root.post(f"/senders/{sid}/test", headers=HX).get_data(as_text=True)
    assert "Failed" in body and "server unreachable" in body
    assert _sender(app)[1:3] == (False, "unreachable")
    listing = root.get("/senders").get_data(as_text=True)
    assert "server unreachable" in listing and "pill-failed" in listing


def test_save_after_a_failed_check_on_the_form_asks_first(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    token = _token(_check(root, server, password="wrong").get_data(as_text=True))
    data = sender_form(server, password="wrong", check_token=token)
    response = root.post("/senders/new", data=data, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#save-confirm"
    assert "Save anyway" in body and "login refused" in body
    assert _sender(app) is None  # nothing saved yet
    response = root.post("/senders/new", data={**data, "confirm_save": "y"}, headers=HX)
    assert response.status_code == 204
    assert _sender(app)[1:3] == (False, "auth_failed")  # the check is kept with the sender


def test_save_after_a_passing_check_does_not_ask_and_keeps_it(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    token = _token(_check(root, server).get_data(as_text=True))
    _saved(root, server, check_token=token)
    assert _sender(app)[1] is True


def test_saving_a_sender_whose_last_check_failed_asks_first(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    _saved(root, server, password="wrong")
    sid = _sender(app)[0]
    root.post(f"/senders/{sid}/test", headers=HX)
    assert _sender(app)[1] is False
    data = sender_form(server, password="", name="Renamed", sender_id=str(sid))
    response = root.post(f"/senders/{sid}", data=data, headers=HX)
    assert response.status_code == 200 and "The last check of this sender failed" in (
        response.get_data(as_text=True))
    # A passing check on the form settles it: saved at once, and remembered as passing.
    token = _token(_check(root, server, sender_id=str(sid)).get_data(as_text=True))
    response = root.post(f"/senders/{sid}", data={**data, "password": AUTH["robot@example.com"],
                                                  "check_token": token}, headers=HX)
    assert response.status_code == 204
    assert _sender(app)[1] is True


def test_confirmation_without_javascript_shows_the_whole_form(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    token = _token(_check(root, server, password="wrong").get_data(as_text=True))
    response = root.post("/senders/new", data=sender_form(server, password="wrong",
                                                          check_token=token))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in body
    assert "Save anyway" in body and 'name="check_token"' in body
    assert "Enter the password again" in body and "wrong" not in body.split("<form")[1]
    assert _sender(app) is None


def test_a_token_for_other_settings_or_a_forged_one_counts_for_nothing(app, root,
                                                                       smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    token = _token(_check(root, server, password="wrong").get_data(as_text=True))
    _saved(root, server, port="2", check_token=token)  # another port: not that check
    assert _sender(app)[1] is None
    _saved(root, server, name="Other", check_token=token[:-2] + "xx")
    with app.app_context():
        from portal.senders.models import Sender

        assert [s.last_check_ok for s in db.session.scalars(select(Sender))] == [None, None]


def test_changed_settings_saved_without_a_check_are_never_tested(app, root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    _saved(root, server)
    sid = _sender(app)[0]
    root.post(f"/senders/{sid}/test", headers=HX)
    assert _sender(app)[1] is True
    same = sender_form(server, password="", name="Renamed", sender_id=str(sid))
    assert root.post(f"/senders/{sid}", data=same, headers=HX).status_code == 204
    assert _sender(app)[1] is True  # only the name changed: the check still holds
    moved = {**same, "address": "other@example.com", "username": "robot@example.com"}
    assert root.post(f"/senders/{sid}", data=moved, headers=HX).status_code == 204
    assert _sender(app)[1:4] == (None, None, None)


def test_check_panel_clears_a_pending_confirmation(root, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    body = _check(root, server).get_data(as_text=True)
    assert '<div id="save-confirm" hx-swap-oob="true"></div>' in body


def test_test_mail_record_names_its_reason_in_the_readers_language(app, root, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    _check(root, server, action="mail", test_recipient="me@example.org")
    with app.app_context():
        record_id = db.session.scalar(select(Message.id))
    page = root.get(f"/messages/{record_id}", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert "发件人表单中的测试邮件" in text and "(test mail)" not in text
