"""Delegated OAuth2 senders: signing in (PKCE, signed state), rotation, reconnect, refusals.

The mailbox owner's consent is given by posting the local provider's consent page;
the browser version of the same flow is ``tests/test_browser_oauth.py``.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.crypto import decrypt
from portal.mail.oauth import forget
from tests.conftest import HX, login
from tests.oauth_servers import ACCOUNT
from tests.test_delivery import _message, _submit
from tests.test_oauth_senders import _create, _stored, oauth_form

pytestmark = pytest.mark.usefixtures("empty_token_cache")


def _connect(client, provider, sid) -> str:
    """Sign in as the mailbox owner: the portal's redirect, the consent page, the callback."""
    start = client.get(f"/senders/{sid}/oauth/connect")
    assert start.status_code == 303
    location = start.headers["Location"]
    assert location.startswith(provider.authorize_url())
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["code_challenge_method"] == "S256" and "offline_access" in query["scope"]
    assert query["redirect_uri"] == "http://localhost/senders/oauth/callback"
    back = requests.post(provider.authorize_url(), data={**query, "decision": "accept"},
                         allow_redirects=False, timeout=5).headers["Location"]
    done = client.get(back.removeprefix("http://localhost"))
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/senders/{sid}")
    return back


def test_delegated_sign_in_stores_the_refresh_token_and_sends(
        app, client, world, oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    login(client, "root")
    sid = _create(client, oauth_form(
        server, oauth_provider, oauth_flow="delegated", oauth_client_secret="",
        oauth_authorize_url=oauth_provider.authorize_url()))
    assert "Sign in with Microsoft" in client.get(f"/senders/{sid}").get_data(as_text=True)
    back = _connect(client, oauth_provider, sid)
    sender = _stored(app, sid)
    assert sender.oauth_account == ACCOUNT and sender.oauth_connected_at is not None
    assert decrypt(sender.oauth_refresh_token_encrypted) in oauth_provider.refresh
    page = client.get(f"/senders/{sid}").get_data(as_text=True)
    assert f"Connected as {ACCOUNT}" in page and "Reconnect" in page
    sent = _message(app, _submit(app, sid))
    assert sent.status == "sent", (sent.diagnosis, sent.reply_text)
    # The provider rotated the refresh token: the new one is stored.
    assert decrypt(_stored(app, sid).oauth_refresh_token_encrypted) in oauth_provider.refresh
    replay = client.get(back.removeprefix("http://localhost"))  # a code is used once
    assert replay.status_code == 303
    oauth_provider.revoke_refresh_tokens()
    forget()
    check = client.post(f"/senders/{sid}/test", headers=HX).get_data(as_text=True)
    assert "reconnect the account" in check
    assert client.get(f"/senders/{sid}/oauth/disconnect").status_code == 200
    client.post(f"/senders/{sid}/oauth/disconnect")
    assert _stored(app, sid).oauth_refresh_token_encrypted is None


def test_callback_refuses_a_forged_or_foreign_state(app, client, world, oauth_provider,
                                                    xoauth2_smtpd):
    login(client, "root")
    sid = _create(client, oauth_form(
        xoauth2_smtpd("starttls"), oauth_provider, oauth_flow="delegated",
        oauth_authorize_url=oauth_provider.authorize_url()))
    forged = client.get("/senders/oauth/callback?code=x&state=forged")
    assert forged.status_code == 303 and forged.headers["Location"].endswith("/senders")
    assert _stored(app, sid).oauth_refresh_token_encrypted is None
    location = client.get(f"/senders/{sid}/oauth/connect").headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    client.post("/logout")
    login(client, "red_admin")  # another admin cannot finish root's sign-in
    assert client.get(f"/senders/oauth/callback?code=x&state={state}").status_code == 403
