"""Addresses are checked for syntax only (DESIGN §3): intranet domains are valid at every
entry point (sender form and CLI, test recipient, users page and CLI, compose, JSON API),
a bad value is a field error naming the field once, never a 500."""

import re

import email_validator
import pytest
from sqlalchemy import func, select

from portal.addresses import AddressError, normalize_address
from portal.auth.models import User
from portal.extensions import db
from portal.outbox.models import Message
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH
from tests.sender_helpers import sender_form

# Refused today by email-validator as "special-use or reserved"; valid on an intranet.
SPECIAL_USE = ["reports@corp.local", "ops@mail.home.arpa", "ops@localhost"]


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- the function ------------------------------------------------------------------------

@pytest.mark.parametrize("value, normalized", [
    ("reports@corp.local", "reports@corp.local"),
    ("ops@srv.internal", "ops@srv.internal"),
    ("ops@corp.lan", "ops@corp.lan"),
    ("ops@nas.home.arpa", "ops@nas.home.arpa"),
    ("ops@mailhub", "ops@mailhub"),
    ("ops@localhost", "ops@localhost"),
    ("ops#1&co@example.com", "ops#1&co@example.com"),
    ("用户@corp.internal", "用户@corp.internal"),
    ("ops@例子.internal", "ops@例子.internal"),
    ("ops@xn--fsqu00a.local", "ops@例子.local"),
    ("  Reports@Corp.LOCAL ", "Reports@corp.local"),
    ("Postmaster@Corp.Local", "Postmaster@corp.local"),
])
def test_intranet_and_international_addresses_are_valid(value, normalized):
    assert normalize_address(value) == normalized


@pytest.mark.parametrize("value", [
    "", "not an address", "reports", "@corp.local", "reports@", "a b@corp.local",
    "a@b@corp.local", "reports@corp..local", "reports@corp.local.", "Reports <r@corp.local>",
    "reports@corp.local\r\nBcc: evil@example.org", "re\x00ports@corp.local",
    "re\tports@corp.local", "x" * 65 + "@corp.local", "ops@" + "a" * 250 + ".local",
])
def test_malformed_addresses_are_refused_without_a_field_label(value):
    with pytest.raises(AddressError) as caught:
        normalize_address(value)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert message and "\n" not in message and ":" not in message.split("(")[0]


def test_the_librarys_global_list_is_left_alone():
    before = list(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    assert normalize_address("reports@corp.local") == "reports@corp.local"
    assert email_validator.SPECIAL_USE_DOMAIN_NAMES == before
    with pytest.raises(email_validator.EmailNotValidError):
        email_validator.validate_email("reports@corp.local", check_deliverability=False)


# --- sender form and CLI -----------------------------------------------------------------

@pytest.mark.parametrize("address", SPECIAL_USE)
def test_sender_form_accepts_intranet_address(app, client, world, address):
    login(client, "root")
    response = client.post("/senders/new", data=sender_form(address=address), headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.scalar(select(Sender.address)) == address


@pytest.mark.parametrize("address", SPECIAL_USE)
def test_cli_sender_add_accepts_intranet_address(app, world, address):
    result = _cli(app, "sender", "add", "--name", "Ops", "--host", "mail.corp", "--port", "25",
                  "--encryption", "none", "--address", address, "--display-name", "Ops")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Sender, int(result.output.strip())).address == address


def test_sender_form_error_names_the_field_once(app, client, world):
    login(client, "root")
    response = client.post("/senders/new", data=sender_form(address="not an address"),
                           headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<small id="address-error" class="error">(.*?)</small>', body, re.S)
    assert error and "is not a valid address" in error.group(1)
    assert "Sender address" not in error.group(1)  # the label sits right above it
    assert _count(app, Sender) == 0


def test_cli_sender_error_names_the_field_once(app, world):
    result = _cli(app, "sender", "add", "--name", "Ops", "--host", "mail.corp", "--port", "25",
                  "--encryption", "none", "--address", "not an address",
                  "--display-name", "Ops")
    assert result.exit_code != 0
    assert "Sender address: “not an address” is not a valid address" in result.output
    assert result.output.count("Sender address") == 1
    assert _count(app, Sender) == 0


# --- test recipient (Test connection / Send test mail) -----------------------------------

def _check(client, server, action, **overrides):
    data = sender_form(server, username="robot@example.com", **overrides)
    return client.post("/senders/check", data={**data, "action": action}, headers=HX)


def test_test_mail_from_and_to_intranet_addresses(app, client, world, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    login(client, "root")
    response = _check(client, server, "mail", address="reports@corp.local",
                      test_recipient="Me@Corp.LOCAL")
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "Test mail sent to Me@corp.local" in body
    (received,) = server.messages
    assert received.mail_from == "reports@corp.local"
    assert received.rcpt_tos == ["Me@corp.local"]


@pytest.mark.parametrize("action", ["mail", "connection"])
@pytest.mark.parametrize("recipient", ["not an address", "me@corp.local\r\nBcc: x@example.org"])
def test_bad_test_recipient_is_a_field_error(app, client, world, smtpd_factory, action,
                                             recipient):
    server = smtpd_factory("plain", auth=AUTH)
    login(client, "root")
    response = _check(client, server, action, test_recipient=recipient)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body
    assert "Fix these fields first" in body and "<strong>Test recipient</strong>:" in body
    assert body.count("Test recipient") == 1
    assert server.messages == [] and server.sessions == 0
    assert _count(app, Message) == 0


def test_check_panel_names_the_sender_address_once(client, world, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    login(client, "root")
    body = _check(client, server, "connection", address="a@b@c").get_data(as_text=True)
    assert "<strong>Sender address</strong>: “a@b@c” is not a valid address" in body
    assert body.count("Sender address") == 1


def test_check_panel_names_a_field_once_when_its_message_does(client, world, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    login(client, "root")
    body = _check(client, server, "connection", port="70000").get_data(as_text=True)
    assert "Port must be a number between 1 and 65535." in body
    assert "Port: Port" not in body and "Port</strong>: Port" not in body


# --- users -------------------------------------------------------------------------------

NEW_USER = {"username": "carol", "display_name": "Carol", "password": "longenough1",
            "confirm": "longenough1"}


@pytest.mark.parametrize("email", SPECIAL_USE + ["carol@mailhub"])
def test_users_page_accepts_intranet_email(app, client, world, email):
    login(client, "root")
    response = client.post("/users", data={**NEW_USER, "email": email}, headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.username == "carol")) == email


def test_users_page_edit_keeps_intranet_email(app, client, world):
    login(client, "root")
    response = client.post(f"/users/{world['red_agent']}", headers=HX, data={
        "display_name": "Red Agent", "email": "Agent@Corp.LOCAL", "active": "y"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(User, world["red_agent"]).email == "Agent@corp.local"


def test_cli_user_add_checks_and_normalizes_email(app):
    result = _cli(app, "user", "add", "--username", "ann", "--password", "another-pass",
                  "--email", "Ann@Corp.LOCAL")
    assert result.exit_code == 0, result.output
    result = _cli(app, "user", "add", "--username", "bob", "--password", "another-pass",
                  "--email", "not an address")
    assert result.exit_code != 0 and "“not an address” is not a valid address" in result.output
    with app.app_context():
        emails = dict(db.session.execute(select(User.username, User.email)).all())
    assert emails == {"ann": "Ann@corp.local"}


# --- compose and the JSON API ------------------------------------------------------------

def _compose(client, sender_id, **fields):
    data = {"sender_id": sender_id, "to": "", "cc": "", "bcc": "", "template_id": "",
            "subject": "Figures", "html_body": "<p>Here.</p>", "text_body": "",
            "resource": "", **fields}
    return client.post("/compose", data=data, headers=HX)


def test_compose_sends_to_intranet_addresses(app, client, world, smtpd_factory,
                                             make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _compose(client, sid, to="reports@corp.local; ops@mail.home.arpa",
                        cc="ops@localhost")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    (received,) = server.messages
    assert received.rcpt_tos == ["reports@corp.local", "ops@mail.home.arpa", "ops@localhost"]


def test_compose_error_is_shown_under_the_field_without_its_name(app, client, world,
                                                                 smtpd_factory,
                                                                 make_smtp_sender):
    sid = make_smtp_sender(smtpd_factory("plain", auth=AUTH), team_id=world["red"])
    login(client, "red_agent")
    body = _compose(client, sid, to="ok@corp.local", cc="x@@corp.local").get_data(as_text=True)
    assert "“x@@corp.local” is not a valid address" in body
    assert "cc: “x@@corp.local”" not in body
    assert _count(app, Message) == 0


@pytest.fixture
def token(app):
    from portal.cli import SYSTEM
    from portal.tokens import service as tokens

    with app.app_context():
        _, secret = tokens.create_token(SYSTEM, "ETL", None)
        db.session.commit()
    return secret


def _api(client, token, body):
    return client.post("/api/v1/messages", json=body,
                       headers={"Authorization": f"Bearer {token}"})


def test_api_sends_to_intranet_addresses(app, client, token, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="immediate", is_default=True)
    response = _api(client, token, {"to": SPECIAL_USE, "subject": "Figures",
                                    "html": "<p>Here.</p>"})
    assert response.status_code == 200, response.get_data(as_text=True)
    (received,) = server.messages
    assert received.rcpt_tos == SPECIAL_USE


def test_api_error_names_the_field_beside_the_message(app, client, token, smtpd_factory,
                                                      make_smtp_sender):
    make_smtp_sender(smtpd_factory("plain", auth=AUTH), mode="immediate", is_default=True)
    response = _api(client, token, {"to": "ok@corp.local", "cc": ["bad@"],
                                    "subject": "Figures", "html": "<p>Here.</p>"})
    assert response.status_code == 422
    error = response.json["error"]
    assert (error["code"], error["field"]) == ("invalid_address", "cc")
    assert error["message"].startswith("“bad@” is not a valid address")
    assert _count(app, Message) == 0
