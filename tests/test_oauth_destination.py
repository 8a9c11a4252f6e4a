"""Stored OAuth2 secrets only go where they were saved for, whatever the sender's method.

A sender switched to password keeps its client secret and refresh token; switching it
back with another token URL, mail server, CA certificate, mailbox or plain login must
ask for the secret again, on Save, Test connection and the sign-in callback, before
anything is sent anywhere. ``trap`` is a stranger's endpoint that records what it gets.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import HX, login
from tests.oauth_servers import CLIENT_SECRET
from tests.test_oauth_senders import _create, _stored, oauth_form

AGAIN = "Enter the client secret again"


pytestmark = pytest.mark.usefixtures("empty_token_cache")


def _switched_to_password(client, server, provider) -> tuple[int, dict]:
    """A client-credentials sender, then saved as a password sender (secret kept)."""
    login(client, "root")
    sid = _create(client, oauth_form(server, provider))
    data = oauth_form(server, provider, oauth_client_secret="")
    saved = client.post(f"/senders/{sid}", headers=HX,
                        data={**data, "auth_method": "password", "password": "pw"})
    assert saved.status_code == 204, saved.get_data(as_text=True)[:2000]
    return sid, data


@pytest.mark.parametrize("change", [
    {"oauth_token_url": "{trap}"}, {"host": "localhost"}, {"ca_cert": ""},
    {"allow_plain_auth": "y"}, {"username": "other@contoso.example"},
    {"oauth_tenant": "other-tenant"}, {"oauth_client_id": "another-client"},
], ids=["token_url", "host", "ca_cert", "plain_login", "mailbox", "tenant", "client_id"])
def test_switching_back_elsewhere_needs_the_secret(app, client, world, oauth_provider,
                                                   xoauth2_smtpd, trap, change):
    server = xoauth2_smtpd("starttls")
    sid, data = _switched_to_password(client, server, oauth_provider)
    assert _stored(app, sid).has_client_secret and _stored(app, sid).auth_method == "password"
    moved = {**data, **{name: value.format(trap=trap.url) for name, value in change.items()}}
    checked = client.post("/senders/check", headers=HX,
                          data={**moved, "sender_id": str(sid), "action": "connection"})
    assert checked.status_code == 422 and AGAIN in checked.get_data(as_text=True)
    saved = client.post(f"/senders/{sid}", headers=HX, data=moved)
    assert saved.status_code == 422 and AGAIN in saved.get_data(as_text=True)
    assert trap.requests == [] and sum(oauth_provider.grants.values()) == 0
    sender = _stored(app, sid)
    assert sender.auth_method == "password" and sender.oauth_token_url == data[
        "oauth_token_url"] and sender.has_client_secret


def test_switching_back_unchanged_needs_no_retyping(app, client, world, oauth_provider,
                                                    xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    sid, data = _switched_to_password(client, server, oauth_provider)
    checked = client.post("/senders/check", headers=HX,
                          data={**data, "sender_id": str(sid), "action": "connection"})
    assert "got a token for" in checked.get_data(as_text=True)
    assert client.post(f"/senders/{sid}", headers=HX, data=data).status_code == 204
    assert _stored(app, sid).auth_method == "oauth2" and _stored(app, sid).has_client_secret


def test_a_password_sender_moved_elsewhere_forgets_its_oauth_secrets(
        app, client, world, oauth_provider, xoauth2_smtpd, trap):
    server = xoauth2_smtpd("starttls")
    sid, data = _switched_to_password(client, server, oauth_provider)
    elsewhere = {**data, "auth_method": "password", "password": "pw", "host": "localhost"}
    assert client.post(f"/senders/{sid}", headers=HX, data=elsewhere).status_code == 204
    sender = _stored(app, sid)
    assert not sender.has_client_secret and not sender.is_connected
    back = client.post(f"/senders/{sid}", headers=HX, data={
        **data, "host": "localhost", "oauth_token_url": trap.url})
    assert back.status_code == 422 and "Enter the client secret" in back.get_data(
        as_text=True)
    retyped = client.post(f"/senders/{sid}", headers=HX, data={
        **data, "host": "localhost", "oauth_client_secret": CLIENT_SECRET})
    assert retyped.status_code == 204 and _stored(app, sid).has_client_secret
    assert trap.requests == []


def _consented(client, provider, sid) -> str:
    """Start the sign-in and accept on the provider's page: the callback URL to visit."""
    location = client.get(f"/senders/{sid}/oauth/connect").headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return requests.post(provider.authorize_url(), data={**query, "decision": "accept"},
                         allow_redirects=False, timeout=5).headers["Location"]


@pytest.mark.parametrize("between", ["password", "token_url"])
def test_the_callback_refuses_a_sender_changed_since_the_sign_in_started(
        app, client, world, oauth_provider, xoauth2_smtpd, trap, between):
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    data = oauth_form(server, oauth_provider, oauth_flow="delegated",
                      oauth_authorize_url=oauth_provider.authorize_url())
    sid = _create(client, data)
    back = _consented(client, oauth_provider, sid)
    changed = ({**data, "auth_method": "password", "password": "pw"} if between == "password"
               else {**data, "oauth_token_url": trap.url})
    assert client.post(f"/senders/{sid}", headers=HX, data=changed).status_code == 204
    done = client.get(back.removeprefix("http://localhost"))
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/senders/{sid}")
    page = client.get(f"/senders/{sid}").get_data(as_text=True)
    assert "settings changed after the sign-in started" in page
    assert oauth_provider.grants["authorization_code"] == 0 and trap.requests == []
    assert not _stored(app, sid).is_connected
