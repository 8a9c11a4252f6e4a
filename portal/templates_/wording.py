"""Template syntax errors in plain words, for the people who write mail templates.

Jinja's parser says "expected token 'end of print statement', got 'name'"; an admin
writing a mail needs "Line 2 of the HTML body: “name” was not expected here; close the
variable with }}". The sandbox still does the parsing (``check_syntax``); this module
only rewords what it found, keeping the line (for an unclosed block, the line it opens).
"""

import difflib
import re

from jinja2 import TemplateSyntaxError

from portal.templates_.render import LABELS, check_syntax
from portal.templates_.sandbox import environment

_PARSER = environment(autoescape=False)  # parsing only: the syntax the sandbox renders
_TAGS = ("if", "elif", "else", "endif", "for", "endfor", "set", "endset", "macro",
         "endmacro", "call", "endcall", "filter", "endfilter", "with", "endwith", "raw",
         "endraw", "autoescape", "endautoescape")


def syntax_problems(subject: str, html: str, text: str | None) -> dict[str, str]:
    """Like ``check_syntax``, but a parser error is worded for people, keeping its line."""
    problems = check_syntax(subject, html, text)
    sources = {"subject": subject, "html_body": html, "text_body": text}
    for field in problems:
        plain = plain_syntax_error(field, sources[field] or "")
        problems[field] = plain or problems[field]
    return problems


def plain_syntax_error(field: str, source: str) -> str | None:
    """The plain message for the first syntax error in part ``field`` (None when it parses
    or the problem is not a syntax error, like a reserved name)."""
    try:
        _PARSER.parse(source)
    except TemplateSyntaxError as error:
        line, words = _explain(error.message or "", error.lineno or 1, source)
        end = "" if words.endswith("?") else "."
        return f"Line {line} of the {LABELS[field]}: {words}{end}"
    except RecursionError:
        return None
    return None


def _tag(name: str) -> str:
    return "{% " + name + " %}"


_CLOSERS = {"{{": "a variable’s {{ is not closed with }}",
            "{%": "a tag’s {% is not closed with %}",
            "{#": "a comment’s {# is not closed with #}"}


def _last(opener: str):
    """Handler for something opened and never closed: point at the last ``opener``."""
    def find(_found, line, source):
        at = source.rfind(opener)
        return (source.count("\n", 0, at) + 1 if at >= 0 else line), _CLOSERS[opener]
    return find


def _opened_on(source: str, tag: str, fallback: int) -> int:
    """Line where the innermost still-open ``{% tag %}`` block starts (Jinja names the end)."""
    try:
        tokens = [(line, kind, value) for line, kind, value in _PARSER.lex(source)
                  if kind != "whitespace"]
    except TemplateSyntaxError:
        return fallback
    opened = []
    for index, (line, kind, value) in enumerate(tokens[1:], start=1):
        if kind != "name" or tokens[index - 1][1] != "block_begin":
            continue
        if value == tag and not (tag == "set" and _assigns(tokens[index:])):
            opened.append(line)
        elif value == "end" + tag and opened:
            opened.pop()
    return opened[-1] if opened else fallback


def _assigns(tokens) -> bool:
    """True for ``{% set x = 1 %}`` (one line), False for a ``{% set x %}`` block."""
    for _line, kind, value in tokens:
        if kind == "block_end":
            return False
        if kind == "operator" and value == "=":
            return True
    return False


def _unclosed_block(found, line, source):
    tag = found["open"]
    return (_opened_on(source, tag, line),
            f"the {_tag(tag)} block opened here is not closed with {_tag('end' + tag)}")


def _unknown_tag(found, line, source):
    word, block = found["word"], found["open"]
    at = _opened_on(source, block, line) if block else None
    if block and word.startswith("end"):
        return line, (f"{_tag(word)} does not match the {_tag(block)} block opened on line "
                      f"{at}; close that block with {_tag('end' + block)} first")
    if block and word in ("else", "elif"):
        if block == "if" or (block == "for" and word == "else"):
            return line, f"{_tag(word)} cannot come after the {_tag('else')} of the " \
                         f"{_tag(block)} block opened on line {at}"
        return line, f"{_tag(word)} is not allowed in the {_tag(block)} block opened on line {at}"
    if word.startswith("end") and word[3:] in _TAGS:
        return line, f"{_tag(word)} has no {_tag(word[3:])} before it to close"
    if word in ("else", "elif"):
        return line, f"{_tag(word)} must be inside an {_tag('if')} block"
    guess = difflib.get_close_matches(word, _TAGS, n=1, cutoff=0.6)
    hint = f"did you mean {_tag(guess[0])}?" if guess else "check its spelling"
    return line, f"{_tag(word)} is not a known tag; {hint}"


_TOKENS = {"integer": "a number", "float": "a number", "string": "a quoted text",
           "end of statement block": "the end of the tag (%})",
           "end of print statement": "the closing }}"}


def _describe(what: str, wanted: bool = False) -> str:
    """A parser token as the writer sees it: “total”, a number, the closing }}. (Jinja
    names a found name by its text, so only a wanted "name" means any name.)"""
    if wanted and what == "name":
        return "a name"
    return _TOKENS.get(what, f"“{what}”")


def _say(words: str):
    """Handler that keeps Jinja's line and says ``words``, filled with the match's
    ``got``/``want`` tokens described and its other groups as they are."""
    def say(found, line, _source):
        values = {key: _describe(value, key == "want") if key in ("got", "want") else value
                  for key, value in found.groupdict().items()}
        return line, words.format(**values)
    return say


_STUMBLED = re.compile(r"unexpected '|expected token ")
_RULES = [(re.compile(pattern, re.S), handler) for pattern, handler in (
    (r"Unexpected end of template\..*needs to be closed is '(?P<open>\w+)'", _unclosed_block),
    (r"Encountered unknown tag '(?P<word>\w+)'\.(?:.*needs to be closed is '(?P<open>\w+)')?",
     _unknown_tag),
    (r"unexpected end of template, expected 'end of print statement'", _last("{{")),
    (r"unexpected end of template, expected 'end of statement block'", _last("{%")),
    (r"Missing end of comment tag", _last("{#")),
    (r"Missing end of raw directive", _say("a {{% raw %}} block is not closed with "
                                           "{{% endraw %}}")),
    (r"Expected an expression, got 'end of print statement'",
     _say("there is nothing between {{{{ and }}}}; write a variable name, like {{{{ name }}}}")),
    (r"Expected an expression, got 'end of statement block'",
     _say("the tag is missing its condition or value, like {{% if name %}} or "
          "{{% for item in items %}}")),
    (r"unexpected 'end of (print statement|statement block)'",
     _say("the expression stops too early; something is missing after the last operator "
          "(such as +, ==, ~ or “if”)")),
    (r"expected token 'name', got 'end of print statement'",
     _say("a name is missing before }}}} (after a | or a dot)")),
    (r"unexpected '[})\]]', expected '(?P<close>[)\]])'",
     _say("an opening bracket is not closed with “{close}” before the braces")),
    (r"unexpected '\}'", _say("unexpected “}}”; check the braces: a variable is written "
                              "{{{{ name }}}} and a tag {{% if name %}}")),
    (r"unexpected '(?P<char>.+)'$", _say("unexpected “{char}”; check for a missing or extra "
                                         "bracket, quote or brace")),
    (r"expected token 'end of print statement', got '(?P<got>.+)'",
     _say("{got} was not expected here; close the variable with }}}}, and write a name "
          "without spaces (first_name, not first name)")),
    (r"expected token ':', got", _say("“{{{{” inside a variable; write a variable with one "
                                     "pair of double braces, like {{{{ name }}}}")),
    (r"expected token 'end of statement block', got '='",
     _say("a single “=” cannot compare values; write ==, like {{% if status == 'paid' %}}")),
    (r"expected token 'end of statement block', got '(?P<got>.+)'",
     _say("{got} was not expected in this tag; close the tag with %}}")),
    (r"expected token 'in', got '(?P<got>.+)'",
     _say("a {{% for %}} tag is written {{% for item in items %}}, with “in”, not {got}")),
    (r"unexpected char ['\"](?P<quote>['\"])['\"] at \d+",
     _say("a text in quotes is not closed: every {quote} needs a matching {quote}")),
    (r"unexpected char ['\"](?P<char>.)['\"] at \d+",
     _say("the character “{char}” cannot be used inside {{{{ }}}} or {{% %}}")),
    (r"tag name expected", _say("{{% %}} needs a tag name, like {{% if name %}}")),
    (r"expected name or number", _say("a dot must be followed by a name, like "
                                      "{{{{ customer.name }}}}")),
    (r"expected token '(?P<want>.+)', got '(?P<got>.+)'",
     _say("expected {want} but found {got}")),
)]


def _unclosed_on(line: int, source: str) -> str | None:
    """On the error's line, a ``{{`` or ``{%`` left open (``{{ name </p>``, ``{% if x }}``)
    is the likely cause of what the parser stumbled over next."""
    lines = source.split("\n")  # counted as Jinja counts them
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    for opener, closer in (("{{", "}}"), ("{%", "%}")):
        if text.count(opener) > text.count(closer):
            return _CLOSERS[opener]
    return None


def _explain(message: str, line: int, source: str) -> tuple[int, str]:
    """(line, words) for one Jinja parser message; unknown ones keep Jinja's wording."""
    if _STUMBLED.match(message):
        unclosed = _unclosed_on(line, source)
        if unclosed:
            return line, unclosed
    for pattern, handler in _RULES:
        found = pattern.match(message)
        if found:
            return handler(found, line, source)
    return line, f"this cannot be read as a template ({message.strip().rstrip('.')})"
