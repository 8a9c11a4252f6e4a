"""OAuth2 (XOAUTH2) in the delivery core, against the local provider and SMTP server.

Everything runs on 127.0.0.1: tokens come from ``tests/oauth_servers.py``'s provider
and the SMTP server accepts only the tokens it currently considers valid.
"""

import time

import pytest

from portal.mail import DeliveryError, diagnose, open_session, probe
from portal.mail.compose import build_message
from portal.mail.oauth import TokenSource, authcode, forget, get_token, tokens, url_problem
from tests.oauth_servers import ACCOUNT, CLIENT_ID, CLIENT_SECRET, TENANT

pytestmark = pytest.mark.usefixtures("empty_token_cache")


def _source(provider, **overrides) -> TokenSource:
    values = {"flow": "application", "token_url": provider.token_url(), "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET, "scope": "https://outlook.office365.com/.default",
              "timeout": 3.0}
    values.update(overrides)
    return TokenSource(**values)


def _settings(server, source, **overrides):
    return server.settings(username=ACCOUNT, oauth=source, **overrides)


def _mail():
    return build_message(from_address=ACCOUNT, display_name="Robot", to=["a@example.org"],
                         subject="Figures", html="<p>Hi</p>")


def test_client_credentials_sender_delivers(oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    with open_session(_settings(server, _source(oauth_provider))) as session:
        assert session.auth_mechanism == "XOAUTH2"
        session.send(_mail(), ACCOUNT, ["a@example.org"])
    assert len(server.messages) == 1 and server.xoauth2_users == [ACCOUNT]
    assert oauth_provider.grants["client_credentials"] == 1
    assert server.commands.count("AUTH XOAUTH2") == 1


def test_server_without_xoauth2_is_explained(oauth_provider, smtpd_factory):
    server = smtpd_factory("plain", auth={"x@example.com": "pw"})
    with pytest.raises(DeliveryError) as caught:
        open_session(_settings(server, _source(oauth_provider), allow_plain_auth=True))
    assert caught.value.reason == "auth_unsupported" and "XOAUTH2" in caught.value.text


def test_token_is_cached_and_renewed_shortly_before_expiry(oauth_provider, xoauth2_smtpd,
                                                           monkeypatch):
    oauth_provider.lifetime = 2
    monkeypatch.setattr(tokens, "REFRESH_MARGIN", 1.0)
    server, source = xoauth2_smtpd("plain"), _source(oauth_provider)
    settings = _settings(server, source, allow_plain_auth=True)
    for _ in range(2):
        with open_session(settings) as session:
            session.send(_mail(), ACCOUNT, ["a@example.org"])
    assert oauth_provider.grants["client_credentials"] == 1  # the second used the cache
    first = get_token(source)
    while get_token(source).value == first.value:  # within the margin: renewed
        time.sleep(0.1)
    with open_session(settings) as session:
        session.send(_mail(), ACCOUNT, ["a@example.org"])
    assert oauth_provider.grants["client_credentials"] == 2 and len(server.messages) == 3


def test_535_with_a_stale_cached_token_refreshes_once_and_succeeds(oauth_provider,
                                                                  xoauth2_smtpd):
    server, source = xoauth2_smtpd("starttls"), _source(oauth_provider)
    get_token(source)
    oauth_provider.invalidate_access_tokens()  # revoked early: the cache does not know
    steps = []
    with open_session(_settings(server, source), steps.append) as session:
        session.send(_mail(), ACCOUNT, ["a@example.org"])
    assert oauth_provider.grants["client_credentials"] == 2
    assert server.commands.count("AUTH XOAUTH2") == 2 and len(server.messages) == 1
    names = [(step.name, step.ok) for step in steps]
    assert names[0] == ("token", True)
    assert ("auth", False) in names and names.index(("auth", False)) < names.index(("auth", True))
    assert [n for n, _ok in names].count("token") == 2


def test_a_fresh_token_refused_is_not_retried(oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls", mailbox="other@contoso.example")
    with pytest.raises(DeliveryError) as caught:
        open_session(_settings(server, _source(oauth_provider)))
    assert caught.value.step == "auth" and caught.value.code == 535
    assert server.commands.count("AUTH XOAUTH2") == 1
    assert oauth_provider.grants["client_credentials"] == 1


@pytest.mark.parametrize(("change", "reason", "words"), [
    ({"client_secret": "wrong"}, "token_secret_invalid", "client secret"),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "token_client_unknown",
     "client id"),
    ({"tenant": "nobody"}, "token_tenant_unknown", "tenant"),
])
def test_token_errors_are_diagnosed(oauth_provider, xoauth2_smtpd, change, reason, words):
    server = xoauth2_smtpd("starttls")
    tenant = change.pop("tenant", TENANT)
    source = _source(oauth_provider, token_url=oauth_provider.token_url(tenant), **change)
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.step == "token" and report.error.reason == reason
    assert [step.name for step in report.steps] == ["token"] and server.sessions == 0
    found = diagnose(report.error, retrying=False)
    assert words in (found.cause + found.advice).lower()
    assert "AADSTS" in found.cause and "Trace ID" not in found.cause


def test_revoked_and_expired_secrets(oauth_provider, xoauth2_smtpd):
    server, source = xoauth2_smtpd("starttls"), _source(oauth_provider)
    oauth_provider.revoke_secret()
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.reason == "token_secret_invalid" and not report.error.transient
    oauth_provider.secret, oauth_provider.secret_expired = CLIENT_SECRET, True
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.reason == "token_secret_expired"
    assert "new client secret" in diagnose(report.error, retrying=False).advice


def test_revoked_refresh_token_says_reconnect(oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    answer = oauth_provider._issue(with_refresh=True)
    source = _source(oauth_provider, flow="delegated", refresh_token=answer["refresh_token"],
                     scope="https://outlook.office.com/SMTP.Send offline_access")
    assert probe(_settings(server, source), ACCOUNT, "a@example.org").ok
    assert oauth_provider.grants["refresh_token"] == 1
    forget()
    oauth_provider.revoke_refresh_tokens()
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.reason == "token_reconnect"
    assert "Reconnect the account" in diagnose(report.error, retrying=False).advice


def test_unreachable_and_non_json_token_endpoints(oauth_provider, xoauth2_smtpd, free_port):
    server = xoauth2_smtpd("starttls")
    source = _source(oauth_provider, token_url=f"http://127.0.0.1:{free_port}/t/token")
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.reason == "token_unreachable" and report.error.transient
    source = _source(oauth_provider, token_url=f"{oauth_provider.base}/{TENANT}/elsewhere")
    report = probe(_settings(server, source), ACCOUNT, "a@example.org")
    assert report.error.reason == "token_bad_reply"


def test_probe_shows_the_token_step_first(oauth_provider, xoauth2_smtpd):
    server = xoauth2_smtpd("starttls")
    report = probe(_settings(server, _source(oauth_provider)), ACCOUNT, "a@example.org")
    assert report.ok
    assert [step.name for step in report.steps][:5] == ["token", "connect", "tls", "ehlo", "auth"]
    assert report.steps[0].text.startswith(f"got a token for {ACCOUNT}, expires ")


def test_secrets_never_in_repr_or_errors(oauth_provider, xoauth2_smtpd):
    source = _source(oauth_provider, refresh_token="rt-secret-value")
    token = get_token(source)
    settings = _settings(xoauth2_smtpd("starttls"), source)
    for text in (repr(source), repr(settings), repr(token)):
        assert CLIENT_SECRET not in text and token.value not in text
        assert "rt-secret-value" not in text
    oauth_provider.revoke_secret()
    forget()
    report = probe(settings, ACCOUNT, "a@example.org")
    assert CLIENT_SECRET not in str(report.error) + repr(report.error)


@pytest.mark.parametrize(("url", "ok"), [
    ("https://login.microsoftonline.com/t/oauth2/v2.0/token", True),
    ("http://127.0.0.1:8080/token", True), ("http://localhost/token", True),
    ("http://[::1]:9/token", True), ("http://login.example.com/token", False),
    ("ftp://example.com/token", False), ("login.example.com/token", False),
    ("https://", False), ("http://127.0.0.1.evil.example/token", False),
])
def test_token_url_must_be_https_except_on_this_machine(url, ok):
    assert (url_problem(url) is None) is ok


def test_sign_in_url_carries_pkce_and_offline_access():
    url = authcode.sign_in_url(
        provider="google", authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        client_id="cid", scope="https://mail.google.com/", redirect_uri="https://p/cb",
        state="signed", verifier="v" * 64, login_hint="robot@example.com")
    for part in ("code_challenge_method=S256", "code_challenge=", "access_type=offline",
                 "prompt=consent", "state=signed", "login_hint=robot%40example.com",
                 "scope=https%3A%2F%2Fmail.google.com%2F+openid+email"):
        assert part in url
    assert "v" * 64 not in url  # the verifier itself never travels with the request
