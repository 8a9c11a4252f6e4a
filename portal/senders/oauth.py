"""OAuth2 senders: saving their settings and turning them into a ``TokenSource``.

The sender form's blank endpoint and scope fields mean "the provider's default"; the
defaults are written into the sender on save so the form shows them under Advanced.
A change that would send the stored secrets somewhere else (another token URL, client,
tenant, mail server, CA certificate or mailbox) needs the client secret typed again and
drops the connected account, whatever the sender's method was before.
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal.crypto import decrypt, encrypt
from portal.dbtypes import utcnow
from portal.errors import ServiceError
from portal.extensions import db
from portal.mail.oauth import TokenSource, providers
from portal.senders.models import Sender

log = logging.getLogger(__name__)
OAUTH_FIELDS = ("auth_method", "oauth_provider", "oauth_flow", "oauth_tenant",
                "oauth_client_id", "oauth_token_url", "oauth_authorize_url", "oauth_scope")
# Where the stored secrets and the tokens go: a change of any of these needs them again.
# The endpoint part: who receives the client secret and the refresh token.
_ENDPOINT = ("oauth_provider", "oauth_tenant", "oauth_client_id")
SECRET_AGAIN = _l("Enter the client secret again: the stored one is only used with the "
                  "token URL, tenant, client id, mail server, CA certificate and account "
                  "it was saved with.")
SECRET_NEEDED = _l("Enter the client secret (its value, not its id).")


def _clean(value) -> str:
    return str(value or "").strip()


def with_defaults(values: dict) -> dict:
    """``values`` with blank endpoints and scope filled from the provider's defaults."""
    values = dict(values)
    provider, tenant, flow = (values.get("oauth_provider"), _clean(values.get("oauth_tenant")),
                              values.get("oauth_flow"))
    values["oauth_token_url"] = (_clean(values.get("oauth_token_url"))
                                 or providers.token_url(provider, tenant))
    values["oauth_authorize_url"] = (_clean(values.get("oauth_authorize_url"))
                                     or providers.authorize_url(provider, tenant))
    values["oauth_scope"] = _clean(values.get("oauth_scope")) or providers.scope(provider, flow)
    return values


def comparable(values: dict) -> dict:
    """The OAuth2 settings as they would be saved (None for a password sender), so a
    check of form values and one of the stored sender compare equal."""
    if values.get("auth_method") != "oauth2":
        return {name: None for name in OAUTH_FIELDS}
    values = with_defaults(values)
    return {name: _clean(values.get(name)) or None for name in OAUTH_FIELDS}


def _server(values: dict) -> tuple:
    """Where an access token goes: the mail server, how it is reached (the CA
    certificate's line ends evened out) and the mailbox (the username or the address)."""
    try:
        port = int(values.get("port") or 0)
    except (TypeError, ValueError):
        port = -1
    pem = "\n".join(line.strip() for line in _clean(values.get("ca_cert")).splitlines())
    return (_clean(values.get("host")).lower().rstrip("."), port,
            _clean(values.get("encryption")),
            _clean(values.get("username")) or _clean(values.get("address")),
            _clean(values.get("address")).lower(), pem)


def _endpoint(values: dict) -> tuple:
    """Who receives the client secret and the refresh token: provider, tenant, client
    id and the token URL (blank meaning the provider's default)."""
    values = with_defaults(values)
    return (*(_clean(values.get(name)).lower() for name in _ENDPOINT),
            values["oauth_token_url"])


def _stored_values(sender: Sender) -> dict:
    return {name: getattr(sender, name) for name in (
        *OAUTH_FIELDS, "host", "port", "encryption", "username", "address", "ca_cert",
        "allow_plain_auth")}


def has_secrets(sender: Sender | None) -> bool:
    """True when ``sender`` holds a client secret or a connected account's refresh token
    (whatever its method: a sender switched to password keeps them)."""
    return sender is not None and (sender.has_client_secret or sender.is_connected)


def moved(values: dict, stored: Sender | None) -> bool:
    """True when ``values`` would hand the stored OAuth2 secrets, or the tokens they get,
    to anyone but the destination they were saved for: another mail server, port,
    encryption, CA certificate or mailbox, plain login newly allowed, or (for OAuth2
    values) another provider, tenant, client id or token URL.

    Like the password rule (``service.moved_away``) this holds whatever the stored
    sender's method is: a sender switched to password keeps its OAuth2 secrets, so
    switching back with other settings must not carry them along."""
    if not has_secrets(stored):
        return False
    if values.get("allow_plain_auth") and not stored.allow_plain_auth:
        return True
    before = _stored_values(stored)
    if _server(values) != _server(before):
        return True
    return values.get("auth_method") == "oauth2" and _endpoint(values) != _endpoint(before)


def destination_key(sender: Sender) -> str:
    """A digest of where ``sender``'s secrets go (no secret is part of it): a sign-in
    started before the sender was changed cannot finish with the changed settings."""
    values = _stored_values(sender)
    parts = [_server(values), _endpoint(values), bool(sender.allow_plain_auth),
             sender.auth_method, sender.oauth_flow, _clean(sender.oauth_authorize_url)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def check_secret(values: dict, stored: Sender | None) -> None:
    """Refuse settings that would use a stored secret somewhere new, or lack one."""
    if values.get("auth_method") != "oauth2" or values.get("oauth_client_secret"):
        return
    if stored is not None and stored.has_client_secret and moved(values, stored):
        raise ServiceError(str(SECRET_AGAIN), "oauth_client_secret")
    if values.get("oauth_flow") == "application" and not (stored and stored.has_client_secret):
        raise ServiceError(str(SECRET_NEEDED), "oauth_client_secret")


def apply(sender: Sender, values: dict, was_moved: bool) -> None:
    """Write the OAuth2 settings of ``values`` into ``sender`` (after ``check_secret``);
    ``was_moved`` is ``moved(values, sender)`` taken before any other field was saved.

    A password sender keeps any OAuth2 settings and secrets it had, so switching back
    needs no retyping, as long as the mail server and mailbox stay: a password sender
    saved with another destination forgets its OAuth2 secrets."""
    if values.get("auth_method") != "oauth2":
        sender.auth_method = "password"
        if was_moved:
            sender.oauth_client_secret_encrypted = None
            disconnect(sender)
        return
    values = with_defaults(values)
    was_moved = was_moved or values.get("oauth_flow") != sender.oauth_flow
    for name in OAUTH_FIELDS:
        setattr(sender, name, _clean(values.get(name)) or None)
    if values.get("oauth_client_secret"):
        sender.oauth_client_secret_encrypted = encrypt(values["oauth_client_secret"])
    if was_moved:
        disconnect(sender)


def disconnect(sender: Sender) -> None:
    """Forget the connected account: its refresh token and name."""
    sender.oauth_refresh_token_encrypted = None
    sender.oauth_account = None
    sender.oauth_connected_at = None


def connect(sender: Sender, refresh_token: str, account: str | None) -> None:
    """Keep the refresh token of a completed sign-in (encrypted) and whose it is."""
    sender.oauth_refresh_token_encrypted = encrypt(refresh_token)
    sender.oauth_account = (account or "").strip()[:254] or None
    sender.oauth_connected_at = utcnow()


def token_source(values: dict, stored: Sender | None, username: str) -> TokenSource:
    """The token source for form values (a blank secret falls back to the stored one;
    the refresh token only ever comes from the stored sender). Stored secrets are only
    used when the values keep their destination (``moved``)."""
    values, kept = with_defaults(values), stored is not None and not moved(values, stored)
    secret = values.get("oauth_client_secret") or None
    if not secret and kept and stored.has_client_secret:
        secret = decrypt(stored.oauth_client_secret_encrypted)
    refresh, account, grant, saver = None, None, "", None
    if kept and stored.is_connected:
        refresh = decrypt(stored.oauth_refresh_token_encrypted)
        account = stored.oauth_account
        grant = f"sender {stored.id} {stored.oauth_connected_at}"
        saver = _rotation_saver(stored.id, stored.oauth_refresh_token_encrypted)
    return TokenSource(
        flow=values.get("oauth_flow") or "application", token_url=values["oauth_token_url"],
        client_id=_clean(values.get("oauth_client_id")), client_secret=secret,
        scope=values["oauth_scope"], refresh_token=refresh,
        account=account or username, grant=grant, timeout=current_app.config["SMTP_TIMEOUT"],
        on_new_refresh_token=saver)


def _rotation_saver(sender_id: int, stored_value: str):
    """Store a refresh token the provider rotated, on its own short transaction (the
    caller may be between the worker's commits): only if the sender still holds the
    token it was issued for, so a reconnect in the meantime wins."""
    app = current_app._get_current_object()

    def save(new_token: str) -> None:
        try:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(update(Sender).where(
                    Sender.id == sender_id,
                    Sender.oauth_refresh_token_encrypted == stored_value).values(
                    oauth_refresh_token_encrypted=encrypt(new_token)))
        except Exception:  # noqa: BLE001  the old refresh token still works for now
            log.warning("could not store the rotated refresh token of sender %s", sender_id)
    return save
