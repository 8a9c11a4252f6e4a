"""The plain-text alternative of an HTML body, derived with the stdlib ``html.parser``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    "address article aside blockquote div dl dt dd figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tr ul".split()
)
_SKIP_TAGS = frozenset(("head", "script", "style", "title", "template"))
_PARAGRAPHS = frozenset(("p", "table", "ul", "ol", "pre", "blockquote"))


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
