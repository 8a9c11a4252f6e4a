"""Checking credentials, and keeping redirects after sign-in on this site."""

from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.auth.models import User
from portal.extensions import db
from portal.i18n.marks import N_

# Checked against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

# Marked here, translated where shown (``authenticate`` runs inside a request).
BAD_CREDENTIALS = N_("Wrong username or password.")
DEACTIVATED = N_("This account is deactivated. Ask a system administrator to reactivate it.")


def find_user(username: str) -> User | None:
    """Usernames are matched without regard to case or surrounding spaces."""
    name = username.strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.username) == name))


def authenticate(username: str, password: str) -> tuple[User | None, str | None, bool]:
    """The user when the credentials are right and the account active, else an error text;
    and whether the failure counts against the sign-in throttle.

    Local accounts are checked here. With a directory configured (``LDAP_URL``), every
    other username, and every directory account, is checked against the directory
    (``portal.directory.signin``); an unreachable directory is said so, not taken for
    a wrong password, and local accounts keep working.
    """
    from portal.directory import signin

    user = find_user(username)
    if signin.enabled() and (user is None or user.from_directory):
        user, error, counts = signin.sign_in(username, password, BAD_CREDENTIALS)
        if user is not None and not user.active:
            return None, _(DEACTIVATED), False
        return user, error, counts
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None, _(BAD_CREDENTIALS), True
    if not user.check_password(password):
        return None, _(BAD_CREDENTIALS), True
    if not user.active:
        return None, _(DEACTIVATED), True
    return user, None, False


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no '//' trick) may be redirected to."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
