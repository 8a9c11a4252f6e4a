"""Test connection is not a port scanner: no echo of foreign banners, a per-user rate
limit, and an allow-list of servers for team admins."""

import socket
import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail import DeliveryError, SmtpSettings, open_session
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.sender_helpers import AUTH, sender_form

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@pytest.fixture
def banner_port():
    """A TCP service on 127.0.0.1 that greets like SSH, then waits."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(BANNER)
                stop.wait(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=5)


def test_a_foreign_banner_is_not_echoed(banner_port):
    settings = SmtpSettings(host="127.0.0.1", port=banner_port, encryption="none", timeout=3)
    with pytest.raises(DeliveryError) as caught:
        open_session(settings)
    assert (caught.value.step, caught.value.reason) == ("connect", "not_smtp")
    assert "SSH" not in caught.value.text and "OpenSSH" not in str(caught.value)


def test_check_panel_says_not_a_mail_server(client, world, banner_port):
    login(client, "root")
    body = client.post("/senders/check", headers=HX, data={
        **sender_form(host="127.0.0.1", port=str(banner_port), encryption="none"),
        "action": "connection"}).get_data(as_text=True)
    assert "not a mail server" in body and "OpenSSH" not in body


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SENDER_CHECK_RATE_LIMIT": "3 per minute",
            "SENDER_HOST_ALLOWLIST": "*.corp.local, 127.0.0.1:25, 10.0.0.0/8"}


def test_checks_are_rate_limited_per_user(app, world):
    client = app.test_client()
    login(client, "red_admin")
    data = {**sender_form(host="127.0.0.1", port="25", encryption="none",
                          team_id=str(world["red"])), "action": "connection"}
    answers = [client.post("/senders/check", data=data, headers=HX) for _ in range(4)]
    assert [answer.status_code == 429 for answer in answers] == [False, False, False, True]
    assert "Too many attempts" in answers[3].get_data(as_text=True)
    other = app.test_client()
    login(other, "blue_admin")  # another user has a budget of their own
    assert other.post("/senders/check", headers=HX, data={
        **data, "team_id": str(world["blue"])}).status_code == 200


@pytest.mark.parametrize("host, port, allowed", [
    ("smtp.corp.local", 587, True), ("SMTP.Corp.Local.", 25, True), ("corp.local", 587, False),
    ("127.0.0.1", 25, True), ("127.0.0.1", 22, False),
    ("10.1.2.3", 2525, True), ("192.168.1.1", 25, False), ("smtp.qq.com", 465, False),
])
def test_allow_list_matching(app, world, host, port, allowed):
    from portal.auth.models import User
    from portal.senders import allowlist
    with app.test_request_context():
        team_admin, root = db.session.get(User, world["red_admin"]), db.session.get(
            User, world["root"])
        assert (allowlist.refusal(team_admin, host, port) is None) is allowed
        assert allowlist.refusal(root, host, port) is None


def test_team_admin_cannot_test_or_save_other_servers(app, client, world):
    """Refused before any connection is made (nothing on the network is touched)."""
    login(client, "red_admin")
    data = sender_form(host="smtp.qq.com", port="465", encryption="ssl",
                       team_id=str(world["red"]))
    checked = client.post("/senders/check", data={**data, "action": "connection"},
                          headers=HX)
    assert checked.status_code == 422
    assert "may only use the mail servers" in checked.get_data(as_text=True)
    saved = client.post("/senders/new", data=data, headers=HX)
    assert saved.status_code == 422 and "may only use the mail servers" in saved.get_data(
        as_text=True)
    allowed = client.post("/senders/new", headers=HX, data={
        **data, "host": "smtp.corp.local", "port": "587", "encryption": "starttls"})
    assert allowed.status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sender)) == 1


def test_system_admins_are_not_restricted(app, client, world, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)  # on 127.0.0.1, a port not allowed
    login(client, "root")
    body = client.post("/senders/check", data={**sender_form(server), "action": "connection"},
                       headers=HX).get_data(as_text=True)
    assert "Connection works" in body
