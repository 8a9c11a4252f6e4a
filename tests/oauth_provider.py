"""A local OAuth2 provider on 127.0.0.1 that behaves like Microsoft's token endpoint.

The client-credentials, refresh-token and authorization-code (PKCE) grants, a consent
page at ``/<tenant>/oauth2/v2.0/authorize``, AADSTS errors for a wrong tenant, client or
secret, short-lived tokens, request counting, and revocation of a secret, the refresh
tokens or the access tokens. Started by the ``oauth_provider`` fixture
(``tests/oauth_servers.py``).
"""


from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "Client~Secret~Value~9876543210"  # noqa: S105 (a test secret)
ACCOUNT = "robot@contoso.example"


def _error(code: str, aadsts: str, text: str) -> dict:
    return {"error": code, "error_description": f"AADSTS{aadsts}: {text} Trace ID: 0000 "
            "Correlation ID: 1111 Timestamp: 2026-12-01 05:00:00Z"}


class OAuthProvider:
    """State of the local provider: clients, issued tokens, counters, revocations."""

    def __init__(self) -> None:
        self.lifetime = 3600
        self.secret = CLIENT_SECRET
        self.secret_expired = False
        self.account = ACCOUNT
        self.access: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.refresh: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.grants: Counter = Counter()
        self.consents: list[dict] = []
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self.port = 0

    # -- what tests look at and change
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token_url(self, tenant: str = TENANT) -> str:
        return f"{self.base}/{tenant}/oauth2/v2.0/token"

    def authorize_url(self, tenant: str = TENANT) -> str:
        return f"{self.base}/{tenant}/oauth2/v2.0/authorize"

    def valid(self, token: str) -> bool:
        with self._lock:
            return self.access.get(token, 0) > time.time()

    def revoke_secret(self) -> None:
        self.secret = "a-new-secret-nobody-has"  # noqa: S105

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self.refresh.clear()

    def invalidate_access_tokens(self) -> None:
        with self._lock:
            self.access.clear()

    @property
    def issued_secrets(self) -> list[str]:
        """Every access and refresh token issued so far (for leak checks)."""
        with self._lock:
            return [*self.access, *self.refresh]

    # -- the grants
    def _issue(self, with_refresh: bool, id_token: bool = False) -> dict:
        access = "at-" + secrets.token_urlsafe(24)
        answer = {"token_type": "Bearer", "access_token": access, "expires_in": self.lifetime}
        with self._lock:
            self.access[access] = time.time() + self.lifetime
            if with_refresh:
                answer["refresh_token"] = "rt-" + secrets.token_urlsafe(24)
                self.refresh.add(answer["refresh_token"])
        if id_token:
            claims = base64.urlsafe_b64encode(json.dumps(
                {"preferred_username": self.account}).encode()).decode().rstrip("=")
            answer["id_token"] = f"eyJhbGciOiJub25lIn0.{claims}."
        return answer

    def token(self, tenant: str, form: dict) -> tuple[int, dict]:
        grant = form.get("grant_type", "")
        self.grants[grant] += 1
        if tenant != TENANT:
            return 400, _error("invalid_request", "90002", f"Tenant '{tenant}' not found.")
        if form.get("client_id") != CLIENT_ID:
            return 400, _error("unauthorized_client", "700016",
                               f"Application with identifier '{form.get('client_id')}' was "
                               "not found in the directory.")
        if grant == "client_credentials" or form.get("client_secret"):  # public clients

            if self.secret_expired:
                return 401, _error("invalid_client", "7000222", "The provided client secret "
                                   "keys for app are expired.")
            if form.get("client_secret") != self.secret:
                return 401, _error("invalid_client", "7000215", "Invalid client secret "
                                   "provided.")
        if grant == "client_credentials":
            return 200, self._issue(with_refresh=False)
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh:
                return 400, _error("invalid_grant", "700082", "The refresh token has expired "
                                   "due to inactivity.")
            with self._lock:  # rotated, like Microsoft does
                self.refresh.discard(form["refresh_token"])
            return 200, self._issue(with_refresh=True)
        if grant == "authorization_code":
            return self._redeem(form)
        return 400, {"error": "unsupported_grant_type"}

    def _redeem(self, form: dict) -> tuple[int, dict]:
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or pending["redirect_uri"] != form.get("redirect_uri"):
            return 400, _error("invalid_grant", "70008", "The provided authorization code "
                               "is invalid or has expired.")
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != pending["challenge"]:
            return 400, _error("invalid_grant", "501481", "The Code_Verifier does not match "
                               "the code_challenge supplied in the authorization request.")
        return 200, self._issue(with_refresh=True, id_token=True)

    def consent(self, query: dict) -> str:
        """The code for an accepted consent page, bound to the redirect URI and challenge."""
        code = "code-" + secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": query["redirect_uri"],
                            "challenge": query.get("code_challenge", "")}
        return code

    def start(self) -> OAuthProvider:
        provider = self

        class Handler(_HttpHandler):
            state = provider

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


class _HttpHandler(BaseHTTPRequestHandler):
    state: OAuthProvider

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: str, kind: str = "application/json",
              location: str | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not url.path.endswith("/authorize"):
            return self._send(404, "not found", "text/plain")
        self.state.consents.append(query)
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                         f'value="{html.escape(v)}">' for k, v in query.items())
        client = html.escape(query.get("client_id", ""))
        scope = html.escape(query.get("scope", ""))
        page = (f"<!doctype html><title>Consent</title><link rel=icon href=\"data:,\">"
                f"<h1>Allow {client}</h1>"
                f"<p>Scope: {scope}</p><form method=post>"
                f"{fields}<button name=decision value=accept>Accept</button>"
                "<button name=decision value=deny>Deny</button></form>")
        return self._send(200, page, "text/html")

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

    def do_POST(self) -> None:  # noqa: N802
        url, form = urlsplit(self.path), self._form()
        if url.path.endswith("/authorize"):
            back = {"state": form.get("state", "")}
            if form.get("decision") == "accept":
                back["code"] = self.state.consent(form)
            else:
                back.update(error="access_denied", error_description="The user declined.")
            return self._send(302, "", "text/plain", f"{form['redirect_uri']}?{urlencode(back)}")
        if url.path.endswith("/token"):
            status, answer = self.state.token(url.path.split("/")[1], form)
            return self._send(status, json.dumps(answer))
        return self._send(404, "<html>not here</html>", "text/html")
