"""The API's ``attachments``: a JSON list of base64 files, or file parts of a
``multipart/form-data`` request. Shapes only; what may be sent is decided by
``portal.outbox.attachments`` and ``portal.mail.attachments`` for every entry point."""

import base64
import binascii
import hashlib

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from portal.api.errors import ApiError
from portal.mail.attachments import Attachment
from portal.outbox.attachments import from_upload

ITEM_FIELDS = frozenset(("filename", "content_type", "content", "inline", "content_id"))
FIELD = "attachments"


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_type", message, field)


def _string(item: dict, name: str, field: str, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{field}.{name}", _("“%(field)s” must be a string.",
                                            field=f"{field}.{name}"))
    return value


def _content(value: str, field: str) -> bytes:
    """Strict base64 (RFC 4648 alphabet and padding, no line breaks or spaces)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ApiError(422, "invalid_base64", _(
            "“%(field)s” must be the file in base64 (A–Z, a–z, 0–9, + and /, padded with =, "
            "without line breaks).", field=field), field) from error


def _attachment(item, field: str) -> Attachment:
    if not isinstance(item, dict):
        raise _invalid(field, _("“%(field)s” must be an object with “filename” and "
                                "“content”.", field=field))
    unknown = sorted(set(item) - ITEM_FIELDS)
    if unknown:
        raise ApiError(422, "unknown_field", _(
            "Unknown field: %(fields)s. Known fields: %(known)s.",
            fields=", ".join(f"{field}.{name}" for name in unknown),
            known=", ".join(sorted(ITEM_FIELDS))), f"{field}.{unknown[0]}")
    inline = item.get("inline", False)
    if not isinstance(inline, bool):
        raise _invalid(f"{field}.inline", _("“%(field)s” must be true or false.",
                                            field=f"{field}.inline"))
    filename = _string(item, "filename", field, required=True)
    content = _content(_string(item, "content", field, required=True), f"{field}.content")
    return Attachment(filename=filename, content=content,
                      content_type=_string(item, "content_type", field), inline=inline,
                      content_id=_string(item, "content_id", field))


def attachments(value) -> list[Attachment]:
    """``attachments`` of a JSON body (absent or null: none)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(FIELD, _("“%(field)s” must be a list of files.", field=FIELD))
    return [_attachment(item, f"{FIELD}[{index}]") for index, item in enumerate(value)]


def uploaded(parts: list[FileStorage], first: int) -> list[Attachment]:
    """File parts as attachments (``from_upload``), numbered after the ``first`` given in
    the JSON for error fields."""
    for index, part in enumerate(parts, start=first):
        if not part.filename:
            raise ApiError(422, "invalid_attachment", _(
                "“%(field)s” has no file name: send each file as a file part.",
                field=f"{FIELD}[{index}]"), f"{FIELD}[{index}].filename")
    return [from_upload(part) for part in parts]


def without_contents(data: dict) -> dict:
    """``data`` with each attachment's content replaced by its SHA-256 (for fingerprints)."""
    files = data.get(FIELD)
    if not isinstance(files, list):
        return data
    return {**data, FIELD: [
        {**item, "content": hashlib.sha256(str(item.get("content")).encode()).hexdigest()}
        if isinstance(item, dict) else item for item in files]}
