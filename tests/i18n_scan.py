"""Finds English a person would read in a template but that is not translatable.

Looked at: text between tags, the attributes people read (placeholder, title, alt,
aria-label, hx-confirm, data-confirm, value of buttons), and string literals inside
``{{ }}``/``{% %}`` that look like words ("Team admin"). Not looked at: ``<script>``,
``<style>``, elements marked ``translate="no"`` (code, addresses, product names),
Jinja comments and ``{% trans %}`` blocks (those are translated).

Run ``python -m tests.i18n_scan [paths]`` to list what is left in some templates.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_READ_ATTRS = {"placeholder", "title", "alt", "aria-label", "hx-confirm", "data-confirm",
               "data-copied", "data-label", "data-busy", "label"}
_WORDS = re.compile(r"[A-Za-z]{2,}")
_CALL = re.compile(r"\b(?:_|gettext|ngettext|pgettext|npgettext|N_)\(\s*$")
_OPEN_CALL = re.compile(r"\b(?:_|gettext|ngettext|pgettext|npgettext|N_)\(")
_LITERAL = re.compile(r"""(["'])((?:(?!\1).)*)\1""")
_LOOKS_LIKE_WORDS = re.compile(r"[A-Z][a-z]+[ ,.:?!…]|[a-z]+ [a-z]+ [a-z]+|[a-z][.!?]$")


def _blank(match: re.Match) -> str:
    """Replace a Jinja construct by a marker of the same line count."""
    return " " + "\n" * match.group(0).count("\n")


def _jinja_literals(source: str):
    """(line, literal) for word-like string literals in Jinja code not inside _()."""
    for block in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", source, re.S):
        code = block.group(0)
        for lit in _LITERAL.finditer(code):
            text = lit.group(2)
            if _CALL.search(code[:lit.start()]) or not _LOOKS_LIKE_WORDS.search(text):
                continue
            if _OPEN_CALL.search(code[:lit.start()].rsplit(")", 1)[-1]):
                continue  # a later argument of _( ... ): a plural, a keyword value
            yield source.count("\n", 0, block.start() + lit.start()) + 1, text


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.skip = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style") or attrs.get("translate") == "no":
            self.skip.append(tag)
        if self.skip:
            return
        for name, value in attrs.items():
            read = name in _READ_ATTRS or (name == "value" and tag == "input"
                                           and attrs.get("type") in ("submit", "button"))
            if read and value and _WORDS.search(value):
                self.found.append((self.getpos()[0], f'{name}="{value}"'))

    def handle_endtag(self, tag):
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data):
        if not self.skip and _WORDS.search(data):
            self.found.append((self.getpos()[0], data.strip()))


def untranslated(path: Path) -> list[tuple[int, str]]:
    """(line, text) for each piece of English in one template outside the catalogs."""
    source = path.read_text()
    source = re.sub(r"\{#.*?#\}", _blank, source, flags=re.S)
    source = re.sub(r"\{%-?\s*trans\b.*?endtrans\s*-?%\}", _blank, source, flags=re.S)
    found = list(_jinja_literals(source))
    markup = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", _blank, source, flags=re.S)
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return sorted(found + reader.found)


def main(paths: list[str]) -> int:
    files = [p for arg in (paths or [str(TEMPLATES)]) for p in
             (sorted(Path(arg).rglob("*.html")) if Path(arg).is_dir() else [Path(arg)])]
    count = 0
    for path in files:
        for line, text in untranslated(path):
            print(f"{path}:{line}: {text[:100]}")
            count += 1
    if count:
        print(f"{count} untranslated piece{'s' if count != 1 else ''} of text", file=sys.stderr)
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
