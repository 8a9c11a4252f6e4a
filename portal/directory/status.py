"""The directory's last known state, for the admin banner and ``/healthz``.

Every use of the service account (sign-ins, session rechecks, the test page and
``/healthz`` itself) records its outcome here, so a wrong service-account password
shows up for admins without anyone having to look for it. The record is kept per
process (each web process learns it on its own first use); ``/healthz`` refreshes it
with a live check at most once a minute.
"""

from __future__ import annotations

import threading
import time

from portal.directory import client
from portal.directory.settings import DirectorySettings

LIVE_CHECK_SECONDS = 60
_lock = threading.Lock()
_states: dict[tuple, tuple[str | None, float]] = {}

# The states: "ok", "unreachable" (connect or TLS failed), "service_bind_failed".
STEP_STATUS = {"connect": "unreachable", "tls": "unreachable",
               "service_bind": "service_bind_failed", "search": "error"}


# For /healthz (monitors read English); the banner words them in the reader's language.
MESSAGES = {
    "ok": "The directory answers and the service account signs in.",
    "unreachable": "The directory cannot be reached (connection or TLS failed); "
                   "local accounts still work.",
    "service_bind_failed": "The directory refused the service account: check "
                           "PORTAL_LDAP_BIND_DN and PORTAL_LDAP_BIND_PASSWORD. "
                           "Directory users cannot sign in.",
    "error": "The directory answered with an error to a search: check "
             "PORTAL_LDAP_USER_BASE and PORTAL_LDAP_GROUP_BASE.",
}


def _key(settings: DirectorySettings) -> tuple:
    """States are kept per directory (URLs and service account), so a changed
    configuration starts from "unknown"."""
    return (settings.urls, settings.bind_dn)


def record(settings: DirectorySettings, status: str | None) -> None:
    with _lock:
        _states[_key(settings)] = (status, time.monotonic())


def record_error(settings: DirectorySettings, error: client.DirectoryError) -> None:
    record(settings, STEP_STATUS.get(error.step, "error"))


def last(settings: DirectorySettings) -> str | None:
    return _states.get(_key(settings), (None, 0.0))[0]


def reset() -> None:
    """Forget every state (tests)."""
    with _lock:
        _states.clear()


def live(settings: DirectorySettings) -> str:
    """The state, checked against the directory when the last check is over a minute old."""
    state, at = _states.get(_key(settings), (None, 0.0))
    if state is not None and time.monotonic() - at < LIVE_CHECK_SECONDS:
        return state
    try:
        conn, _url = client.service_connection(settings)
        client.close(conn)
        record(settings, "ok")
    except client.DirectoryError as error:
        record_error(settings, error)
    return last(settings)
