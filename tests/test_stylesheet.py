"""Templates and the stylesheet agree: every class a template uses is defined by Pico or
portal.css, and no template carries inline styles or scripts (the CSP forbids them)."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
CSS = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "static").rglob("*.css"))
DEFINED = set(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", re.sub(r"url\([^)]*\)", "", CSS)))
CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
# Classes htmx itself sets while it works; they are styled where needed, but need not be.
HTMX_STATE = {"htmx-request", "htmx-settling", "htmx-swapping", "htmx-added"}


def _static_tokens(value: str):
    """The class names of an attribute. For a Jinja expression, the class names quoted
    inside it (``{{ 'ok' if x else 'failed' }}``), and for a name made by one
    (``pill-{{ s }}``) its fixed prefix with a trailing ``*``."""
    value = re.sub(r"\{%.*?%\}", " ", value)
    for expression in re.findall(r"\{\{(.*?)\}\}", value):
        for literal in re.findall(r"'([^']*)'", expression):
            yield from literal.split()
    for token in re.sub(r"\{\{.*?\}\}", "\x00", value).split():
        if "\x00" in token:
            prefix = token.split("\x00")[0]
            if prefix:
                yield prefix + "*"
        else:
            yield token


def test_every_template_class_is_defined():
    missing = {}
    for path in TEMPLATES:
        for attr in CLASS_ATTR.findall(path.read_text(encoding="utf-8")):
            for token in _static_tokens(attr):
                if token.endswith("*"):
                    ok = any(name.startswith(token[:-1]) for name in DEFINED)
                else:
                    ok = token in DEFINED or token in HTMX_STATE
                if not ok:
                    missing.setdefault(token, set()).add(path.relative_to(ROOT).as_posix())
    assert missing == {}


def test_no_inline_style_or_script_in_templates():
    found = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        found += [f"{name}: style attribute" for _ in re.findall(r"\sstyle=", text)]
        found += [f"{name}: <style>" for _ in re.findall(r"<style\b", text)]
        found += [f"{name}: inline <script>" for tag in re.findall(r"<script\b[^>]*>", text)
                  if "src=" not in tag]
        found += [f"{name}: {m} handler" for m in re.findall(r"\s(on[a-z]+)=", text)]
    assert found == []
