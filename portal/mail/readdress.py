"""Stored message bytes sent through another sender: only From changes.

When a message goes through its fallback sender, the bytes recorded at submission are
kept as they are (body, attachments, inline images, Message-ID, Date); only the From
header becomes the fallback's and a Sender header, if any, is dropped. Rebuilding the
message would lose its attachments, which exist only inside those bytes.
"""

from __future__ import annotations

import io
from email.generator import BytesGenerator
from email.message import EmailMessage

from portal.mail.compose import _address, _check_header_lines, _policy_for, check_header
from portal.mail.compose_errors import ComposeError

_REPLACED = (b"from", b"sender")


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header section as (lower-case name, whole field with its folded lines)."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + line + b"\r\n")
        else:
            fields.append((line.split(b":", 1)[0].strip().lower(), line + b"\r\n"))
    return fields


def _from_field(from_address: str, display_name: str) -> bytes:
    """The From field as ``build_message`` writes it (UTF-8 only for a non-ASCII address)."""
    sender = _address("from_address", from_address, check_header("display_name",
                                                                  display_name))
    msg = EmailMessage(policy=_policy_for([sender]))
    msg["From"] = sender
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=msg.policy.clone(linesep="\r\n")).flatten(msg)
    return buffer.getvalue().split(b"\r\n\r\n", 1)[0] + b"\r\n"


def readdress(data: bytes, from_address: str, display_name: str) -> bytes:
    """``data`` (flattened, CRLF) with the From of ``from_address`` / ``display_name``
    in place of its own; every other byte is kept. Raises ``ComposeError`` when the new
    From cannot be written or ``data`` has no header section."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ComposeError("headers", "the stored message has no header section")
    head, body = data[:end + 2], data[end + 2:]
    new_from, out, placed = _from_field(from_address, display_name), [], False
    for name, raw in _fields(head):
        if name in _REPLACED:
            if not placed:
                out.append(new_from)
                placed = True
            continue
        out.append(raw)
    if not placed:
        out.insert(0, new_from)
    result = b"".join(out) + body
    names = [name.decode("ascii", "replace") for name, _raw in _fields(b"".join(out))]
    _check_header_lines(result, names)
    return result
