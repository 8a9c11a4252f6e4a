"""Building the outgoing ``EmailMessage``: headers checked against injection, HTML + text."""

from __future__ import annotations

import copy
import html as html_lib
import io
import re
from collections.abc import Iterable
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser

TEST_MAIL_SUBJECT = "Mail server configured successfully"

# C0 controls (tab allowed), DEL, and the characters Python treats as line breaks.
_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_BLOCK_TAGS = frozenset(
    "address article aside blockquote div dl dt dd figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tr ul".split()
)
_SKIP_TAGS = frozenset(("head", "script", "style", "title", "template"))
_PARAGRAPHS = frozenset(("p", "table", "ul", "ol", "pre", "blockquote"))


MAX_MSGID_DOMAIN = 200


class ComposeError(ValueError):
    """A value that cannot go into a mail; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class HeaderInjectionError(ComposeError):
    """A header value contains CR, LF or another control character."""


class InvalidAddressError(ComposeError):
    """A value that should be an e-mail address is not one."""


def check_header(field: str, value: str) -> str:
    """Return ``value`` unchanged, or raise if it could smuggle extra header lines."""
    if _FORBIDDEN.search(value or ""):
        raise HeaderInjectionError(
            field, f"{field} must not contain line breaks or control characters"
        )
    return value


def _address(field: str, value: str, display_name: str = "") -> Address:
    """Parse one bare address (``#`` and ``&`` in the local part are fine)."""
    check_header(field, value)
    value = value.strip()
    try:
        address = Address(display_name=display_name, addr_spec=value)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise InvalidAddressError(field, f"{field}: {value!r} is not a valid address") from exc
    if not address.username or not address.domain or "@" not in value:
        raise InvalidAddressError(field, f"{field}: {value!r} is not a valid address")
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
) -> EmailMessage:
    """Compose a multipart/alternative mail (plain text + HTML) ready for SMTP.

    Bcc addresses are only validated here: they belong in the envelope
    (``envelope_recipients``), never in a header.
    """
    check_header("display_name", display_name)
    sender = _address("from_address", from_address, display_name)
    recipients = {name: [_address(name, a) for a in values]
                  for name, values in (("to", to), ("cc", cc), ("bcc", bcc))}
    if not recipients["to"] and not recipients["cc"] and not recipients["bcc"]:
        raise InvalidAddressError("to", "at least one recipient is required")
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = check_header("subject", subject)
    msg["From"] = sender
    if recipients["to"]:
        msg["To"] = recipients["to"]
    if recipients["cc"]:
        msg["Cc"] = recipients["cc"]
    if reply_to:
        msg["Reply-To"] = _address("reply_to", reply_to)
    msg["Date"] = format_datetime(datetime.now().astimezone())
    if message_id:
        msg["Message-ID"] = check_header("message_id", message_id)
    else:
        msg["Message-ID"] = make_msgid(domain=_msgid_domain(sender.domain))
    msg.set_content(text if text is not None else html_to_text(html))
    msg.add_alternative(html, subtype="html")
    return msg


def _msgid_domain(domain: str) -> str:
    """The sender's domain, unless it would make the Message-ID longer than records keep
    (255 characters); then a fixed local name keeps the ID unique all the same."""
    return domain if len(domain) <= MAX_MSGID_DOMAIN else "mailbox-portal.invalid"


def flatten_message(msg: EmailMessage, utf8: bool = False) -> bytes:
    """Serialise for DATA: CRLF line ends, Bcc/Resent-Bcc removed (``utf8`` for SMTPUTF8)."""
    if msg["Bcc"] is not None or msg["Resent-Bcc"] is not None:
        msg = copy.copy(msg)  # deleting rebinds the header list, the caller's copy is kept
        del msg["Bcc"]
        del msg["Resent-Bcc"]
    out_policy = msg.policy.clone(linesep="\r\n")
    if utf8:
        out_policy = out_policy.clone(utf8=True)
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=out_policy).flatten(msg, linesep="\r\n")
    return buffer.getvalue()


class _TextExtractor(HTMLParser):
    """Collects the readable text of an HTML body, with line breaks at block boundaries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._pending = 0  # line breaks owed before the next text
        self._skip = 0
        self._pre = 0
        self._links: list[str | None] = []

    def _break(self, count: int) -> None:
        self._pending = max(self._pending, count)

    def _write(self, text: str) -> None:
        if self._pending and self.parts:
            self.parts.append("\n" * self._pending)
        self._pending = 0
        self.parts.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self._write("\n")
        elif tag in _BLOCK_TAGS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            self._pre += tag == "pre"
            if tag == "li":
                self._write("- ")
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
        elif tag in ("td", "th"):
            self._write("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            self._pre = max(0, self._pre - (tag == "pre"))
        elif tag == "a" and self._links:
            href = self._links.pop()
            if href and href.startswith(("http:", "https:", "mailto:")):
                self._write(f" <{href.removeprefix('mailto:')}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            text = data if self._pre else re.sub(r"\s+", " ", data)
            if text.strip() or self._pre or not self._pending:
                self._write(text)


def html_to_text(html: str) -> str:
    """Derive the plain-text alternative from an HTML body (stdlib ``html.parser`` only)."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def build_test_mail(from_address: str, display_name: str, to: str | list[str]) -> EmailMessage:
    """The "Send test mail" message; its subject avoids words that spam filters punish."""
    recipients = [to] if isinstance(to, str) else list(to)
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    address = html_lib.escape(from_address)
    body = (
        "<p>Hello,</p>"
        "<p>The mail server is configured successfully: this message was sent by the "
        f"Mailbox Portal as <strong>{address}</strong> at {html_lib.escape(when)}.</p>"
        "<p>No action is needed.</p>"
    )
    return build_message(
        from_address=from_address,
        display_name=display_name,
        to=recipients,
        subject=TEST_MAIL_SUBJECT,
        html=body,
    )
