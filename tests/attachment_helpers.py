"""Reading attachments back from received mail, raw headers included."""

import re
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from urllib.parse import unquote

XLSX, PDF = "销售日报 2026-11.xlsx", "營運報表(第3季).pdf"


def _raw_param(section: str, name: str) -> str:
    """A parameter's text exactly as written in a header section, unfolded, with RFC 2231
    continuations joined (``name*0*``, ``name*1*``, …) but nothing decoded."""
    unfolded = re.sub(r"\r?\n[ \t]", " ", section)
    single = re.search(rf'\b{name}="((?:[^"\\]|\\.)*)"', unfolded) or re.search(
        rf"\b{name}\*=([^;\s]+)", unfolded)
    if single:
        return single.group(1)
    pieces = sorted((int(n), v) for n, v in re.findall(rf"\b{name}\*(\d+)\*=([^;\s]+)",
                                                       unfolded))
    assert pieces, f"no {name} parameter in {section!r}"
    return "".join(value for _n, value in pieces)


def assert_both_names(raw: bytes, expected: list[str]) -> None:
    """Every attachment header section carries ``filename*=`` (RFC 2231) on
    Content-Disposition and an RFC 2047 ``name=`` on Content-Type, each decoding on its
    own to the original name."""
    text = raw.decode("ascii")
    sections = [part.split("\r\n\r\n", 1)[0] for part in text.split("\r\n--")
                if "Content-Disposition: attachment" in part.split("\r\n\r\n", 1)[0]]
    assert len(sections) == len(expected)
    for section, name in zip(sections, expected, strict=True):
        disposition = section[section.index("Content-Disposition"):]
        content_type = section[section.index("Content-Type"):]
        filename = _raw_param(disposition.split("\r\nContent-", 1)[0], "filename")
        charset, _language, value = filename.split("'", 2)
        assert charset == "utf-8" and unquote(value, encoding=charset, errors="strict") == name
        encoded = _raw_param(content_type.split("\r\nContent-", 1)[0], "name")
        assert encoded.startswith("=?utf-8?b?")
        assert str(make_header(decode_header(encoded))) == name


def attachments_of(received) -> dict:
    message = BytesParser(policy=policy.default).parsebytes(received.content)
    return {part.get_filename(): part for part in message.iter_attachments()}
