"""Ending the sessions of people removed from the directory.

On a request of a signed-in directory user, at most every ``LDAP_RECHECK_SECONDS``
(the time of the last check is kept on the user row, shared by every process), the
user is looked up again as the service account. Not found by the user filter, or
disabled (Active Directory ``userAccountControl`` bit 2): every session of theirs
ends and this request goes to the sign-in page. An unreachable directory keeps the
session (nobody is locked out by an outage) and is asked again on a later request.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal.auth import sessions
from portal.dbtypes import utcnow
from portal.directory import client, status
from portal.directory.signin import settings
from portal.extensions import db
from portal.htmx import redirect

# Requests that never need the check (static files, the health probe).
SKIPPED = {"static", "health.healthz"}


def due(user, cfg, now) -> bool:
    last = user.directory_checked_at
    return last is None or now - last >= timedelta(seconds=cfg.recheck_seconds)


def still_there(user, cfg) -> bool | None:
    """True / False from the directory; None when it cannot be asked right now."""
    try:
        conn, _url = client.service_connection(cfg)
    except client.DirectoryError as error:
        status.record_error(cfg, error)
        return None
    try:
        status.record(cfg, "ok")
        login = user.username
        found = client.find_user(conn, cfg, login)
        return found is not None and not found.disabled and \
            client.normalize_dn(found.dn) == client.normalize_dn(user.directory_dn)
    except client.DirectoryError as error:
        status.record_error(cfg, error)
        return None
    finally:
        client.close(conn)


def before_request():
    """The hook: end the session of a directory user the directory no longer has."""
    if request.endpoint in SKIPPED or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if not getattr(user, "from_directory", False):
        return None
    cfg, now = settings(), utcnow()
    if not cfg.enabled or not due(user, cfg, now):
        return None
    verdict = still_there(user, cfg)
    if verdict is None:
        return None  # keep the session; try again on a later request
    if verdict:
        user.directory_checked_at = now
        db.session.commit()
        return None
    sessions.end_all(user)
    db.session.commit()
    logout_user()
    flash(_("Your directory account is no longer active, so you were signed out."), "error")
    return redirect(url_for("auth.login"), 303)
