"""Server-side sign-in sessions, so that a session can really end.

The session cookie and the remember-me cookie carry ``"<user id>:<session key>"``
(Flask-Login's alternative id); only a hash of the key is stored. A request is
signed in only while its key's row exists and is younger than
``SESSION_MAX_AGE_DAYS``: signing out deletes the row (old copies of either cookie
stop working), and a password change, a reset, a deactivation or "sign out
everywhere" delete every row of the user.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.auth.models import User
from portal.bounds import parse_id
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class UserSession(db.Model):
    __tablename__ = "user_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _oldest_allowed() -> datetime:
    return utcnow() - timedelta(days=float(current_app.config["SESSION_MAX_AGE_DAYS"]))


def start(user: User) -> None:
    """A new session for ``user`` (call before ``login_user``); also forgets expired ones."""
    db.session.execute(delete(UserSession).where(UserSession.created_at < _oldest_allowed()))
    user.session_key = secrets.token_urlsafe(32)
    db.session.add(UserSession(key_hash=_hash(user.session_key), user_id=user.id))
    db.session.flush()


def load(alternative_id: str) -> User | None:
    """The active user of a live session, from the id a cookie carries, else None."""
    raw_id, _, key = (alternative_id or "").partition(":")
    number = parse_id(raw_id)
    if number is None or not key:
        return None
    user = db.session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(User.id == number, User.active.is_(True), UserSession.key_hash == _hash(key),
               UserSession.created_at >= _oldest_allowed()))
    if user is not None:
        user.session_key = key
    return user


def end(user: User) -> None:
    """End the session this request is signed in with."""
    key = getattr(user, "session_key", None)
    if key:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash(key)))


def end_all(user: User) -> None:
    """End every session of ``user`` (password change or reset, deactivation, on request)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
