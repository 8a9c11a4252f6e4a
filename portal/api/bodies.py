"""Reading API request bodies within their limits.

``POST /messages`` takes a JSON object (files base64 in ``attachments``) or
``multipart/form-data`` (a ``message`` part with the JSON, one file part per file): the
whole body may be ``API_MAX_BODY`` plus the largest message a sender the token may use
takes, and all but the files must fit in ``API_MAX_BODY``. ``POST /messages/batch`` takes
one JSON object of at most ``API_BATCH_MAX_BODY``. The message's fields are checked for NUL
characters here, once parsed: the app-wide check leaves bodies that large to the endpoint.
"""

import json

from flask import current_app, request
from flask_babel import gettext as _

from portal.api import files, schema
from portal.api.schema import ApiError
from portal.outbox.attachments import upload_limit
from portal.security import NUL_REFUSED, has_nul


def payload_too_large(limit: int | None = None) -> ApiError:
    """413 naming the limit; without one, the message limit (files not counted)."""
    if limit is not None:
        return ApiError(413, "payload_too_large", _(
            "The body is larger than %(limit)s bytes.", limit=limit))
    return ApiError(413, "payload_too_large", _(
        "The body is larger than %(limit)s bytes (attachments not counted: they may add up "
        "to the largest message a sender takes).", limit=current_app.config["API_MAX_BODY"]))


def _read_json(whole: int, limit: int | None = None) -> bytes:
    """The raw JSON body, at most ``whole`` bytes (413 beyond, with ``limit`` named)."""
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
        raise payload_too_large(limit)
    return raw


def message_body() -> tuple[dict, list]:
    """The message fields and its uploaded files (see the module docstring)."""
    limit = current_app.config["API_MAX_BODY"]
    small = request.content_length is not None and request.content_length <= limit
    whole = limit if small else (upload_limit() or limit)
    if request.content_length is not None and request.content_length > whole:
        raise payload_too_large()
    if request.mimetype == "multipart/form-data":
        data, uploads = _multipart(limit, whole)
    else:
        raw = _read_json(whole)
        data, uploads = _fields(raw), []
        if len(raw) > limit and len(raw_fields(data)) > limit:
            raise payload_too_large()
    return data, uploads


def _fields(raw: bytes) -> dict:
    """The parsed JSON object, refused (400) when any text in it holds a NUL."""
    data = schema.parse_json(raw)
    if has_nul(data):
        raise ApiError(400, "bad_request", _(NUL_REFUSED))
    return data


def batch_body() -> dict:
    """A batch's JSON object, read no further than ``API_BATCH_MAX_BODY``."""
    limit = current_app.config["API_BATCH_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise payload_too_large(limit)
    return schema.parse_json(_read_json(limit, limit))


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
        raise payload_too_large()
    data = _fields(text)
    uploads = [upload for name, upload in request.files.items(multi=True)
               if name != "message"]
    listed = data.get("attachments")  # not a list: refused with its own 422 later
    return data, files.uploaded(uploads, len(listed) if isinstance(listed, list) else 0)
