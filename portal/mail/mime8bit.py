"""8-bit message data on the wire: what a payload needs, and 7-bit conversion.

``build_message`` writes text parts as ``Content-Transfer-Encoding: 8bit`` when that is
shortest (policy ``SMTP`` has ``cte_type='8bit'``), and messages with non-ASCII
addresses carry UTF-8 headers (RFC 6532). Such bytes may only cross SMTP with
``BODY=8BITMIME`` (RFC 6152) or ``SMTPUTF8`` (RFC 6531); for a server that offers
neither 8BITMIME nor needs it, ``to_7bit`` re-encodes the 8-bit parts so the message
still arrives intact.
"""

from __future__ import annotations

import base64
import quopri
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

# Parsed headers are written back exactly as they came (never refolded).
_PASS_THROUGH = policy.SMTP.clone(refold_source="none")
_EIGHT_BIT = ("8bit", "binary")


def is_8bit(data: bytes) -> bool:
    """True when any byte is >= 0x80."""
    return not data.isascii()


def header_section(payload: bytes) -> bytes:
    """The top-level header section (everything before the first empty line)."""
    end = payload.find(b"\r\n\r\n")
    return payload if end < 0 else payload[:end]


def needs_smtputf8(payload: bytes, addresses: list[str]) -> bool:
    """True when an envelope address or the header section is not ASCII (RFC 6531)."""
    return any(not address.isascii() for address in addresses) or is_8bit(
        header_section(payload))


def _reencode(part: Message) -> None:
    """Re-encode one 8-bit leaf part: quoted-printable for text, base64 otherwise."""
    raw = part.get_payload(decode=True) or b""
    if part.get_content_maintype() == "text":
        # CRLF as LF first: quopri would encode the CR of every line as =0D.
        body = quopri.encodestring(raw.replace(b"\r\n", b"\n"), quotetabs=False)
        cte = "quoted-printable"
    else:
        body = base64.encodebytes(raw)
        cte = "base64"
    part.set_payload(body.decode("ascii"))
    if part["Content-Transfer-Encoding"] is None:
        part["Content-Transfer-Encoding"] = cte
    else:  # in place, so the part's headers keep their order
        part.replace_header("Content-Transfer-Encoding", cte)


def to_7bit(payload: bytes) -> bytes:
    """The same message with every 8-bit body part re-encoded as 7-bit.

    Headers (Message-ID included) are copied unchanged and the decoded text of every
    part stays the same; only the transfer encoding of 8-bit parts changes. Bytes
    outside any 8-bit body (8-bit headers) are left alone: they need SMTPUTF8.
    """
    msg = message_from_bytes(payload, policy=_PASS_THROUGH)
    changed = False
    for part in msg.walk():
        if part.is_multipart():
            continue
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        body = part.get_payload()
        if cte in _EIGHT_BIT or (isinstance(body, str) and not body.isascii()):
            _reencode(part)
            changed = True
    if not changed:
        return payload
    buffer = BytesIO()
    BytesGenerator(buffer, policy=_PASS_THROUGH.clone(linesep="\r\n")).flatten(msg)
    return buffer.getvalue()
