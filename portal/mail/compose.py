"""Building the outgoing ``EmailMessage``: headers checked against injection, HTML + text."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from email._header_value_parser import get_addr_spec
from email.errors import HeaderParseError, NonASCIILocalPartDefect
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from portal.i18n.marks import N_
from portal.mail import policies as policy
from portal.mail.attachments import Attachment, add_attachments
from portal.mail.bodies import flatten_spliced
from portal.mail.compose_errors import (  # ComposeError: imported from here as well
    NOT_AN_ADDRESS,
    ONE_LINE,
    ComposeError,
    HeaderInjectionError,
    InvalidAddressError,
)
from portal.mail.htmltext import html_to_text

__all__ = ["ComposeError", "HeaderInjectionError", "InvalidAddressError", "build_message",
           "check_header", "decoded_header", "envelope_recipients", "flatten_message"]

# C0 controls (tab allowed), DEL, and the characters Python treats as line breaks.
_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
MAX_MSGID_DOMAIN = 200


def decoded_header(value: str) -> str:
    """``value`` as a header will carry it: RFC 2047 encoded words (``=?utf-8?b?…?=``)
    decoded, as ``EmailMessage`` decodes them on assignment. Raises ``ValueError`` when
    the value cannot be read as a header at all."""
    if "=?" not in value:
        return value
    try:
        return str(policy.SMTP.header_factory("Subject", value))
    except Exception as error:  # the parser raises many types on hostile input
        raise ValueError(value) from error


def check_header(field: str, value: str) -> str:
    """Return ``value`` unchanged, or raise if it could smuggle extra header lines:
    control characters in the value itself or in what its encoded words decode to
    (interpreters without the CVE-2024-6923 fix write decoded CR/LF out raw)."""
    value = value or ""
    if _FORBIDDEN.search(value):
        raise HeaderInjectionError(field, ONE_LINE, field=field)
    try:
        hidden = _FORBIDDEN.search(decoded_header(value))
    except ValueError:
        hidden = True
    if hidden:
        raise HeaderInjectionError(
            field, N_("%(field)s must be one line: it contains an encoded word (=?…?=) that "
                      "hides a line break or control character"), field=field)
    return value


def _address(field: str, value: str, display_name: str = "") -> Address:
    """Parse one bare address (``#`` and ``&`` in the local part are fine).

    A non-ASCII local part (``用户@corp.internal``, RFC 6531) is accepted: the message is
    then written with UTF-8 headers and sent with SMTPUTF8. Every other defect refuses it.
    """
    check_header(field, value)
    value = value.strip()
    try:
        spec, rest = get_addr_spec(value)
        defects = [d for d in spec.all_defects if not isinstance(d, NonASCIILocalPartDefect)]
        if rest or defects:
            raise ValueError(value)
        address = Address(display_name=display_name, username=spec.local_part,
                          domain=spec.domain)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise InvalidAddressError(field, NOT_AN_ADDRESS, field=field, value=repr(value)) from exc
    if not address.username or not address.domain or "@" not in value:
        raise InvalidAddressError(field, NOT_AN_ADDRESS, field=field, value=repr(value))
    return address


def envelope_recipients(
    to: Iterable[str], cc: Iterable[str] = (), bcc: Iterable[str] = ()
) -> list[str]:
    """All envelope recipients (To, Cc and Bcc), without duplicates, in order."""
    seen: set[str] = set()
    result = []
    for raw in (*to, *cc, *bcc):
        address = raw.strip()
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            result.append(address)
    return result


def build_message(
    *,
    from_address: str,
    display_name: str,
    to: list[str],
    cc: Iterable[str] = (),
    bcc: Iterable[str] = (),
    subject: str,
    html: str,
    text: str | None = None,
    message_id: str | None = None,
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Compose a multipart/alternative mail (plain text + HTML) ready for SMTP.

    Bcc addresses are only validated here: they belong in the envelope
    (``envelope_recipients``), never in a header. When an address written into a header
    is not ASCII, the message uses ``policy.SMTPUTF8`` (UTF-8 headers, RFC 6532), the
    only correct form for it; ``flatten_message`` then writes those bytes. Attachments:
    ``portal.mail.attachments``."""
    check_header("display_name", display_name)
    sender = _address("from_address", from_address, display_name)
    recipients = {name: [_address(name, a) for a in values]
                  for name, values in (("to", to), ("cc", cc), ("bcc", bcc))}
    if not recipients["to"] and not recipients["cc"] and not recipients["bcc"]:
        raise InvalidAddressError("to", N_("at least one recipient is required"))
    reply_address = _address("reply_to", reply_to) if reply_to else None
    msg = EmailMessage(policy=_policy_for(
        [sender, reply_address, *recipients["to"], *recipients["cc"]]))
    msg["Subject"] = check_header("subject", subject)
    _address_headers(msg, sender, recipients, reply_address)
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = check_header("message_id", message_id) if message_id \
        else make_msgid(domain=_msgid_domain(sender.domain))
    msg.set_content(text if text is not None else html_to_text(html))
    msg.add_alternative(html, subtype="html")
    _check_carried(msg)
    add_attachments(msg, attachments)
    return msg


def _address_headers(msg: EmailMessage, sender: Address, recipients: dict,
                     reply_address: Address | None) -> None:
    """From, To, Cc (when there are any; Bcc never) and Reply-To."""
    msg["From"] = sender
    for name, header in (("to", "To"), ("cc", "Cc")):
        if recipients[name]:
            msg[header] = recipients[name]
    if reply_address is not None:
        msg["Reply-To"] = reply_address


_FIELD_OF_HEADER = {"subject": "subject", "from": "display_name", "to": "to", "cc": "cc",
                    "reply-to": "reply_to", "message-id": "message_id"}


def _check_carried(msg: EmailMessage) -> None:
    """Every header value as the message carries it (parsed, encoded words decoded) is
    one line: the values were checked on the way in, this checks what they became."""
    for name, value in msg.items():
        field = _FIELD_OF_HEADER.get(name.lower(), name)
        if _FORBIDDEN.search(str(value)):
            raise HeaderInjectionError(field, ONE_LINE, field=field)


def _policy_for(in_headers: list[Address | None]):
    """``SMTPUTF8`` when an address written into a header is not ASCII, else ``SMTP``."""
    utf8 = any(a is not None and not a.addr_spec.isascii() for a in in_headers)
    return policy.SMTPUTF8 if utf8 else policy.SMTP


def _msgid_domain(domain: str) -> str:
    """The sender's domain (IDN in its ASCII form), unless it would make the Message-ID
    longer than records keep (255 characters) or cannot be written in ASCII; then a
    fixed local name keeps the ID unique all the same."""
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return "mailbox-portal.invalid"
    return domain if len(domain) <= MAX_MSGID_DOMAIN else "mailbox-portal.invalid"


def flatten_message(msg: EmailMessage, utf8: bool | None = None) -> bytes:
    """Serialise for DATA: CRLF line ends, Bcc/Resent-Bcc removed.

    The bytes are what every attempt sends (the outbox stores them once). Headers are
    UTF-8 when the message's policy says so (``build_message`` chose ``SMTPUTF8``) or
    ``utf8`` is true; ``utf8=False`` forces RFC 2047 encoded words.
    """
    if msg["Bcc"] is not None or msg["Resent-Bcc"] is not None:
        msg = copy.copy(msg)  # deleting rebinds the header list, the caller's copy is kept
        del msg["Bcc"]
        del msg["Resent-Bcc"]
    out_policy = msg.policy.clone(linesep="\r\n")
    if utf8 is not None:
        out_policy = out_policy.clone(utf8=utf8)
    data = flatten_spliced(msg, lambda whole: _generate(whole, out_policy))
    _check_header_lines(data, [name for name in msg.keys() if name.lower() != "bcc"])
    return data


def _generate(msg: EmailMessage, out_policy) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=out_policy).flatten(msg, linesep="\r\n")
    return buffer.getvalue()


_HEADER_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def _check_header_lines(data: bytes, written: list[str]) -> None:
    """The flattened header section holds exactly the headers the portal wrote.

    The last line of defence against injection: whatever got past the value checks, a
    header line or a blank line that the portal did not write refuses the message."""
    end = data.find(b"\r\n\r\n")
    section = data[:end] if end >= 0 else data
    found = []
    for line in section.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the header above
        match = _HEADER_NAME.match(line)
        found.append(match.group(1).decode("ascii").lower() if match else "?")
    if sorted(found) != sorted(name.lower() for name in written):
        raise HeaderInjectionError(
            "headers", N_("the message would carry header lines the portal did not write; "
                          "a value must contain line breaks hidden in it"))
