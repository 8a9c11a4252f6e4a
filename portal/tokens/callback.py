"""A token's delivery callback: its URL and the signing secret (see ``portal.callbacks``).

The secret is generated whenever a URL is set and shown once; the portal keeps it
encrypted (``portal.crypto``), not hashed, because it needs it back to sign each POST.
"""

import secrets
from urllib.parse import urlsplit

from flask_babel import gettext as _

from portal.crypto import encrypt
from portal.errors import ServiceError
from portal.extensions import db
from portal.tokens.models import ApiToken

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix that says what the value is, not a secret)
MAX_URL = 2000


def check_url(url: str | None) -> str | None:
    """An absolute http or https URL with a host (None or blank: no callback)."""
    url = (url or "").strip()
    if not url:
        return None
    if len(url) > MAX_URL:
        raise ServiceError(_("The callback URL must be at most %(num)d characters.",
                             num=MAX_URL), "callback_url")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise ServiceError(_("The callback URL must not contain spaces or control "
                             "characters."), "callback_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ServiceError(_("Enter the callback URL as http:// or https:// followed by a "
                             "host, such as https://reports.example.local/mail-status."),
                           "callback_url")
    if parts.username or parts.password:
        raise ServiceError(_("Leave user names and passwords out of the callback URL: "
                             "receivers check the signature instead."), "callback_url")
    return url


def set_callback(actor, token: ApiToken, url: str | None) -> str | None:
    """Set (or remove, with no URL) the token's callback; returns the new signing secret
    to show once, or None when the callback was removed."""
    if not actor.can_admin_team(token.team_id):
        raise ServiceError(_("You cannot manage this token."))
    url = check_url(url)
    if url is None:
        if token.callback_url is not None:  # nothing to change (and to audit) otherwise
            token.callback_url = token.callback_secret_encrypted = None
            db.session.flush()
        return None
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token.callback_url, token.callback_secret_encrypted = url, encrypt(secret)
    db.session.flush()
    return secret
