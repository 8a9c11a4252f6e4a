"""A stored password goes only where and how it was saved, and never in clear unless allowed."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail import DeliveryError, diagnose, open_session
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.sender_helpers import AUTH, sender_form


@pytest.fixture
def saved(app, client, world, smtpd_factory):
    """An SSL sender saved with its password; returns (sender id, its server)."""
    server = smtpd_factory("ssl", auth=AUTH)
    login(client, "root")
    response = client.post("/senders/new", data=sender_form(server), headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)
    with app.app_context():
        return db.session.scalar(select(Sender.id)), server


def _auth_commands(server) -> list[str]:
    return [command for command in server.commands if command.startswith("AUTH")]


@pytest.mark.parametrize("change", [
    {"encryption": "none"},
    {"encryption": "none", "allow_plain_auth": "y"},
    {"ca_cert": ""},
    {"encryption": "starttls"},
])
def test_changing_how_the_password_travels_needs_it_again(app, client, saved, smtpd_factory,
                                                          change):
    sid, server = saved
    listener = smtpd_factory("plain", auth=AUTH)  # whatever answers on the new settings
    data = sender_form(server, password="", sender_id=str(sid), **change)
    if change.get("encryption") == "none":
        data["port"] = str(listener.port)
    body = client.post("/senders/check", data={**data, "action": "connection"},
                       headers=HX).get_data(as_text=True)
    assert "Enter the password again" in body
    saved_body = client.post(f"/senders/{sid}", data=data, headers=HX)
    assert saved_body.status_code == 422
    assert "Enter the password again" in saved_body.get_data(as_text=True)
    assert _auth_commands(listener) == [] and _auth_commands(server) == []
    with app.app_context():
        stored = db.session.get(Sender, sid)
        assert (stored.encryption, stored.allow_plain_auth) == ("ssl", False)


def test_same_settings_keep_the_stored_password(client, saved):
    sid, server = saved
    data = sender_form(server, password="", sender_id=str(sid), action="connection")
    assert "Connection works" in client.post("/senders/check", data=data,
                                             headers=HX).get_data(as_text=True)
    assert len(_auth_commands(server)) == 1


def test_core_never_logs_in_without_tls_unless_allowed(smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    with pytest.raises(DeliveryError) as caught:
        open_session(server.settings(allow_plain_auth=False))
    assert (caught.value.step, caught.value.reason) == ("auth", "plain_auth_refused")
    assert _auth_commands(server) == []
    advice = diagnose(caught.value)
    assert "SSL or STARTTLS" in advice.advice and "Allow login without encryption" in advice.advice
    with open_session(server.settings(allow_plain_auth=True)) as session:
        assert session.auth_mechanism is not None
    assert len(_auth_commands(server)) == 1


def test_plain_login_is_opt_in_and_shown_in_the_list(app, client, world, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    login(client, "root")
    refused = client.post("/senders/check", headers=HX, data={
        **sender_form(server, allow_plain_auth=None), "action": "connection"})
    assert "does not send a password over an unencrypted connection" in refused.get_data(
        as_text=True)
    assert _auth_commands(server) == []
    assert "Allow login without encryption" in client.get("/senders/new").get_data(as_text=True)
    client.post("/senders/new", data=sender_form(server, name="Plain"), headers=HX)
    with app.app_context():
        assert db.session.scalar(select(Sender.allow_plain_auth)) is True
    assert "login without encryption" in client.get("/senders").get_data(as_text=True)


def test_starttls_not_offered_never_advises_no_encryption():
    advice = diagnose(DeliveryError("tls", "starttls_unsupported",
                                    "the server does not offer STARTTLS"))
    assert "SSL" in advice.advice
    assert "No encryption" not in advice.advice and "no encryption" not in advice.advice


def test_line_ends_of_the_ca_certificate_do_not_count_as_a_change(client, saved):
    sid, server = saved
    data = sender_form(server, password="", sender_id=str(sid),
                       ca_cert=server.ca_pem.replace("\n", "\r\n") + "\r\n")
    assert "Connection works" in client.post(
        "/senders/check", data={**data, "action": "connection"}, headers=HX).get_data(
        as_text=True)
    assert client.post(f"/senders/{sid}", data=data, headers=HX).status_code == 204
