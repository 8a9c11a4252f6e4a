"""``/api/v1``: send mail and read its record, authenticated by ``Authorization: Bearer``.

Exempt from CSRF (there is no cookie session to ride on: every call carries its
token). Errors are JSON ``{"error": {"code", "message"[, "field"]}}``, the message in
the ``Accept-Language`` language, code and field stable English identifiers; unknown
routes and methods under ``/api/`` get JSON from ``portal.errors`` as well.
"""

import hashlib
import json

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import files, schema
from portal.api.schema import ApiError
from portal.extensions import csrf, db
from portal.outbox.actors import Actor
from portal.outbox.attachments import upload_limit
from portal.outbox.lifecycle import PENDING
from portal.outbox.models import Message
from portal.outbox.service import SubmitError, submit
from portal.tokens.service import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


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
    return _error(_payload_too_large())


def _payload_too_large() -> ApiError:
    limit = current_app.config["API_MAX_BODY"]
    return ApiError(413, "payload_too_large", _(
        "The body is larger than %(limit)s bytes (attachments not counted: they may add up "
        "to the largest message a sender takes).", limit=limit))


@bp.before_request
def _authenticate():
    """Every call needs an active token; ``g.api_token`` is the caller from here on."""
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    token = authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, "unauthorized", _(
            "Send a valid API token as “%(header)s”; this one is missing, unknown or revoked.",
            header="Authorization: Bearer TOKEN"))
    db.session.commit()  # keep last_used_at even if the call fails later
    g.api_token = token


def _body() -> tuple[dict, list]:
    """The message fields and its files: a JSON object (files in ``attachments``, base64)
    or ``multipart/form-data`` (a ``message`` part with the JSON, one file part per file).

    The whole body may be ``API_MAX_BODY`` plus the largest message a sender takes; all
    but the files must fit in ``API_MAX_BODY``."""
    limit = current_app.config["API_MAX_BODY"]
    small = request.content_length is not None and request.content_length <= limit
    whole = limit if small else upload_limit()
    if request.content_length is not None and request.content_length > whole:
        raise _payload_too_large()
    if request.mimetype == "multipart/form-data":
        return _multipart(limit, whole)
    if not request.is_json:
        raise ApiError(400, "invalid_json", _("Send the message as a JSON object with "
                                              "“%(header)s”, or as %(multipart)s with a "
                                              "“message” part.",
                                              header="Content-Type: application/json",
                                              multipart="multipart/form-data"))
    # Without a Content-Length (chunked), werkzeug stops quietly at the maximum, so read
    # one byte more than allowed: getting it means the body is too large.
    request.max_content_length = whole + 1
    raw = request.get_data(cache=False)
    if len(raw) > whole:
        raise _payload_too_large()
    data = schema.parse_json(raw)
    if len(raw) > limit and len(raw_fields(data)) > limit:
        raise _payload_too_large()
    return data, []


def raw_fields(data: dict) -> bytes:
    """The body's JSON without the attachments' contents: what ``API_MAX_BODY`` bounds."""
    return json.dumps(files.without_contents(data), ensure_ascii=False).encode()


def _multipart(limit: int, whole: int) -> tuple[dict, list]:
    """``message`` (a field or a file part holding the JSON) and the other file parts."""
    request.max_content_length = whole
    request.max_form_memory_size = limit
    part = request.files.get("message")
    text = part.read(limit + 1) if part is not None else \
        (request.form.get("message") or "").encode()
    if not text:
        raise ApiError(400, "invalid_json", _("Send the message fields as JSON in a "
                                              "“%(part)s” part.", part="message"), "message")
    if len(text) > limit:
        raise _payload_too_large()
    data = schema.parse_json(text)
    uploads = [upload for name, upload in request.files.items(multi=True)
               if name != "message"]
    return data, files.uploaded(uploads, len(data.get("attachments") or []))


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
    data, uploads = _body()
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
        raise ApiError(409, "idempotency_key_reused", _(
            "This %(header)s was already used for a different request (message %(id)s); use "
            "a new key for new content.", header="Idempotency-Key", id=earlier.id),
            "Idempotency-Key")
    return _answer(earlier, replayed=True)


@bp.get("/messages/<int:message_id>")
def get_message(message_id: int):
    """One message with its attempts. A team token sees only its team's messages."""
    message = db.session.scalar(select(Message).where(
        Message.id == message_id, Message.visible_to(Actor.for_token(g.api_token))))
    if message is None:
        raise ApiError(404, "not_found", _("There is no message %(id)s this token may see.",
                                           id=message_id))
    return jsonify(schema.details(message))
