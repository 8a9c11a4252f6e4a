"""``/api/v1``: send mail and read its record, authenticated by ``Authorization: Bearer``.

Exempt from CSRF (there is no cookie session to ride on: every call carries its
token). Errors are JSON ``{"error": {"code", "message"[, "field"]}}``, the message in
the ``Accept-Language`` language, code and field stable English identifiers; unknown
routes and methods under ``/api/`` get JSON from ``portal.errors`` as well.
"""

import hashlib

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import bodies, schema
from portal.api.schema import ApiError
from portal.extensions import csrf, db
from portal.outbox import cancel as cancelling
from portal.outbox.actors import Actor
from portal.outbox.intake import reused_key_error, submit_batch
from portal.outbox.lifecycle import PENDING
from portal.outbox.models import Message
from portal.outbox.service import SubmitError, submit
from portal.security import BODY_LIMITS
from portal.tokens.service import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
BATCH_LIMIT = "API_BATCH_MAX_BODY"
BODY_LIMITS["api.create_batch"] = BATCH_LIMIT


def _error(error: ApiError):
    response = jsonify(error.body())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return _error(error)


@bp.errorhandler(SubmitError)
def _submit_error(error: SubmitError):
    db.session.rollback()
    response = _error(ApiError(error.status, error.code, error.message, error.field))
    if error.retry_after is not None:  # a quota: when trying again can work
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exception):
    limit = BODY_LIMITS.get(request.endpoint)
    return _error(bodies.payload_too_large(current_app.config[limit] if limit else None))


@bp.before_request
def _authenticate():
    """Every call needs an active token; ``g.api_token`` is the caller from here on."""
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    token = authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, "unauthorized", _(
            "Send a valid API token as “%(header)s”; this one is missing, unknown or revoked.",
            header="Authorization: Bearer TOKEN"))
    if db.session.is_modified(token):  # last_used_at, refreshed once a minute at most
        db.session.commit()  # keep it even if the call fails later
    g.api_token = token


def _earlier(key: str | None) -> Message | None:
    """The message this token already sent with this Idempotency-Key, if any."""
    if key is None:
        return None
    return db.session.scalar(select(Message).where(Message.token_id == g.api_token.id,
                                                   Message.idempotency_key == key))


def _answer(message: Message, replayed: bool = False):
    """202 while the message waits for the worker (or another request, or a retry of
    deferred recipients), 200 with the outcome once it is final."""
    pending = message.status in PENDING
    response = jsonify(schema.result(message))
    response.status_code = 202 if pending else 200
    response.headers["Location"] = url_for("api.get_message", message_id=message.id)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/messages")
def create_message():
    """Send (immediate) or queue (deferred) one message; see DESIGN §5 for the fields.

    Unknown body fields are refused with 422 ``unknown_field``. With an
    ``Idempotency-Key``, a repeat from the same token answers with the first
    message (header ``Idempotent-Replayed: true``) and sends nothing; two
    simultaneous repeats are settled by the database's unique index.
    """
    key = schema.idempotency_key(request.headers.get("Idempotency-Key"))
    data, uploads = bodies.message_body()
    sub = schema.submission(data, key)
    if uploads:
        sub.attachments.extend(uploads)
        if key is not None:  # the file parts are part of the request's content too
            sub.idempotency_fingerprint = schema.fingerprint({**data, "file parts": [
                [a.filename, hashlib.sha256(a.content).hexdigest()] for a in uploads]})
    earlier = _earlier(key)
    if earlier is not None:
        return _replay(earlier, sub)
    try:
        message = submit(Actor.for_token(g.api_token), sub, request.remote_addr)
    except IntegrityError:
        db.session.rollback()
        earlier = _earlier(key)
        if earlier is None:
            raise
        return _replay(earlier, sub)
    return _answer(message)


def _replay(earlier: Message, sub):
    """The first message again, unless the key now comes with different content: that
    is a client bug (a reused key), answered 409 as payment APIs do."""
    if earlier.idempotency_fingerprint not in (None, sub.idempotency_fingerprint):
        raise reused_key_error(earlier.id, "Idempotency-Key")
    return _answer(earlier, replayed=True)


@bp.post("/messages/batch")
def create_batch():
    """Queue up to 1,000 messages in one call; each item is checked like ``POST
    /messages`` and answered on its own, in order (200 even when some items failed)."""
    items = schema.batch_items(bodies.batch_body())
    parsed = []
    for item in items:
        try:
            parsed.append(schema.batch_item(item))
        except ApiError as error:
            parsed.append({"error": {"code": error.code, "message": str(error.message),
                                     "field": error.field}})
    results = submit_batch(Actor.for_token(g.api_token), parsed, request.remote_addr)
    return jsonify({"messages": results})


def _visible(message_id: int) -> Message:
    """The message if this token may see it (a team token: its team's only), else 404."""
    message = db.session.scalar(select(Message).where(
        Message.id == message_id, Message.visible_to(Actor.for_token(g.api_token))))
    if message is None:
        raise ApiError(404, "not_found", _("There is no message %(id)s this token may see.",
                                           id=message_id))
    return message


@bp.get("/messages/<int:message_id>")
def get_message(message_id: int):
    """One message with its attempts. A team token sees only its team's messages."""
    return jsonify(schema.details(_visible(message_id)))


@bp.delete("/messages/<int:message_id>")
def cancel_message(message_id: int):
    """Cancel a message not yet handed over (queued, scheduled or waiting to retry): 200
    with its record; 409 ``not_cancellable`` once it is being handed over or done."""
    message = _visible(message_id)
    try:
        cancelling.cancel(message, Actor.for_token(g.api_token).label)
    except cancelling.NotCancellable as error:
        db.session.rollback()
        raise ApiError(409, error.code, str(error)) from error
    db.session.commit()
    return jsonify(schema.details(message))
