"""Talking to the directory with ldap3: connect, service bind, find a user, check a
password, list a user's groups. Flask-free: it takes :class:`DirectorySettings`.

Every failure is raised as :class:`DirectoryError` with a ``step`` (``connect``,
``tls``, ``service_bind``, ``search``) so callers can word it: an unreachable
directory must never look like a wrong password. Certificates are always verified
(``ssl.CERT_REQUIRED`` and the host name); the fix for a private server is
``CA_FILE``, never turning verification off.
"""

from __future__ import annotations

import math
import ssl
from dataclasses import dataclass, field

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars

from portal.directory.settings import DirectorySettings

# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership through nested groups.
IN_CHAIN = "1.2.840.113556.1.4.1941"
AD_DISABLED = 0x2  # userAccountControl: ACCOUNTDISABLE
# OpenLDAP ppolicy's administrative (permanent) lock; 389-ds / Red Hat IdM's flag.
PPOLICY_LOCKED_FOREVER = "000001010000Z"


class DirectoryError(Exception):
    """The directory could not be used; ``step`` says where it failed."""

    def __init__(self, step: str, detail: str = ""):
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


@dataclass
class DirectoryUser:
    """A user entry as the portal needs it."""

    dn: str
    login: str | None
    name: str | None
    email: str | None
    disabled: bool = False
    attributes: dict = field(default_factory=dict, repr=False)


def _tls(settings: DirectorySettings) -> Tls:
    return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)


def _server(settings: DirectorySettings, url: str) -> Server:
    return Server(url, connect_timeout=settings.timeout, get_info=NONE,
                  tls=_tls(settings))


def _open(settings: DirectorySettings, url: str, user=None, password=None) -> Connection:
    """An open (STARTTLS-upgraded when configured) connection, not yet bound."""
    conn = Connection(_server(settings, url), user=user, password=password,
                      # ldap3 wants whole seconds here
                      receive_timeout=max(1, math.ceil(settings.timeout)),
                      raise_exceptions=False, auto_referrals=False, read_only=True)
    try:
        conn.open()
    except lx.LDAPSocketOpenError as error:
        step = "tls" if "ssl" in str(error).lower() or "certificate" in str(error).lower() \
            else "connect"
        raise DirectoryError(step, str(error)) from error
    except (lx.LDAPException, OSError) as error:
        raise DirectoryError("connect", str(error)) from error
    if settings.starttls and not url.lower().startswith("ldaps://"):
        try:
            if not conn.start_tls():
                raise DirectoryError("tls", str(conn.result.get("description", "")))
        except (lx.LDAPException, OSError, ssl.SSLError) as error:
            close(conn)
            raise DirectoryError("tls", str(error)) from error
    return conn


def close(conn: Connection) -> None:
    """Unbind, ignoring a connection that is broken already (e.g. after a failed TLS)."""
    try:
        conn.unbind()
    except (lx.LDAPException, OSError):
        pass


def service_connection(settings: DirectorySettings) -> tuple[Connection, str]:
    """A connection bound as the service account, and the URL it reached.

    The servers are tried in order; the first that answers is used. A refused
    service bind stops at once (another server would refuse it too).
    """
    last: DirectoryError | None = None
    for url in settings.urls:
        try:
            conn = _open(settings, url, settings.bind_dn, settings.bind_password)
        except DirectoryError as error:
            last = error
            continue
        try:
            bound = conn.bind()
        except (lx.LDAPException, OSError) as error:
            last = DirectoryError("connect", str(error))
            continue
        if not bound:
            detail = conn.result.get("description", "")
            close(conn)
            raise DirectoryError("service_bind", detail)
        return conn, url
    raise last or DirectoryError("connect", "no server configured")


def _first(entry: dict, name: str | None):
    values = entry.get(name) if name else None
    if isinstance(values, list):
        return str(values[0]) if values else None
    return str(values) if values not in (None, "") else None


def user_filter(settings: DirectorySettings, username: str) -> str:
    """The search filter with the username escaped (RFC 4515), so ``*)(uid=*`` is a literal."""
    return settings.user_filter.replace("{username}", escape_filter_chars(username))


def find_user(conn: Connection, settings: DirectorySettings,
              username: str) -> DirectoryUser | None:
    """The one entry the filter finds for ``username``; None for none or several."""
    attributes = ["uid", "sAMAccountName", "cn", "userAccountControl",
                  "pwdAccountLockedTime", "nsAccountLock",
                  settings.name_attr, settings.email_attr]
    try:
        conn.search(settings.user_base, user_filter(settings, username), SUBTREE,
                    attributes=attributes, size_limit=2)
    except (lx.LDAPException, OSError) as error:
        raise DirectoryError("search", str(error)) from error
    entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
    if len(entries) != 1:
        return None
    dn, attrs = entries[0]["dn"], entries[0].get("attributes", {})
    return DirectoryUser(
        dn=dn, login=_first(attrs, "sAMAccountName") or _first(attrs, "uid"),
        name=_first(attrs, settings.name_attr) or _first(attrs, "cn"),
        email=_first(attrs, settings.email_attr), disabled=is_disabled(attrs),
        attributes=dict(attrs))


def is_disabled(attrs: dict) -> bool:
    """Disabled by an administrator: AD's ``userAccountControl`` bit 2, OpenLDAP
    ppolicy's permanent lock, or ``nsAccountLock: TRUE`` (389-ds, FreeIPA)."""
    flags = _first(attrs, "userAccountControl") or ""
    if flags.lstrip("-").isdigit() and int(flags) & AD_DISABLED:
        return True
    locked = (_first(attrs, "pwdAccountLockedTime") or "").strip()
    if locked.upper() == PPOLICY_LOCKED_FOREVER or locked.startswith("0001-01-01"):
        return True
    return (_first(attrs, "nsAccountLock") or "").strip().lower() == "true"


def check_password(settings: DirectorySettings, url: str, dn: str, password: str) -> bool:
    """Bind as ``dn``. An empty password is refused here: it would be an anonymous
    ("unauthenticated") bind that many servers accept."""
    if not password:
        return False
    conn = _open(settings, url, dn, password)
    try:
        return bool(conn.bind())
    except (lx.LDAPException, OSError) as error:
        raise DirectoryError("connect", str(error)) from error
    finally:
        close(conn)


def is_active_directory(conn: Connection) -> bool:
    """Only Active Directory publishes ``forestFunctionality`` in its root DSE."""
    try:
        conn.search("", "(objectClass=*)", BASE, attributes=["forestFunctionality"])
    except (lx.LDAPException, OSError):
        return False
    for entry in conn.response or []:
        if entry.get("attributes", {}).get("forestFunctionality") not in (None, [], ""):
            return True
    return False


def group_filter(user: DirectoryUser, nested: bool) -> str:
    """Groups that list the user: nested (Active Directory) or direct ``member`` /
    ``uniqueMember`` / ``memberUid`` (OpenLDAP groupOfNames and posixGroup)."""
    dn = escape_filter_chars(user.dn)
    if nested:
        return f"(member:{IN_CHAIN}:={dn})"
    uid = _first(user.attributes, "uid") or user.login
    parts = [f"(member={dn})", f"(uniqueMember={dn})"]
    if uid:
        parts.append(f"(memberUid={escape_filter_chars(uid)})")
    return "(|" + "".join(parts) + ")"


def groups_of(conn: Connection, settings: DirectorySettings, user: DirectoryUser) -> set[str]:
    """The DNs of the groups (under ``GROUP_BASE``) the user belongs to, in lower case."""
    nested = settings.nested_groups
    if nested is None:
        nested = is_active_directory(conn)
    found = set()
    if settings.group_base:
        found |= _search_groups(conn, settings.group_base, SUBTREE, group_filter(user, nested))
    admin = settings.admin_group
    if admin and normalize_dn(admin) not in found:  # it may live outside GROUP_BASE
        found |= _search_groups(conn, admin, BASE, group_filter(user, nested))
    return found


def _search_groups(conn: Connection, base: str, scope, query: str) -> set[str]:
    try:
        conn.search(base, query, scope, attributes=[])
    except (lx.LDAPException, OSError) as error:
        raise DirectoryError("search", str(error)) from error
    return {normalize_dn(e["dn"]) for e in conn.response or []
            if e.get("type") == "searchResEntry"}


def normalize_dn(dn: str) -> str:
    """DNs compare without regard to case or the spaces after commas."""
    return ",".join(part.strip() for part in (dn or "").split(",")).lower()
