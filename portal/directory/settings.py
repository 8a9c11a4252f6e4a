"""The directory's settings, read once per use from the app config (``PORTAL_LDAP_*``).

Kept free of Flask so the client can be used and tested with plain values. The
service account's password is held here but never rendered: :func:`public_view`
is what pages show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_USER_FILTER = "(|(uid={username})(sAMAccountName={username})(userPrincipalName={username}))"

# Config keys and their defaults (None/empty URL = the directory is off).
DEFAULTS = {
    "LDAP_URL": None,
    "LDAP_STARTTLS": False,
    "LDAP_CA_FILE": None,
    "LDAP_BIND_DN": None,
    "LDAP_BIND_PASSWORD": None,
    "LDAP_USER_BASE": None,
    "LDAP_USER_FILTER": DEFAULT_USER_FILTER,
    "LDAP_DISPLAY_NAME_ATTR": "displayName",
    "LDAP_EMAIL_ATTR": "mail",
    "LDAP_GROUP_BASE": None,
    "LDAP_ADMIN_GROUP": None,
    "LDAP_NESTED_GROUPS": None,
    "LDAP_TIMEOUT": 5.0,
    "LDAP_REFUSE_UNMAPPED": True,
    "LDAP_RECHECK_SECONDS": 300,
}


def as_bool(value) -> bool | None:
    """Settings from the environment arrive as text: "true", "1", "yes", "on" are true."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class DirectorySettings:
    """Everything needed to talk to the directory (one or more servers for failover)."""

    urls: tuple[str, ...]
    starttls: bool = False
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = field(default=None, repr=False)
    user_base: str = ""
    user_filter: str = DEFAULT_USER_FILTER
    name_attr: str = "displayName"
    email_attr: str = "mail"
    group_base: str | None = None
    admin_group: str | None = None
    nested_groups: bool | None = None  # None: ask the server (Active Directory → True)
    timeout: float = 5.0
    refuse_unmapped: bool = True
    recheck_seconds: int = 300

    @property
    def enabled(self) -> bool:
        return bool(self.urls)


def split_urls(value) -> tuple[str, ...]:
    """``"ldaps://dc1 ldaps://dc2"`` or comma separated → the URLs in order."""
    if not value:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part for part in re.split(r"[\s,]+", str(value)) if part)


def from_config(config) -> DirectorySettings:
    """The settings from a Flask config (or any mapping); missing keys take the defaults."""
    def get(key):
        value = config.get(key, DEFAULTS[key])
        return DEFAULTS[key] if value is None else value

    return DirectorySettings(
        urls=split_urls(config.get("LDAP_URL")),
        starttls=bool(as_bool(get("LDAP_STARTTLS"))),
        ca_file=get("LDAP_CA_FILE") or None,
        bind_dn=get("LDAP_BIND_DN") or None,
        bind_password=get("LDAP_BIND_PASSWORD") or None,
        user_base=get("LDAP_USER_BASE") or "",
        user_filter=get("LDAP_USER_FILTER") or DEFAULT_USER_FILTER,
        name_attr=get("LDAP_DISPLAY_NAME_ATTR") or "displayName",
        email_attr=get("LDAP_EMAIL_ATTR") or "mail",
        group_base=get("LDAP_GROUP_BASE") or None,
        admin_group=get("LDAP_ADMIN_GROUP") or None,
        nested_groups=as_bool(config.get("LDAP_NESTED_GROUPS")),
        timeout=float(get("LDAP_TIMEOUT")),
        refuse_unmapped=bool(as_bool(get("LDAP_REFUSE_UNMAPPED"))),
        recheck_seconds=int(get("LDAP_RECHECK_SECONDS")),
    )


def public_view(settings: DirectorySettings) -> list[tuple[str, str | None]]:
    """(setting name, value) pairs safe to show: the password only as set / not set."""
    return [
        ("PORTAL_LDAP_URL", " ".join(settings.urls) or None),
        ("PORTAL_LDAP_STARTTLS", "true" if settings.starttls else "false"),
        ("PORTAL_LDAP_CA_FILE", settings.ca_file),
        ("PORTAL_LDAP_BIND_DN", settings.bind_dn),
        ("PORTAL_LDAP_BIND_PASSWORD", "set" if settings.bind_password else "not set"),
        ("PORTAL_LDAP_USER_BASE", settings.user_base or None),
        ("PORTAL_LDAP_USER_FILTER", settings.user_filter),
        ("PORTAL_LDAP_DISPLAY_NAME_ATTR", settings.name_attr),
        ("PORTAL_LDAP_EMAIL_ATTR", settings.email_attr),
        ("PORTAL_LDAP_GROUP_BASE", settings.group_base),
        ("PORTAL_LDAP_ADMIN_GROUP", settings.admin_group),
        ("PORTAL_LDAP_NESTED_GROUPS", {None: "auto", True: "true", False: "false"}[
            settings.nested_groups]),
        ("PORTAL_LDAP_TIMEOUT", f"{settings.timeout:g}"),
        ("PORTAL_LDAP_REFUSE_UNMAPPED", "true" if settings.refuse_unmapped else "false"),
        ("PORTAL_LDAP_RECHECK_SECONDS", str(settings.recheck_seconds)),
    ]
