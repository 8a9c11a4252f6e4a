"""Which mail servers team admins may test and save (the system admin's allow-list).

``SENDER_HOST_ALLOWLIST`` lists entries such as ``smtp.qq.com``, ``*.corp.local``,
``mail.corp.local:587`` or ``10.0.0.0/8`` (a network matches IP-address hosts only,
nothing is looked up). Empty means any server. System admins are never restricted:
the list keeps Test connection from being a port scanner for everyone else.

The same list holds for an OAuth2 sender's token and authorization URLs (the portal
posts to the token URL itself), except for the built-in providers' own sign-in hosts.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from portal.errors import ServiceError
from portal.mail.oauth import providers
from portal.senders import oauth

_SPLIT = re.compile(r"[\s,;]+")
URL_FIELDS = ("oauth_token_url", "oauth_authorize_url")
# Microsoft's and Google's public sign-in services (https only): never a host inside.
PROVIDER_HOSTS = frozenset(urlsplit(url).hostname for url in (
    providers.MICROSOFT_LOGIN, providers.GOOGLE_AUTHORIZE, providers.GOOGLE_TOKEN))


def entries() -> list[str]:
    """The configured entries, from a list or a comma/space separated string."""
    raw = current_app.config.get("SENDER_HOST_ALLOWLIST") or []
    if isinstance(raw, str):
        raw = _SPLIT.split(raw)
    return [str(item).strip().lower() for item in raw if str(item).strip()]


def _host_matches(pattern: str, host: str) -> bool:
    if "/" in pattern:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return host == pattern


def _matches(entry: str, host: str, port: int) -> bool:
    pattern, _, wanted_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
    return _host_matches(pattern, host) and (not wanted_port or int(wanted_port) == port)


def _has_port(entry: str) -> bool:
    head, sep, tail = entry.rpartition(":")
    return bool(sep) and tail.isdigit() and ":" not in head  # not an IPv6 literal


def refusal(actor, host: str, port) -> str | None:
    """Why ``actor`` may not use ``host:port``, or None when allowed."""
    allowed = entries()
    if not allowed or actor.is_system_admin:
        return None
    host = (host or "").strip().lower().rstrip(".")
    try:
        port = int(port)
    except (TypeError, ValueError):
        return None  # the port field reports its own error
    if any(_matches(entry, host, port) for entry in allowed):
        return None
    return _("Team admins may only use the mail servers the system administrator allows: "
             "%(servers)s. Ask a system administrator to add this one.",
             servers=", ".join(allowed))


def url_refusal(actor, url: str | None) -> str | None:
    """Why ``actor`` may not have the portal use the OAuth2 endpoint ``url`` (its host and
    port, 443 or 80 by default), or None when allowed. A malformed URL is left to the
    field's own check."""
    allowed = entries()
    if not allowed or actor.is_system_admin or not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not host or (parts.scheme == "https" and port == 443 and host in PROVIDER_HOSTS):
        return None
    if any(_matches(entry, host, port) for entry in allowed):
        return None
    return _("Team admins may only use the sign-in and token servers the system "
             "administrator allows: %(servers)s. Ask a system administrator to add this one.",
             servers=", ".join(allowed))


def problems(actor, values: dict) -> dict[str, list[str]]:
    """Each field of the sender ``values`` naming a server ``actor`` may not use: the
    mail server, and for OAuth2 the token and authorization URLs (blank ones are the
    provider's defaults)."""
    found = {}
    refused = refusal(actor, values.get("host"), values.get("port"))
    if refused:
        found["host"] = [refused]
    if values.get("auth_method") == "oauth2":
        filled = oauth.with_defaults(values)
        for name in URL_FIELDS:
            refused = url_refusal(actor, filled.get(name))
            if refused:
                found[name] = [refused]
    return found


def check(actor, values: dict) -> None:
    """Raise ``ServiceError`` naming the first field whose server ``actor`` may not use."""
    found = problems(actor, values)
    if found:
        name, errors = next(iter(found.items()))
        raise ServiceError(errors[0], name)


def first_problem(actor, values: dict) -> str | None:
    """The first of ``problems`` (for places with room for one message), or None."""
    return next((errors[0] for errors in problems(actor, values).values()), None)
