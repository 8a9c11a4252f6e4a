"""The portal's rules for attachments: which types may go out, and how large a message
may be. The files themselves are checked and written by ``portal.mail.attachments``.

A message's limit is its sender's ``max_message_bytes`` (presets fill the provider's
documented limit), else ``MAX_MESSAGE_BYTES`` (25 MB); it counts the whole encoded message,
so base64 makes a file about a third larger than on disk. Request bodies that carry files
(the compose page, the API) may be as large as the largest limit of a sender the caller may
use, plus their usual limit for the rest, but only once the caller is known: a valid API
token, or a signed-in user with a sender. Anyone else keeps the usual limit, so a stranger's
large body is refused (413) before anything reads it.
"""

from collections.abc import Sequence

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.mail.attachments import Attachment, encoded_size, guess_type, is_executable
from portal.outbox.errors import SubmitError
from portal.security import BODY_LIMITS
from portal.senders.models import Sender

MAX_ATTACHMENTS = 100
# "Send individually" stores every copy with its files: at most this much in all.
MAX_COPIES_BYTES = 200 * 1024 * 1024
# Endpoints that take files, with the setting that bounds the rest of their body.
UPLOAD_ENDPOINTS = {"api.create_message": "API_MAX_BODY", "outbox.send": "MAX_CONTENT_LENGTH"}
MB = 1024 * 1024


def megabytes(size: int) -> str:
    """``size`` bytes in MB for people: ``25``, ``24.5``."""
    return f"{size / MB:.1f}".removesuffix(".0")


def message_limit(sender: Sender) -> int:
    """The largest encoded message this sender takes, in bytes."""
    return sender.max_message_bytes or int(current_app.config["MAX_MESSAGE_BYTES"])


def largest_limit(who) -> int | None:
    """The largest message an enabled sender ``who`` (a user or an ``Actor``) may use
    takes: how much that caller may upload. None when ``who`` may use no sender."""
    limits = db.session.scalars(select(Sender.max_message_bytes).where(
        Sender.enabled.is_(True), Sender.visible_to(who))).all()
    default = int(current_app.config["MAX_MESSAGE_BYTES"])
    return max((limit or default for limit in limits), default=None)


def _caller():
    """Who sends this request, checked before its body is read: the API token's
    ``Actor`` or the signed-in user (None: nobody known, so no larger body)."""
    if request.blueprint == "api":
        from portal.outbox.actors import Actor
        from portal.tokens.service import authenticate

        scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
        token = authenticate(secret.strip()) if scheme.lower() == "bearer" else None
        return None if token is None else Actor.for_token(token)
    return current_user if current_user.is_authenticated else None


def from_upload(part: FileStorage) -> Attachment:
    """An uploaded file part as an attachment: the name without folders (old browsers
    send the whole path), the part's type unless it is the generic
    ``application/octet-stream`` (then guessed from the name)."""
    name = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    given = (part.mimetype or "").lower()
    kind = given if given not in ("", "application/octet-stream") else guess_type(name)
    return Attachment(filename=name, content=part.read(), content_type=kind)


def _fits(limit: int) -> bool:
    """True when the request says its body is at most ``limit`` bytes."""
    return request.content_length is not None and request.content_length <= limit


def upload_limit() -> int | None:
    """How large the current request's body may be when ``allow_uploads`` raised its
    limit (None: it did not, the usual limit holds)."""
    return g.get("upload_limit")


def allow_uploads() -> None:
    """Before any hook reads the body (the CSRF and NUL checks do), lift the body limit
    of the endpoints that take files, only for a known caller and only as far as the
    senders they may use need (no need, and no query, for a small body). The endpoints of
    ``BODY_LIMITS`` (the batch API) get their own limit, likewise only for a known caller."""
    larger = BODY_LIMITS.get(request.endpoint or "")
    if larger is not None:
        if not _fits(int(current_app.config["MAX_CONTENT_LENGTH"])) and _caller() is not None:
            request.max_content_length = int(current_app.config[larger]) + 1
        return
    base = UPLOAD_ENDPOINTS.get(request.endpoint or "")
    if base is None or _fits(int(current_app.config[base])):
        return
    who = _caller()
    largest = None if who is None else largest_limit(who)
    request.max_content_length = int(current_app.config[base])  # a stranger's: unread
    if largest is not None:
        g.upload_limit = request.max_content_length = int(current_app.config[base]) + largest


def check_files(attachments: Sequence[Attachment], field: str = "attachments") -> None:
    """Refuse too many files and, unless allowed, files Windows would run."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise SubmitError("too_many_attachments", _(
            "At most %(num)d attachments per message.", num=MAX_ATTACHMENTS), field)
    if current_app.config["ALLOW_EXECUTABLE_ATTACHMENTS"]:
        return
    for index, attachment in enumerate(attachments):
        if is_executable(attachment.filename):
            raise SubmitError("forbidden_attachment_type", _(
                "“%(name)s” is a program or script (.exe, .bat, .js, .vbs, …): such files "
                "are not sent. Share it through a file server instead, or ask the administrator.",
                name=attachment.filename), f"{field}[{index}].filename")


def too_large(size: int, sender: Sender, field: str = "attachments") -> SubmitError:
    """413 ``message_too_large`` naming the sender's limit in MB."""
    limit = message_limit(sender)
    return SubmitError("message_too_large", _(
        "The message with its attachments is %(size)s MB, more than the %(limit)s MB the "
        "sender “%(name)s” accepts.", size=megabytes(size), limit=megabytes(limit),
        name=sender.name), field, 413)


def check_estimate(attachments: Sequence[Attachment], sender: Sender) -> None:
    """Refuse at once when the files alone, encoded, exceed the sender's limit (before
    the message is built: no memory spent on mail that cannot go)."""
    size = sum(encoded_size(a.size) for a in attachments)
    if attachments and size > message_limit(sender):
        raise too_large(size, sender)


def check_size(raw: bytes, sender: Sender) -> None:
    """Refuse a built message larger than the sender's limit."""
    if len(raw) > message_limit(sender):
        raise too_large(len(raw), sender)


def check_copies(attachments: Sequence[Attachment], copies: int) -> None:
    """Refuse files that, stored once per copy ("Send individually"), would exceed
    ``MAX_COPIES_BYTES`` in all."""
    size = sum(encoded_size(a.size) for a in attachments)
    if copies > 1 and size * copies > MAX_COPIES_BYTES:
        raise SubmitError("individual_attachments_too_large", _(
            "Sending individually stores the attachments once per recipient: %(num)d copies "
            "of %(size)s MB is more than %(limit)s MB in all. Send one message to everyone, "
            "or attach less.", num=copies, size=megabytes(size),
            limit=megabytes(MAX_COPIES_BYTES)), "attachments")
