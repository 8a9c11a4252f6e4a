"""Large base64 bodies (attachments) kept out of the generator's line-by-line work.

``email.generator`` writes a body line by line and copies every part into its parent's
buffer, which for a 20 MB file takes seconds and several times its size in memory. An
attachment's content is therefore encoded once (``Base64Body``: base64, CRLF every 76
characters) and ``flatten_spliced`` lets the generator write the small rest of the
message around a placeholder per body, then copies each body into its place, in a buffer
sized once. The bytes are the same as the generator's own (the tests compare them
parsed); base64 cannot contain a MIME boundary, so boundaries chosen on the rest stay
valid.
"""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Callable
from email.message import Message

_CHUNK = 57 * 16384  # input bytes encoded at a time: whole 76-character lines
_COPY = 1 << 20  # characters copied into the output at a time


class Base64Body(str):
    """An attachment's content as it goes on the wire: base64 lines ending in CRLF. It is
    the part's payload, so reading the message back (``get_content``) works as usual."""


def base64_body(data: bytes) -> Base64Body:
    """``data`` in base64, 76 characters and CRLF per line (RFC 2045)."""
    return Base64Body("".join(
        base64.encodebytes(data[start:start + _CHUNK]).decode("ascii").replace("\n", "\r\n")
        for start in range(0, len(data), _CHUNK)))


def flatten_spliced(msg: Message, generate: Callable[[Message], bytes]) -> bytes:
    """``generate(msg)`` with every ``Base64Body`` written in one copy instead of by the
    generator; without such bodies it is simply ``generate(msg)``."""
    swapped = []
    for part in msg.walk():
        payload = part._payload  # noqa: SLF001 - the generator reads the same attribute
        if isinstance(payload, Base64Body):
            token = f"MBPBODY{secrets.token_hex(16)}"
            swapped.append((part, payload, f"{token}\r\n".encode("ascii")))
            part._payload = token + "\n"  # noqa: SLF001 - restored below
    try:
        skeleton = generate(msg)
    finally:
        for part, payload, _token in swapped:
            part._payload = payload  # noqa: SLF001
    return _splice(skeleton, [(token, body) for _part, body, token in swapped]) \
        if swapped else skeleton


def _splice(skeleton: bytes, bodies: list[tuple[bytes, str]]) -> bytes:
    """The skeleton with each placeholder line replaced by its body."""
    total = len(skeleton) + sum(len(body) - len(token) for token, body in bodies)
    out = io.BytesIO()
    out.seek(total - 1)
    out.write(b"\0")  # the buffer is allocated once, at its final size
    out.seek(0)
    position = 0
    for token, body in bodies:
        found = skeleton.find(token, position)
        if found < 0 or skeleton.find(token, found + 1) >= 0:
            raise ValueError("attachment placeholder missing or repeated")
        out.write(skeleton[position:found])
        for start in range(0, len(body), _COPY):
            out.write(body[start:start + _COPY].encode("ascii"))
        position = found + len(token)
    out.write(skeleton[position:])
    return out.getvalue()
