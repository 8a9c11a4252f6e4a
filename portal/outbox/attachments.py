"""The portal's rules for attachments: which types may go out, and how large a message
may be. The files themselves are checked and written by ``portal.mail.attachments``.

A message's limit is its sender's ``max_message_bytes`` (presets fill the provider's
documented limit), else ``MAX_MESSAGE_BYTES`` (25 MB); it counts the whole encoded message,
so base64 makes a file about a third larger than on disk. Request bodies that carry files
(the compose page, the API) may be as large as the largest limit of any sender, plus
``API_MAX_BODY`` for the rest.
"""

from collections.abc import Sequence

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.mail.attachments import Attachment, encoded_size, guess_type, is_executable
from portal.outbox.errors import SubmitError
from portal.senders.models import Sender

MAX_ATTACHMENTS = 100
# Endpoints that take files, with the setting that bounds the rest of their body.
UPLOAD_ENDPOINTS = {"api.create_message": "API_MAX_BODY", "outbox.send": "MAX_CONTENT_LENGTH"}
MB = 1024 * 1024


def megabytes(size: int) -> str:
    """``size`` bytes in MB for people: ``25``, ``24.5``."""
    return f"{size / MB:.1f}".removesuffix(".0")


def message_limit(sender: Sender) -> int:
    """The largest encoded message this sender takes, in bytes."""
    return sender.max_message_bytes or int(current_app.config["MAX_MESSAGE_BYTES"])


def largest_limit() -> int:
    """The largest message any sender takes: how much a request may upload."""
    largest = db.session.scalar(select(func.max(Sender.max_message_bytes)))
    return max(largest or 0, int(current_app.config["MAX_MESSAGE_BYTES"]))


def from_upload(part: FileStorage) -> Attachment:
    """An uploaded file part as an attachment: the name without folders (old browsers
    send the whole path), the part's type unless it is the generic
    ``application/octet-stream`` (then guessed from the name)."""
    name = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    given = (part.mimetype or "").lower()
    kind = given if given not in ("", "application/octet-stream") else guess_type(name)
    return Attachment(filename=name, content=part.read(), content_type=kind)


def upload_limit() -> int | None:
    """How large the current request's body may be: the endpoints that take files allow
    the largest message a sender takes on top of their usual limit (None: the usual
    ``MAX_CONTENT_LENGTH``)."""
    base = UPLOAD_ENDPOINTS.get(request.endpoint or "")
    return None if base is None else int(current_app.config[base]) + largest_limit()


def allow_uploads() -> None:
    """Before any hook reads the body (the CSRF and NUL checks do), lift the body limit
    of the endpoints that take files (no need, and no query, for a small body)."""
    base = UPLOAD_ENDPOINTS.get(request.endpoint or "")
    if base is None or (request.content_length is not None
                        and request.content_length <= int(current_app.config[base])):
        return
    request.max_content_length = upload_limit()


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
