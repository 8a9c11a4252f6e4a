"""Attachments and inline images: checked, then written so every mail client names them.

Each file's name is written twice, because clients read different parameters:
``Content-Disposition: attachment; filename*=utf-8''…`` (RFC 2231, read by Thunderbird,
Apple Mail and Gmail) and ``Content-Type: …; name="=?utf-8?b?…?="`` (an RFC 2047 encoded
word, the form Outlook, Foxmail and QQ Mail read: without it QQ Mail shows the file as
``tcmime.*.bin``). The standard library writes only the first, and re-encodes any
``name`` it is given as RFC 2231, so both headers are written here as pre-folded lines
(``set_raw``) the generator keeps as they are: every line fits in 78 characters.

Header values written raw skip the library's own checks, so names, content types and
content IDs are checked here first: no control characters, no line breaks (interpreters
without the CVE-2024-6923 fix do not guard against them).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from portal.i18n.marks import N_
from portal.mail.bodies import base64_body
from portal.mail.compose_errors import ComposeError

MAX_FILENAME = 255
MAX_CONTENT_ID = 200
LINE = 78  # RFC 5322's recommended line length; the generator keeps lines that fit
# Windows and mail clients run these on a double click: refused unless allowed. Besides
# programs and scripts, the pure carriers malware is mailed in: disk images Windows mounts
# (iso, img, vhd, vhdx), archives and notebooks that open or run what they hold (cab,
# diagcab, one), and shortcuts to programs or remote files (url, website, appref-ms,
# application, settingcontent-ms, library-ms, searchconnector-ms). Office documents with
# macros (docm, xlsm) and HTML or SVG stay allowed: they are ordinary business files,
# opened in programs that guard their active content themselves.
EXECUTABLE_EXTENSIONS = frozenset((
    "ade", "adp", "app", "application", "appref-ms", "appx", "bas", "bat", "cab", "chm",
    "cmd", "com", "cpl", "diagcab", "dll", "exe", "gadget", "hta", "img", "inf", "ins",
    "iso", "isp", "jar", "js", "jse", "library-ms", "lnk", "mde", "msc", "msi", "msix",
    "msp", "mst", "one", "pif", "ps1", "ps1xml", "psc1", "psm1", "reg", "scf", "scr", "sct",
    "searchconnector-ms", "settingcontent-ms", "shb", "sys", "url", "vb", "vbe", "vbs",
    "vhd", "vhdx", "vxd", "website", "ws", "wsc", "wsf", "wsh", "xll",
))
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_NAME = r"[A-Za-z0-9!#$&^_.+-]{1,127}"
_CONTENT_TYPE = re.compile(rf"^({_NAME})/({_NAME})$")
_CONTENT_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+$")
# Characters RFC 2231 lets stand for themselves in an extended value (attribute-char).
_ATTR_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        b"!#$&+-.^_`|~")
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: ' name="' + the word stays within LINE
_OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class Attachment:
    """One file to attach; ``inline`` ones are images the HTML shows as ``cid:content_id``."""

    filename: str
    content: bytes
    content_type: str | None = None  # guessed from the name when not given
    inline: bool = False
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


def guess_type(filename: str) -> str:
    """The content type a file name suggests, ``application/octet-stream`` when unknown."""
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    return guessed or _OCTET_STREAM


def is_executable(filename: str) -> bool:
    """True for a name Windows would run (``.exe``, ``.js``, … even as ``report.pdf.exe``
    or with trailing dots and spaces, which Windows drops)."""
    stem = filename.rstrip(". ").lower()
    return "." in stem and stem.rsplit(".", 1)[1] in EXECUTABLE_EXTENSIONS


def encoded_size(content_length: int) -> int:
    """How many bytes ``content_length`` bytes take in the mail: base64 with CRLF every
    76 characters."""
    chars = 4 * ((content_length + 2) // 3)
    return chars + 2 * ((chars + 75) // 76)


def check_attachment(attachment: Attachment, field: str) -> str:
    """The attachment's content type (given or guessed), or ``ComposeError`` naming
    ``field.filename``, ``field.content_type`` or ``field.content_id``."""
    name = attachment.filename
    if not name or not name.strip():
        raise ComposeError(f"{field}.filename", N_("%(field)s: enter a file name"),
                           field=f"{field}.filename")
    if _CONTROL.search(name) or len(name) > MAX_FILENAME or "/" in name or "\\" in name:
        raise ComposeError(f"{field}.filename", N_(
            "%(field)s must be one line of at most %(limit)s characters, without control "
            "characters or folder names (/ or \\)"), field=f"{field}.filename",
            limit=MAX_FILENAME)
    content_type = (attachment.content_type or guess_type(name)).strip().lower()
    if not _CONTENT_TYPE.match(content_type):
        raise ComposeError(f"{field}.content_type", N_(
            "%(field)s must be a media type like application/pdf, without parameters"),
            field=f"{field}.content_type")
    if attachment.inline and not (attachment.content_id
                                  and len(attachment.content_id) <= MAX_CONTENT_ID
                                  and _CONTENT_ID.match(attachment.content_id)):
        raise ComposeError(f"{field}.content_id", N_(
            "%(field)s: an inline file needs a content ID of at most %(limit)s letters, digits "
            "and .@-_ signs, the name the HTML uses after cid:"), field=f"{field}.content_id",
            limit=MAX_CONTENT_ID)
    return content_type


def add_attachments(msg: EmailMessage, attachments: Sequence[Attachment],
                    field: str = "attachments") -> None:
    """Attach the files to a message built by ``build_message``: inline images in a
    ``multipart/related`` with the HTML, the others after it (``multipart/mixed``)."""
    types = [check_attachment(a, f"{field}[{i}]") for i, a in enumerate(attachments)]
    if not types:
        return
    ids = [a.content_id for a in attachments if a.inline]
    if len(set(ids)) != len(ids):
        index = next(i for i, a in enumerate(attachments)
                     if a.inline and ids.count(a.content_id) > 1)
        raise ComposeError(f"{field}[{index}].content_id", N_(
            "%(field)s: each inline file needs its own content ID"),
            field=f"{field}[{index}].content_id")
    html = _html_part(msg) if ids else None
    for attachment, content_type in zip(attachments, types, strict=True):
        maintype, subtype = content_type.split("/")
        if attachment.inline:
            html.add_related(b"", maintype=maintype, subtype=subtype)
            part = html.get_payload()[-1]
            del html["MIME-Version"]  # the library adds one to the new multipart/related
        else:
            msg.add_attachment(b"", maintype=maintype, subtype=subtype)
            part = msg.get_payload()[-1]
        part.set_payload(base64_body(attachment.content))
        _write_headers(part, attachment, content_type)


def _html_part(msg: EmailMessage) -> EmailMessage:
    """The HTML alternative of a ``build_message`` mail (inline images go beside it)."""
    part = msg.get_body(preferencelist=("related", "html"))
    if part is None:  # pragma: no cover - build_message always writes an HTML part
        raise ComposeError("html", N_("inline files need an HTML body"))
    return part


class _Prefolded(str):
    """A header value the generator writes exactly as these lines (``policy.fold`` calls a
    value's own ``fold`` when it has a ``name``). As a string it is the unfolded value, so
    reading the header (``get_filename``, ``get_content_type``) works as usual."""

    def __new__(cls, name: str, lines: list[str]):
        value = super().__new__(cls, "".join(lines))
        value.name, value.lines = name, lines
        return value

    def fold(self, *, policy) -> str:
        return f"{self.name}: " + policy.linesep.join(self.lines) + policy.linesep


def _set(part: EmailMessage, name: str, lines: list[str]) -> None:
    part.set_raw(name, _Prefolded(name, lines))


def _write_headers(part: EmailMessage, attachment: Attachment, content_type: str) -> None:
    """Replace the library's headers of a new part with the portal's: both file-name
    forms, the transfer encoding, and the content ID of an inline file."""
    for name in ("Content-Type", "Content-Disposition", "Content-Transfer-Encoding",
                 "Content-ID", "MIME-Version"):
        del part[name]
    disposition = "inline" if attachment.inline else "attachment"
    _set(part, "Content-Type", [content_type + ";", *name_lines("name", attachment.filename)])
    _set(part, "Content-Transfer-Encoding", ["base64"])
    _set(part, "Content-Disposition",
         [disposition + ";", *filename_lines("filename", attachment.filename)])
    if attachment.inline:
        _set(part, "Content-ID", [f"<{attachment.content_id}>"])


def _quoted(param: str, value: str) -> str | None:
    """`` param="value"`` when the value is plain ASCII and the line fits, else None."""
    if not value.isascii() or _CONTROL.search(value):
        return None
    line = ' {}="{}"'.format(param, value.replace("\\", "\\\\").replace('"', '\\"'))
    return line if len(line) <= LINE else None


def name_lines(param: str, value: str) -> list[str]:
    """The header lines of ``param`` as RFC 2047 encoded words in one quoted string, one
    word per line (the whitespace between adjacent words is not part of the value)."""
    plain = _quoted(param, value)
    if plain is not None:
        return [plain]
    words = [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="
             for chunk in _utf8_chunks(value, _WORD_BYTES)]
    lines = [f" {word}" for word in words]
    lines[0] = f' {param}="{words[0]}'
    lines[-1] += '"'
    return lines


def filename_lines(param: str, value: str) -> list[str]:
    """The header lines of ``param`` in RFC 2231 form: ``param*=utf-8''%E9…``, split into
    ``param*0*=``, ``param*1*=`` … continuations when it does not fit on one line (never
    inside a character: some clients decode each piece on its own)."""
    plain = _quoted(param, value)
    if plain is not None:
        return [plain]
    pieces = ["".join(chr(b) if b in _ATTR_CHARS else f"%{b:02X}" for b in char.encode())
              for char in value]
    single = f" {param}*=utf-8''" + "".join(pieces)
    if len(single) <= LINE:
        return [single]
    lines = [f" {param}*0*=utf-8''"]
    for piece in pieces:
        if len(lines[-1]) + len(piece) + 1 > LINE:  # room for the ";" ending the line
            lines.append(f" {param}*{len(lines)}*=")
        lines[-1] += piece
    return [line + ";" for line in lines[:-1]] + lines[-1:]


def _utf8_chunks(value: str, limit: int) -> Iterable[bytes]:
    """``value`` as UTF-8 in pieces of at most ``limit`` bytes, never splitting a
    character (each encoded word must decode on its own)."""
    chunk = b""
    for char in value:
        encoded = char.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > limit:
            yield chunk
            chunk = b""
        chunk += encoded
    if chunk:
        yield chunk


def summary(attachments: Iterable[Attachment]) -> list[dict]:
    """What the records keep of each file: name, size in bytes, content type, inline."""
    return [{"filename": a.filename, "size": a.size,
             "content_type": (a.content_type or guess_type(a.filename)).strip().lower(),
             "inline": a.inline} for a in attachments]
