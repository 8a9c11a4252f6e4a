"""Signing in with a directory account: find the user as the service account, bind as
them to check the password, then create or refresh their local row, system admin role
and memberships in linked teams.

Returns what ``auth.service.authenticate`` returns: the user, or an error text and
whether the failure counts against the sign-in throttle (a wrong password does, an
unreachable directory does not).
"""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.service import find_user
from portal.dbtypes import utcnow
from portal.directory import client, links, status
from portal.directory.settings import DirectorySettings, from_config
from portal.extensions import db
from portal.i18n.marks import N_

UNREACHABLE = N_("The directory cannot be reached; local accounts still work.")
SERVICE_REFUSED = N_("Directory sign-in does not work right now: the directory refused the "
                     "portal's service account. Local accounts still work; tell a system "
                     "administrator.")
UNMAPPED = N_("Your directory account is not in any group that gives access to the "
              "portal. Ask a system administrator to link your group to a team.")
TAKEN = N_("A local account has the same username as your directory account. Ask a "
           "system administrator to rename one of them.")
DISABLED = N_("This directory account is disabled.")


def settings() -> DirectorySettings:
    return from_config(current_app.config)


def enabled() -> bool:
    return settings().enabled


def sign_in(username: str, password: str, bad_credentials: str):
    """(user, None, False) on success, else (None, error text, counts as a failure)."""
    cfg = settings()
    if not password or not username.strip():
        return None, _(bad_credentials), True
    try:
        conn, url = client.service_connection(cfg)
    except client.DirectoryError as error:
        status.record_error(cfg, error)
        current_app.logger.warning("directory sign-in: %s failed", error.step)
        text = SERVICE_REFUSED if error.step == "service_bind" else UNREACHABLE
        return None, _(text), False
    try:
        return _check(conn, url, cfg, username.strip(), password, bad_credentials)
    except client.DirectoryError as error:
        status.record_error(cfg, error)
        return None, _(UNREACHABLE), False
    finally:
        client.close(conn)


def _check(conn, url, cfg, username, password, bad_credentials):
    status.record(cfg, "ok")
    found = client.find_user(conn, cfg, username)
    if found is None or not client.check_password(cfg, url, found.dn, password):
        return None, _(bad_credentials), True
    if found.disabled:
        return None, _(DISABLED), True
    groups = client.groups_of(conn, cfg, found)
    is_admin = bool(cfg.admin_group) and client.normalize_dn(cfg.admin_group) in groups
    if cfg.refuse_unmapped and not is_admin and not links.roles_for(groups):
        return None, _(UNMAPPED), False
    user = provision(found, username)
    if user is None:
        return None, _(TAKEN), False
    if not user.active:
        return user, None, False  # the caller words a deactivated account
    user.is_system_admin = is_admin
    links.apply_groups(user, groups)
    return user, None, False


def provision(found: client.DirectoryUser, typed: str) -> User | None:
    """The local row of a directory user: found by DN, created on first sign-in; name
    and email refreshed. It gets an unusable password (no local sign-in). None when a
    local account already holds the username."""
    user = db.session.scalar(select(User).where(User.directory_dn == found.dn))
    if user is None:
        login = (found.login or typed)[:64]
        if find_user(login) is not None:
            return None
        user = User(username=login, display_name=login, source="directory", active=True,
                    directory_dn=found.dn)
        user.password_hash = "!directory:" + secrets.token_hex(16)  # never matches
        db.session.add(user)
    user.display_name = (found.name or user.display_name or user.username)[:120]
    if found.email:
        user.email = found.email[:254]
    user.directory_checked_at = utcnow()
    db.session.flush()
    return user
