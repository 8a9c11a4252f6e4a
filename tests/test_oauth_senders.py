"""OAuth2 senders in the portal: the form, test connection, delivery, sign-in, CLI, leaks.

The provider and the XOAUTH2 SMTP server are the local ones of ``tests/oauth_servers.py``.
"""

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.crypto import decrypt
from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.oauth_servers import ACCOUNT, CLIENT_ID, CLIENT_SECRET, TENANT
from tests.sender_helpers import sender_form
from tests.test_delivery import _message, _submit

pytestmark = pytest.mark.usefixtures("empty_token_cache")


def oauth_form(server, provider, **overrides) -> dict:
    """A client-credentials Microsoft 365 sender pointed at the local servers."""
    data = sender_form(server, address=ACCOUNT, auth_method="oauth2",
                       oauth_provider="microsoft", oauth_flow="application",
                       oauth_tenant=TENANT, oauth_client_id=CLIENT_ID,
                       oauth_client_secret=CLIENT_SECRET,
                       oauth_token_url=provider.token_url(), oauth_scope="")
    data.pop("password", None)
    data.update(overrides)
    return data


def _create(client, data) -> int:
    response = client.post("/senders/new", data=data, headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)[:3000]
    return _sender_id(client.application)


def _sender_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Sender.id).order_by(Sender.id.desc()))


def _stored(app, sid) -> Sender:
    with app.app_context():
        sender = db.session.get(Sender, sid)
        db.session.expunge(sender)
        return sender


def test_client_credentials_sender_saved_checked_and_delivering(
        app, client, world, oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    sid = _create(client, oauth_form(server, oauth_provider))
    sender = _stored(app, sid)
    assert sender.auth_method == "oauth2" and sender.oauth_flow == "application"
    assert decrypt(sender.oauth_client_secret_encrypted) == CLIENT_SECRET
    assert sender.oauth_scope == "https://outlook.office365.com/.default"  # the default
    page = client.get(f"/senders/{sid}").get_data(as_text=True)
    assert "A client secret is stored" in page and CLIENT_SECRET not in page
    # Test connection on the stored settings: the token step comes first.
    check = client.post("/senders/check", headers=HX, data={
        **oauth_form(server, oauth_provider, oauth_client_secret=""), "sender_id": str(sid),
        "action": "connection"}).get_data(as_text=True)
    assert f"got a token for {ACCOUNT}" in check
    assert check.index("got a token") < check.index("connected to") if "connected to" in \
        check else True
    assert _stored(app, sid).last_check_ok is True
    # Immediate and deferred mail go out with the (cached) token.
    immediate = _message(app, _submit(app, sid))
    assert immediate.status == "sent"
    with app.app_context():
        db.session.get(Sender, sid).mode = "deferred"
        db.session.commit()
    queued = _submit(app, sid)
    assert Worker(app, batch=10).run_once() == 1
    assert _message(app, queued).status == "sent" and len(server.messages) == 2
    assert oauth_provider.grants["client_credentials"] == 1
    # A token revoked early: the worker's login gets a 535, refreshes once and sends.
    oauth_provider.invalidate_access_tokens()
    queued = _submit(app, sid)
    assert Worker(app, batch=10).run_once() == 1
    assert _message(app, queued).status == "sent" and len(server.messages) == 3
    assert oauth_provider.grants["client_credentials"] == 2
    assert server.commands.count("AUTH XOAUTH2") == 5  # check, immediate, worker, 2 retried


def test_blank_secret_keeps_it_and_a_new_token_url_needs_it_again(
        app, client, world, oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    sid = _create(client, oauth_form(server, oauth_provider))
    kept = client.post(f"/senders/{sid}", headers=HX,
                       data=oauth_form(server, oauth_provider, name="Renamed",
                                       oauth_client_secret=""))
    assert kept.status_code == 204
    assert decrypt(_stored(app, sid).oauth_client_secret_encrypted) == CLIENT_SECRET
    moved = client.post(f"/senders/{sid}", headers=HX, data=oauth_form(
        server, oauth_provider, oauth_client_secret="",
        oauth_token_url="https://login.example.net/t/oauth2/v2.0/token"))
    assert moved.status_code == 422 and "Enter the client secret again" in moved.get_data(
        as_text=True)


@pytest.mark.parametrize(("url", "ok"), [("http://login.example.com/token", False),
                                         ("https://login.example.com/token", True),
                                         ("http://127.0.0.1:9/token", True)])
def test_token_url_validated_in_the_form(client, world, oauth_provider, xoauth2_smtpd, url, ok):
    login(client, "root")
    response = client.post("/senders/new", headers=HX, data=oauth_form(
        xoauth2_smtpd("starttls"), oauth_provider, oauth_token_url=url))
    body = response.get_data(as_text=True)
    assert (response.status_code == 204) is ok
    assert ("must start with https://" in body) is not ok


def test_oauth_fields_required(client, world, oauth_provider, xoauth2_smtpd):
    login(client, "root")
    body = client.post("/senders/new", headers=HX, data=oauth_form(
        xoauth2_smtpd("starttls"), oauth_provider,
        oauth_provider="google")).get_data(as_text=True)
    assert "choose Delegated" in body
    body = client.post("/senders/new", headers=HX, data=oauth_form(
        xoauth2_smtpd("starttls"), oauth_provider, oauth_tenant="", oauth_client_id="",
        oauth_client_secret="")).get_data(as_text=True)
    assert "Enter the client (application) ID." in body and "Enter the tenant" in body
    body = client.post("/senders/new", headers=HX, data=oauth_form(
        xoauth2_smtpd("starttls"), oauth_provider,
        oauth_client_secret="")).get_data(as_text=True)
    assert "Enter the client secret" in body


def test_revoked_secret_diagnosed_in_check_and_by_the_worker(
        app, client, world, oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    sid = _create(client, oauth_form(server, oauth_provider, mode="deferred"))
    oauth_provider.revoke_secret()
    check = client.post(f"/senders/{sid}/test", headers=HX).get_data(as_text=True)
    assert "client secret refused" in check
    pks = [_submit(app, sid, to=[f"u{i}@example.org"]) for i in range(3)]
    Worker(app).run_once()
    first, waiting = _message(app, pks[0]), _message(app, pks[1])
    assert first.status == "failed" and server.sessions == 0
    assert waiting.status == "queued" and waiting.attempt_count == 0
    from portal.mail.diagnosis import describe
    assert "client secret" in describe(first.diagnosis)
    assert "could not get an OAuth2 token" in describe(waiting.diagnosis)


def test_cli_adds_a_client_credentials_sender(app, oauth_provider):
    args = ["sender", "add", "--name", "M365", "--host", "smtp.office365.com", "--port", "587",
            "--encryption", "starttls", "--address", ACCOUNT, "--display-name", "Robot",
            "--auth", "oauth2", "--oauth-provider", "microsoft", "--oauth-tenant", TENANT,
            "--oauth-client-id", CLIENT_ID, "--oauth-client-secret-stdin"]
    runner = app.test_cli_runner()
    bad = runner.invoke(args=[*args, "--oauth-token-url", "http://login.example.com/t"],
                        input=CLIENT_SECRET + "\n")
    assert bad.exit_code != 0 and "https://" in bad.output
    result = runner.invoke(args=args, input=CLIENT_SECRET + "\n")
    assert result.exit_code == 0, result.output
    sender = _stored(app, int(result.output.strip()))
    assert sender.auth_method == "oauth2" and sender.oauth_flow == "application"
    assert sender.oauth_token_url == (
        f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    with app.app_context():
        assert decrypt(sender.oauth_client_secret_encrypted) == CLIENT_SECRET
    missing = runner.invoke(args=args[:-1])
    assert missing.exit_code != 0 and "client secret" in missing.output.lower()


def test_basic_auth_deadline_warning(app, client, world):
    login(client, "root")
    client.post("/senders/new", headers=HX, data=sender_form(host="smtp.office365.com",
                                                            password="pw"))
    sid = _sender_id(app)
    assert "password login ends December 2026" in client.get("/senders").get_data(as_text=True)
    page = client.get(f"/senders/{sid}").get_data(as_text=True)
    assert "end of December 2026" in page and "switch=oauth2" in page
    switched = client.get(f"/senders/{sid}?switch=oauth2").get_data(as_text=True)
    assert '<option selected value="oauth2">' in switched


def test_secrets_never_leak(app, client, world, oauth_provider, xoauth2_smtpd, caplog,
                            app_config):
    caplog.set_level(logging.DEBUG)
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    sid = _create(client, oauth_form(server, oauth_provider, oauth_flow="delegated",
                                     oauth_authorize_url=oauth_provider.authorize_url()))
    from tests.test_oauth_signin import _connect
    _connect(client, oauth_provider, sid)
    pk = _submit(app, sid)
    assert _message(app, pk).status == "sent"
    client.post("/senders/check", headers=HX, data={
        **oauth_form(server, oauth_provider, oauth_flow="delegated", oauth_client_secret="",
                     oauth_authorize_url=oauth_provider.authorize_url()),
        "sender_id": str(sid), "action": "mail", "test_recipient": "me@example.org"})
    secrets = [CLIENT_SECRET, *oauth_provider.issued_secrets]
    assert len(secrets) >= 4
    shown = [client.get(url).get_data(as_text=True) for url in (
        "/senders", f"/senders/{sid}", "/records", f"/records/{pk}", "/audit",
        "/records/export.csv", "/records/export.jsonl")]
    assert "refresh token" in shown[4].lower() or "sign-in" in shown[4]
    texts = [*shown, caplog.text]
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        texts.append(Path(url.removeprefix("sqlite:///")).read_bytes().decode("latin-1"))
    with app.app_context():
        texts += [repr(m.diagnosis) + repr(m.reply_text) for m in db.session.scalars(
            select(Message))]
    for secret in secrets:
        for text in texts:
            assert secret not in text
