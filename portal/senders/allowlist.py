"""Which mail servers team admins may test and save (the system admin's allow-list).

``SENDER_HOST_ALLOWLIST`` lists entries such as ``smtp.qq.com``, ``*.corp.local``,
``mail.corp.local:587`` or ``10.0.0.0/8`` (a network matches IP-address hosts only,
nothing is looked up). Empty means any server. System admins are never restricted:
the list keeps Test connection from being a port scanner for everyone else.
"""

from __future__ import annotations

import ipaddress
import re

from flask import current_app
from flask_babel import gettext as _

_SPLIT = re.compile(r"[\s,;]+")


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
