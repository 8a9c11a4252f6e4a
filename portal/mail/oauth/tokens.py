"""Access tokens for XOAUTH2 logins: fetched with Authlib, cached per sender in memory.

A ``TokenSource`` is everything needed to get a token for one sender: the token URL,
the client id and secret, the scope, and for delegated senders the refresh token. The
cache keeps one access token per source (``TokenSource.key``: a changed setting is a
new key, so an edited sender never uses the old token) and hands it out until shortly
before it expires (``REFRESH_MARGIN``). Tokens live only in this process's memory:
they are never written to the database, a page, a log or an export.

Authlib is used rather than MSAL: MSAL accepts only https:// authorities and first
downloads OpenID metadata from them, so it cannot talk to a token relay on
http://127.0.0.1 (allowed for senders) and treats Google and generic servers apart.
Authlib speaks the plain OAuth2 grants to every provider with one code path.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from authlib.integrations.requests_client import OAuth2Session

from portal.mail.oauth.failures import token_error

# Seconds before expiry at which a cached token is renewed: a token must not run out
# between the token step and the AUTH command, nor during a long worker session.
REFRESH_MARGIN = 120.0
HTTP_TIMEOUT = 15.0
DEFAULT_LIFETIME = 3600  # when the token endpoint says nothing about expiry


@dataclass(frozen=True)
class TokenSource:
    """How to get an access token for one sender (secrets are left out of ``repr``).

    ``flow`` is "application" (client credentials) or "delegated" (refresh token).
    ``grant`` names what the secrets belong to (the sender and when its account was
    connected) so the cache key changes when they do. ``on_new_refresh_token`` stores a
    refresh token the provider rotated (Microsoft hands out a new one with each use).
    """

    flow: str
    token_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scope: str = ""
    refresh_token: str | None = field(default=None, repr=False)
    account: str | None = None
    grant: str = ""
    timeout: float = HTTP_TIMEOUT
    on_new_refresh_token: Callable[[str], None] | None = field(
        default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """The cache key: a digest of every setting the token depends on."""
        parts = (self.flow, self.token_url, self.client_id, self.client_secret or "",
                 self.scope, self.grant, "" if self.grant else (self.refresh_token or ""))
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it expires (epoch seconds). ``fresh``: fetched just now
    for this request, so a refusal cannot be blamed on an old token."""

    value: str = field(repr=False)
    expires_at: float
    fresh: bool = False


@dataclass
class _Entry:
    token: AccessToken
    refresh_token: str | None = field(default=None, repr=False)


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()
counters = {"requests": 0}  # token requests made by this process (for the tests' bench)


def get_token(source: TokenSource, force: bool = False) -> AccessToken:
    """A valid access token for ``source``: the cached one unless it expires within
    ``REFRESH_MARGIN`` or ``force`` (the server refused it); raises ``DeliveryError``
    (step "token") when the provider refuses or cannot be reached."""
    with _lock:
        entry = _cache.get(source.key)
    if entry is not None and not force and entry.token.expires_at - REFRESH_MARGIN > time.time():
        return AccessToken(entry.token.value, entry.token.expires_at, fresh=False)
    refresh = (entry.refresh_token if entry else None) or source.refresh_token
    token, rotated = _fetch(source, refresh)
    with _lock:
        _cache[source.key] = _Entry(token, rotated or refresh)
    if rotated and rotated != refresh and source.on_new_refresh_token is not None:
        source.on_new_refresh_token(rotated)
    return token


def forget(source: TokenSource | None = None) -> None:
    """Drop the cached token of ``source`` (all tokens when None)."""
    with _lock:
        if source is None:
            _cache.clear()
        else:
            _cache.pop(source.key, None)


def _fetch(source: TokenSource, refresh_token: str | None) -> tuple[AccessToken, str | None]:
    """One token request; returns the token and the refresh token the answer carried."""
    if source.flow == "delegated" and not refresh_token:
        raise token_error("not_connected", "")
    client = token_client(source.client_id, source.client_secret, scope=source.scope or None)
    if source.flow == "delegated":
        answer = token_request(client, lambda: client.refresh_token(
            source.token_url, refresh_token=refresh_token, timeout=source.timeout,
            allow_redirects=False))
    else:
        answer = token_request(client, lambda: client.fetch_token(
            source.token_url, grant_type="client_credentials", timeout=source.timeout,
            allow_redirects=False))
    return _parsed(answer), answer.get("refresh_token")


def token_client(client_id: str, client_secret: str | None, **options) -> OAuth2Session:
    """A session for one token request that never follows a redirect.

    A 307 or 308 answer would make ``requests`` post the same body, client secret and
    refresh token included, to wherever it points; the requests are made with
    ``allow_redirects=False`` and any 3xx answer becomes a failure instead."""
    client = OAuth2Session(client_id, client_secret or None,
                           token_endpoint_auth_method="client_secret_post"
                           if client_secret else "none", **options)
    for hook in ("access_token_response", "refresh_token_response"):
        client.register_compliance_hook(hook, _refuse_redirect)
    return client


def _refuse_redirect(response: requests.Response) -> requests.Response:
    if 300 <= response.status_code < 400:
        raise requests.HTTPError("the token endpoint answered with a redirect",
                                 response=response)
    return response


def token_request(client: OAuth2Session, call: Callable[[], dict]) -> dict:
    """One request to a token endpoint (``call``), then ``client`` is closed; failures
    become DeliveryErrors (step "token") with a reason a person can act on."""
    counters["requests"] += 1
    try:
        return call()
    except requests.RequestException as exc:
        raise token_error("request_failed", exc) from exc
    except Exception as exc:  # Authlib's OAuthError and "not a JSON object" ValueError
        raise token_error("refused", exc) from exc
    finally:
        client.close()


def _parsed(answer: dict) -> AccessToken:
    value = answer.get("access_token")
    if not value or not isinstance(value, str):
        raise token_error("no_token", "")
    try:
        lifetime = float(answer.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return AccessToken(value, time.time() + lifetime, fresh=True)
