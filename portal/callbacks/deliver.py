"""Delivering callbacks: the worker POSTs each pending one, signed, and retries failures.

Runs apart from mail delivery (its own thread in the worker), so a slow or dead receiver
never holds up mail. Claims work like the mail queue's: an atomic UPDATE with a lease,
so several workers share the pending callbacks and a dead one's claims come back.

Redirects are not followed: the receiver is the URL the token's admin set, not wherever
it points to. The URL may be an intranet host (that is the point of the feature); who
may set it (admins of the token's scope) is what keeps it from being misused to reach
other internal services (see the README).
"""

import hashlib
import hmac
import logging
import random
import urllib.error
import urllib.request
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from portal.callbacks.models import Callback
from portal.crypto import SecretUnreadable, decrypt
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.i18n.marks import N_
from portal.tokens.models import ApiToken

log = logging.getLogger("portal.callbacks")
SIGNATURE_HEADER = "X-Mailbox-Signature"
MAX_ERROR = 300
# Stored as the last result in English and shown translated on the token page (an
# error the network reports is shown as it came).
NOT_HTTP = N_("the callback URL is not http or https")
NO_URL = N_("the token no longer has a callback URL")
UNREADABLE = N_("the signing secret cannot be decrypted (the encryption key changed)")


def sign(secret: str, raw: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None  # a 3xx is the receiver's answer, reported as such


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, raw: bytes, secret: str, timeout: float) -> tuple[int | None, str | None]:
    """POST ``raw``; (HTTP status, None) for any answer, (None, error) when none came."""
    if not url.lower().startswith(("http://", "https://")):
        return None, NOT_HTTP
    # The scheme is checked just above (and when the URL is set): no file: or ftp:.
    request = urllib.request.Request(url, data=raw, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "User-Agent": "MailboxPortal-Callback/1",
        SIGNATURE_HEADER: sign(secret, raw)})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, str(reason)[:MAX_ERROR] or type(error).__name__


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter, capped: base · 2^(n-1) ±25 %."""
    config = current_app.config
    delay = min(float(config["CALLBACK_RETRY_BASE_SECONDS"]) * 2 ** (attempts - 1),
                float(config["CALLBACK_RETRY_MAX_SECONDS"]))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def claim(claim_id: str, size: int) -> list[int]:
    """Claim up to ``size`` due callbacks (pending, due, unclaimed or lease run out)."""
    now = utcnow()
    lease = now + timedelta(seconds=float(current_app.config["CALLBACK_TIMEOUT"]) * 2 + 30)
    due = and_(Callback.state == "pending", Callback.next_attempt_at <= now,
               or_(Callback.claimed_by.is_(None), Callback.lease_until < now))
    candidates = select(Callback.id).where(due).order_by(Callback.id).limit(size)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    db.session.execute(update(Callback).where(Callback.id.in_(candidates.scalar_subquery()))
                       .values(claimed_by=claim_id, lease_until=lease)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(Callback.id).where(
        Callback.claimed_by == claim_id, Callback.state == "pending").order_by(Callback.id)))


def _attempt(callback: Callback, token: ApiToken | None) -> tuple[int | None, str | None]:
    if token is None or not token.callback_url:
        return None, NO_URL
    try:
        secret = decrypt(token.callback_secret_encrypted or "")
    except SecretUnreadable:
        return None, UNREADABLE
    return post(token.callback_url, callback.body.encode(), secret,
                float(current_app.config["CALLBACK_TIMEOUT"]))


def _record(callback: Callback, token: ApiToken | None, status, error) -> None:
    """Store one attempt's result on the callback and as the token's last result."""
    now = utcnow()
    callback.attempts += 1
    callback.claimed_by = callback.lease_until = None
    callback.last_status, callback.last_error = status, error
    if status is not None and 200 <= status < 300:
        callback.state, callback.delivered_at = "delivered", now
    elif callback.attempts >= int(current_app.config["CALLBACK_MAX_ATTEMPTS"]) or (
            token is None or not token.callback_url):
        callback.state = "failed"
    else:
        callback.next_attempt_at = now + backoff(callback.attempts)
    if token is not None:
        token.callback_last_at, token.callback_last_status = now, status
        token.callback_last_error = error


def deliver_one(pk: int, claim_id: str) -> bool:
    """POST one claimed callback and record the result; True when the receiver took it."""
    callback = db.session.get(Callback, pk)
    if callback is None or callback.claimed_by != claim_id or callback.state != "pending":
        return False
    token = db.session.get(ApiToken, callback.token_id)
    db.session.commit()  # no transaction held open while waiting for the receiver
    status, error = _attempt(callback, token)
    _record(callback, token, status, error)
    db.session.commit()
    if callback.state != "delivered":
        log.warning("callback %s for message %s: %s", pk, callback.message_pk,
                    f"HTTP {status}" if status is not None else error)
    return callback.state == "delivered"


def deliver_due(claim_id: str, size: int = 50) -> int:
    """One round: claim due callbacks and deliver them one by one; returns how many
    receivers accepted theirs."""
    delivered = 0
    for pk in claim(claim_id, size):
        try:
            delivered += deliver_one(pk, claim_id)
        except Exception:  # one bad callback must not stop the others; its lease recovers it
            log.exception("callback %s failed unexpectedly", pk)
            db.session.rollback()
    return delivered
