"""OAuth2 providers a sender can log in with: their endpoints, scopes and URL rules.

Microsoft 365 and Google have well-known authorization and token endpoints and SMTP
scopes; "generic" is any OAuth2 server whose token URL the admin enters. Each value is
only a default: the sender form shows it under "Advanced", where it can be changed
(a token relay inside the company, or a local endpoint in the tests).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from portal.i18n.marks import N_

PROVIDERS = ("microsoft", "google", "generic")
# "application": the app's own client credentials (Microsoft 365 SMTP.SendAsApp, or any
# generic token URL); "delegated": a mailbox owner signed in once and the portal keeps
# the refresh token (authorization code flow).
FLOWS = ("application", "delegated")

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_DELEGATED_SCOPE = "https://outlook.office.com/SMTP.Send offline_access"
GOOGLE_SCOPE = "https://mail.google.com/"
LOOPBACK_NAMES = ("localhost",)


def token_url(provider: str | None, tenant: str | None) -> str:
    """The provider's token endpoint ("" when it cannot be known, e.g. generic)."""
    if provider == "microsoft" and tenant:
        return f"{MICROSOFT_LOGIN}/{tenant.strip()}/oauth2/v2.0/token"
    if provider == "google":
        return GOOGLE_TOKEN
    return ""


def authorize_url(provider: str | None, tenant: str | None) -> str:
    """The provider's authorization endpoint, where a mailbox owner signs in."""
    if provider == "microsoft":
        return f"{MICROSOFT_LOGIN}/{(tenant or 'organizations').strip()}/oauth2/v2.0/authorize"
    if provider == "google":
        return GOOGLE_AUTHORIZE
    return ""


def scope(provider: str | None, flow: str | None) -> str:
    """The SMTP scope to ask for: Microsoft's differs between app and delegated tokens."""
    if provider == "microsoft":
        return MICROSOFT_DELEGATED_SCOPE if flow == "delegated" else MICROSOFT_APP_SCOPE
    if provider == "google":
        return GOOGLE_SCOPE
    return ""


def sign_in_scope(provider: str | None, smtp_scope: str) -> str:
    """The scope asked for at sign-in: the SMTP scope plus the OpenID scopes that make
    the answer name the signed-in account (shown on the sender form)."""
    identity = {"microsoft": "openid profile", "google": "openid email"}.get(provider or "", "")
    wanted = smtp_scope.split()
    return " ".join(wanted + [word for word in identity.split() if word not in wanted])


def extra_authorize_params(provider: str | None) -> dict:
    """What the sign-in request needs besides the standard parameters: Google issues a
    refresh token only for offline access, and again only after a fresh consent."""
    if provider == "google":
        return {"access_type": "offline", "prompt": "consent"}
    if provider == "microsoft":
        return {"prompt": "select_account"}
    return {}


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


URL_NOT_HTTPS = N_("The URL must start with https:// (http:// is allowed only for "
                   "127.0.0.1 and localhost).")
URL_INVALID = N_("Enter a full URL, like https://login.example.com/oauth2/token.")


def url_problem(url: str | None) -> str | None:
    """Why ``url`` cannot be an OAuth endpoint (an English msgid), or None when it can.

    Secrets travel to it, so it must be https://; plain http:// only reaches this very
    machine (a local token relay, the tests)."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return URL_INVALID
    if not parts.hostname or parts.scheme not in ("https", "http") or " " in (url or "").strip():
        return URL_INVALID
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return URL_NOT_HTTPS
    return None
