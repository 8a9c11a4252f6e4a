"""The authorization-code flow with PKCE, for delegated senders (a mailbox owner signs in).

``sign_in_url`` builds the provider's sign-in address (S256 code challenge, the signed
``state`` the caller made, offline access); ``redeem`` trades the returned code and the
code verifier for the refresh token the sender keeps (never following a redirect, like
every token request). ``account_of`` reads which
account signed in from the answer's ID token, for display only: the token came
straight from the token endpoint, so its signature is not what vouches for it.
"""

from __future__ import annotations

import base64
import json
import secrets

from authlib.integrations.requests_client import OAuth2Session

from portal.mail.oauth import providers
from portal.mail.oauth.tokens import HTTP_TIMEOUT, token_client, token_request


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43-128 characters of [A-Za-z0-9-._~])."""
    return secrets.token_urlsafe(64)


def sign_in_url(*, provider: str, authorize_url: str, client_id: str, scope: str,
                redirect_uri: str, state: str, verifier: str, login_hint: str | None) -> str:
    """Where the browser goes to sign in and consent."""
    client = OAuth2Session(client_id, scope=providers.sign_in_scope(provider, scope),
                           redirect_uri=redirect_uri,
                           code_challenge_method="S256")
    extra = providers.extra_authorize_params(provider)
    if login_hint:
        extra["login_hint"] = login_hint
    url, _state = client.create_authorization_url(authorize_url, state=state,
                                                  code_verifier=verifier, **extra)
    client.close()
    return url


def redeem(*, token_url: str, client_id: str, client_secret: str | None, code: str,
           redirect_uri: str, verifier: str, timeout: float = HTTP_TIMEOUT) -> dict:
    """The token endpoint's answer to the code (holds ``refresh_token``); raises
    ``DeliveryError`` (step "token") like any token request."""
    client = token_client(client_id, client_secret, redirect_uri=redirect_uri)
    return token_request(client, lambda: client.fetch_token(
        token_url, grant_type="authorization_code", code=code, code_verifier=verifier,
        timeout=timeout, allow_redirects=False))


def account_of(answer: dict) -> str | None:
    """The signed-in account's name from the ID token (Microsoft: preferred_username,
    Google: email), or None when the answer has none."""
    id_token = answer.get("id_token")
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    for name in ("preferred_username", "email", "upn"):
        if isinstance(claims.get(name), str) and claims[name].strip():
            return claims[name].strip()
    return None
