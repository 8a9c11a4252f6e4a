"""OAuth2 endpoints are not a way into the network: the allow-list and no redirects.

A team admin's token and authorization URLs must be on the system admin's allow-list
(``SENDER_HOST_ALLOWLIST``), like the mail server; and no token request follows a
redirect, which would re-send the client secret and refresh token elsewhere.
"""

import pytest

from portal.mail import DeliveryError
from portal.mail.oauth import TokenSource, get_token
from portal.mail.oauth.authcode import redeem
from tests.conftest import HX, login
from tests.oauth_servers import CLIENT_ID, CLIENT_SECRET
from tests.test_oauth_destination import _consented
from tests.test_oauth_senders import _create, _stored, oauth_form

REFUSED = "may only use the sign-in and token servers"


pytestmark = pytest.mark.usefixtures("empty_token_cache")


def _allow(app, *ports: int) -> None:
    app.config["SENDER_HOST_ALLOWLIST"] = ", ".join(f"127.0.0.1:{port}" for port in ports)


def test_team_admin_token_url_must_be_allowed(app, client, world, oauth_provider,
                                              xoauth2_smtpd, trap):
    server = xoauth2_smtpd("starttls")
    _allow(app, server.port, oauth_provider.port)
    login(client, "red_admin")
    data = oauth_form(server, oauth_provider, team_id=str(world["red"]),
                      oauth_token_url=trap.url)
    checked = client.post("/senders/check", headers=HX, data={**data, "action": "connection"})
    body = checked.get_data(as_text=True)
    assert checked.status_code == 422 and "Token URL" in body and REFUSED in body
    saved = client.post("/senders/new", headers=HX, data=data)
    assert saved.status_code == 422 and REFUSED in saved.get_data(as_text=True)
    assert trap.requests == []
    allowed = {**data, "oauth_token_url": oauth_provider.token_url()}
    checked = client.post("/senders/check", headers=HX, data={**allowed,
                                                              "action": "connection"})
    assert "got a token for" in checked.get_data(as_text=True)
    assert client.post("/senders/new", headers=HX, data=allowed).status_code == 204


def test_team_admin_authorization_url_must_be_allowed(app, client, world, oauth_provider,
                                                      xoauth2_smtpd, trap):
    server = xoauth2_smtpd("starttls")
    _allow(app, server.port, oauth_provider.port)
    login(client, "red_admin")
    data = oauth_form(server, oauth_provider, team_id=str(world["red"]),
                      oauth_flow="delegated", oauth_authorize_url=trap.url)
    saved = client.post("/senders/new", headers=HX, data=data)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 422 and "Authorization URL" in body and REFUSED in body


def test_system_admins_and_the_providers_own_hosts_are_not_restricted(
        app, client, world, oauth_provider, xoauth2_smtpd, trap):
    server = xoauth2_smtpd("starttls")
    _allow(app, server.port)
    from portal.auth.models import User
    from portal.extensions import db
    from portal.senders import allowlist
    with app.test_request_context():
        red_admin, root = (db.session.get(User, world[name]) for name in ("red_admin", "root"))
        microsoft = oauth_form(server, oauth_provider, oauth_token_url="", oauth_flow="delegated")
        assert allowlist.problems(red_admin, microsoft) == {}  # login.microsoftonline.com
        assert set(allowlist.problems(red_admin, {**microsoft, "oauth_provider": "generic",
                                                  "oauth_token_url": trap.url,
                                                  "oauth_authorize_url": trap.url})) == {
            "oauth_token_url", "oauth_authorize_url"}
        assert allowlist.problems(root, {**microsoft, "oauth_token_url": trap.url}) == {}
    login(client, "root")
    checked = client.post("/senders/check", headers=HX, data={
        **oauth_form(server, oauth_provider), "action": "connection"})
    assert "got a token for" in checked.get_data(as_text=True)


def test_sign_in_refused_when_its_servers_are_not_allowed(app, client, world, oauth_provider,
                                                          xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    login(client, "red_admin")
    sid = _create(client, oauth_form(server, oauth_provider, team_id=str(world["red"]),
                                     oauth_flow="delegated",
                                     oauth_authorize_url=oauth_provider.authorize_url()))
    back = _consented(client, oauth_provider, sid)  # started while allowed
    _allow(app, server.port)  # then the system admin narrows the list
    done = client.get(back.removeprefix("http://localhost"))
    assert done.status_code == 303 and oauth_provider.grants["authorization_code"] == 0
    assert REFUSED in client.get(f"/senders/{sid}").get_data(as_text=True)
    start = client.get(f"/senders/{sid}/oauth/connect")
    assert start.headers["Location"].endswith(f"/senders/{sid}")
    assert not _stored(app, sid).is_connected
    listed = client.post(f"/senders/{sid}/test", headers=HX)
    assert listed.status_code == 422 and REFUSED in listed.get_data(as_text=True)
    assert sum(oauth_provider.grants.values()) == 0


@pytest.mark.parametrize("status", [307, 308])
def test_a_redirecting_token_endpoint_gets_no_second_request(
        app, client, world, oauth_provider, xoauth2_smtpd, trap, status):
    trap.redirect = (status, oauth_provider.token_url())
    login(client, "root")
    checked = client.post("/senders/check", headers=HX, data={
        **oauth_form(xoauth2_smtpd("starttls"), oauth_provider, oauth_token_url=trap.url),
        "action": "connection"}).get_data(as_text=True)
    assert f"HTTP {status}" in checked and "not followed" in checked
    delegated = TokenSource(flow="delegated", token_url=trap.url, client_id=CLIENT_ID,
                            client_secret=CLIENT_SECRET, refresh_token="rt-kept", timeout=3)
    with pytest.raises(DeliveryError) as refreshed:
        get_token(delegated)
    with pytest.raises(DeliveryError) as redeemed:
        redeem(token_url=trap.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
               code="code-1", redirect_uri="http://localhost/cb", verifier="v" * 43, timeout=3)
    assert refreshed.value.reason == redeemed.value.reason == "token_bad_reply"
    assert [r["grant_type"] for r in trap.requests] == [
        "client_credentials", "refresh_token", "authorization_code"]
    assert sum(oauth_provider.grants.values()) == 0  # the secrets went nowhere else
