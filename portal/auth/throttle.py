"""Failed sign-ins, counted in the database so every web process and host shares them.

Three limits apply at once (each a Flask-Limiter style string such as "10 per minute"):
per address and username (``LOGIN_RATE_LIMIT``), per address whatever the usernames
(``LOGIN_RATE_LIMIT_PER_ADDRESS``: one machine guessing many accounts) and per username
whatever the address (``LOGIN_RATE_LIMIT_PER_USER``: many machines guessing one
account). Only failures count. So that nobody can lock a person out of their own
account from elsewhere, the per-username limit stops only addresses that have failed
for that username themselves: once it is reached, each new address gets one guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from limits import parse
from sqlalchemy import String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class LoginFailure(db.Model):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(45), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _limits(address: str, username: str):
    """(limit, the failures it counts) for each of the three limits."""
    config = current_app.config
    return [
        (parse(config["LOGIN_RATE_LIMIT"]),
         (LoginFailure.address == address, LoginFailure.username == username)),
        (parse(config["LOGIN_RATE_LIMIT_PER_ADDRESS"]), (LoginFailure.address == address,)),
        (parse(config["LOGIN_RATE_LIMIT_PER_USER"]), (LoginFailure.username == username,)),
    ]


def _key(username: str) -> str:
    return (username or "").strip().lower()[:64]


def _failures(since, where) -> int:
    return db.session.scalar(select(func.count()).select_from(LoginFailure)
                             .where(LoginFailure.at > since, *where))


def blocked(address: str, username: str) -> bool:
    """True when any of the limits is used up for this address or username."""
    now, address, username = utcnow(), address or "", _key(username)
    pair, per_address, per_user = _limits(address, username)
    for limit, where in (pair, per_address, per_user):
        since = now - timedelta(seconds=limit.get_expiry())
        if _failures(since, where) < limit.amount:
            continue
        if limit is per_user[0] and not _failures(since, pair[1]):
            continue  # this address has not failed for this user: let it try
        return True
    return False


def record_failure(address: str, username: str) -> None:
    """Count one failed sign-in (the caller commits); forget failures past every window."""
    longest = max(limit.get_expiry() for limit, _ in _limits("", ""))
    db.session.execute(delete(LoginFailure).where(
        LoginFailure.at < utcnow() - timedelta(seconds=longest)))
    db.session.add(LoginFailure(address=(address or "")[:45], username=_key(username)))
