"""Behind a reverse proxy under /mail: links, redirects, htmx URLs, cookies and client IPs.

``PROXY_COUNT=1`` trusts one proxy's ``X-Forwarded-*`` headers (Werkzeug's
ProxyFix); with the default 0 the same headers must change nothing.
"""

import re
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.outbox.models import Message
from portal.tokens import service as tokens
from tests.conftest import HX, PASSWORD, login
from tests.outbox_helpers import AUTH

CLIENT_IP = "203.0.113.9"
FORWARDED = {
    # The first address is whatever the client claimed; the proxy appended the real one.
    "HTTP_X_FORWARDED_FOR": f"198.51.100.66, {CLIENT_IP}",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "portal.example.com",
    "HTTP_X_FORWARDED_PREFIX": "/mail",
}
URL_ATTRIBUTE = re.compile(r'\s(href|src|action|hx-(?:get|post|put|patch|delete))="([^"]*)"')
PAGES = ["/", "/compose", "/records", "/records?recipient=alice", "/senders", "/senders/new",
         "/templates", "/templates/new", "/teams", "/tokens", "/users"]


@pytest.fixture
def app_config(app_config, request):
    """PROXY_COUNT 1 unless a test asks for another value (indirect parametrisation)."""
    app_config["PROXY_COUNT"] = getattr(request, "param", 1)
    return app_config


@pytest.fixture
def proxied(client):
    """The test client as the proxy talks to the portal: every request forwarded."""
    client.environ_base.update(FORWARDED)
    return client


def _cookies(response) -> dict[str, SimpleCookie]:
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        found.update({name: morsel for name, morsel in cookie.items()})
    return found


def _sign_in(client, username="root", **extra):
    response = client.post("/login", data={"username": username, "password": PASSWORD, **extra})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response


def _messages(app) -> list[tuple[str | None, str | None]]:
    with app.app_context():
        return db.session.execute(select(Message.client_ip, Message.triggered_by)
                                  .order_by(Message.id)).all()


def test_login_redirect_and_form_stay_under_prefix(proxied, world):
    response = proxied.get("/records?result=sent")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/mail/login?next=")
    assert "%2Fmail%2Frecords%3Fresult%3Dsent" in response.headers["Location"]
    page = proxied.get("/login").get_data(as_text=True)
    assert 'action="/mail/login"' in page and 'href="/mail/static/portal.css"' in page
    assert 'src="/mail/static/vendor/htmx-2.0.11.min.js"' in page


def test_post_login_redirects_under_prefix(proxied, world):
    response = _sign_in(proxied, next="/mail/records?result=sent")
    assert response.headers["Location"] == "/mail/records?result=sent"
    proxied.post("/logout")
    assert _sign_in(proxied).headers["Location"] == "/mail/"
    logout = proxied.post("/logout")
    assert logout.status_code == 303 and logout.headers["Location"] == "/mail/login"


def test_every_link_and_htmx_url_is_under_prefix(proxied, world):
    _sign_in(proxied)
    for path in PAGES:
        response = proxied.get(path)
        assert response.status_code == 200, path
        urls = URL_ATTRIBUTE.findall(response.get_data(as_text=True))
        assert len(urls) > 5, path
        outside = [(kind, url) for kind, url in urls
                   if not url.startswith("/mail/") and not url.startswith("#")]
        assert outside == [], f"{path}: {outside}"
    fragment = proxied.get("/records?recipient=bob", headers=HX).get_data(as_text=True)
    assert 'href="/mail/records/export.csv?recipient=bob"' in fragment


def test_htmx_redirect_is_under_prefix(proxied, world):
    _sign_in(proxied)
    response = proxied.post("/templates/new", headers=HX, data={
        "name": "Weekly", "team_id": "", "subject": "Week {{ week }}",
        "html_body": "<p>Done.</p>", "text_body": "", "preview_variables": ""})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/mail/templates"


def test_https_through_proxy_gives_secure_cookies(proxied, world):
    response = _sign_in(proxied, remember="y")
    cookies = _cookies(response)
    assert {"session", "remember_token"} <= set(cookies)
    assert all(morsel["secure"] for morsel in cookies.values()), response.headers
    assert cookies["session"]["httponly"] and cookies["session"]["samesite"] == "Lax"
    assert cookies["session"]["path"] == "/"
    assert proxied.get("/records").status_code == 200  # the session works behind the proxy


def test_plain_http_through_proxy_keeps_cookies_plain(proxied, world):
    proxied.environ_base["HTTP_X_FORWARDED_PROTO"] = "http"
    cookies = _cookies(_sign_in(proxied, remember="y"))
    assert cookies and not any(morsel["secure"] for morsel in cookies.values())


@pytest.mark.parametrize("app_config", [0], indirect=True)
def test_secure_cookie_setting_applies_without_proxy(app, client, world):
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    cookies = _cookies(_sign_in(client, remember="y"))
    assert cookies["session"]["secure"] and cookies["remember_token"]["secure"]


@pytest.fixture
def deferred_sender(smtpd_factory, make_smtp_sender, world):
    """A deferred system default sender: messages are only queued, so nothing is sent."""
    return make_smtp_sender(smtpd_factory("plain", auth=AUTH), mode="deferred", is_default=True)


def _compose(client, sender_id):
    return client.post("/compose", headers=HX, data={
        "sender_id": sender_id, "to": "alice@example.org", "cc": "", "bcc": "",
        "template_id": "", "subject": "Figures", "html_body": "<p>Here.</p>",
        "text_body": "", "resource": ""})


def _api(app, client):
    from portal.cli import SYSTEM

    with app.app_context():
        _token, secret = tokens.create_token(SYSTEM, "ETL", None)
        db.session.commit()
    return client.post("/api/v1/messages", headers={"Authorization": f"Bearer {secret}"},
                       json={"to": "bob@example.org", "subject": "Nightly load",
                             "html": "<p>Loaded.</p>"})


def test_forwarded_ip_recorded_from_compose_and_api(app, proxied, deferred_sender):
    login(proxied, "root")
    body = _compose(proxied, deferred_sender).get_data(as_text=True)
    assert "Queued" in body and 'href="/mail/messages/1"' in body
    response = _api(app, proxied)
    assert response.status_code == 202 and response.headers["Location"] == "/mail/api/v1/messages/2"
    assert _messages(app) == [(CLIENT_IP, "root"), (CLIENT_IP, "API token “ETL”")]


@pytest.mark.parametrize("app_config", [0], indirect=True)
def test_without_proxy_count_forwarded_headers_are_ignored(app, client, world,
                                                           deferred_sender):
    client.environ_base.update(FORWARDED)
    response = client.get("/records")
    assert response.headers["Location"].startswith("/login?next=")
    login_response = _sign_in(client, remember="y")
    assert login_response.headers["Location"] == "/"
    assert not any(m["secure"] for m in _cookies(login_response).values())
    page = client.get("/records").get_data(as_text=True)
    assert 'href="/records/export.csv"' in page and "/mail/" not in page
    _compose(client, deferred_sender)
    assert _api(app, client).headers["Location"] == "/api/v1/messages/2"
    assert _messages(app) == [("127.0.0.1", "root"), ("127.0.0.1", "API token “ETL”")]


def test_csrf_referrer_check_over_https_follows_forwarded_host(app, proxied, world):
    """Over HTTPS Flask-WTF wants a same-origin Referer: the host the user sees counts."""
    from tests.conftest import csrf_from

    app.config["WTF_CSRF_ENABLED"] = True
    page = proxied.get("/login").get_data(as_text=True)
    data = {"username": "root", "password": PASSWORD, "csrf_token": csrf_from(page)}
    stranger = proxied.post("/login", data=data,
                            headers={"Referer": "https://evil.example.org/mail/login"})
    assert stranger.status_code == 400
    ours = proxied.post("/login", data=data,
                        headers={"Referer": "https://portal.example.com/mail/login"})
    assert ours.status_code == 303 and ours.headers["Location"] == "/mail/"
