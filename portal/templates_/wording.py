"""Template syntax errors in plain words, for the people who write mail templates.

Jinja's parser says "expected token 'end of print statement', got 'name'"; an admin
writing a mail needs "Line 2 of the HTML body: “name” was not expected here; close the
variable with }}". The sandbox still does the parsing (``check_syntax``); this module
only rewords what it found, keeping the line (for an unclosed block, the line it opens).
The words are ``Text``s (translated where shown); code such as ``{% endif %}`` is kept
out of the message ids, as a value, so no translation can change it.
"""

import difflib
import re

from jinja2 import TemplateSyntaxError

from portal.i18n.marks import N_
from portal.templates_.render import check_syntax
from portal.templates_.sandbox import environment
from portal.templates_.text import Text, part

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
    """The plain message for the first syntax error in part ``field``, in the reader's
    language (None when it parses or the problem is not a syntax error, like a reserved
    name)."""
    text = plain_text(field, source)
    return str(text) if text is not None else None


def plain_text(field: str, source: str) -> Text | None:
    """``plain_syntax_error`` as a ``Text``, translated where it is shown."""
    try:
        _PARSER.parse(source)
    except TemplateSyntaxError as error:
        line, words = _explain(error.message or "", error.lineno or 1, source)
        if words.msgid.endswith("?"):
            return Text(N_("Line %(line)s of the %(part)s: %(problem)s"), line=line,
                        part=part(field), problem=words)
        return Text(N_("Line %(line)s of the %(part)s: %(problem)s."), line=line,
                    part=part(field), problem=words)
    except RecursionError:
        return None
    return None


def _tag(name: str) -> str:
    return "{% " + name + " %}"


_CLOSERS = {
    "{{": Text(N_("a variable’s %(open)s is not closed with %(close)s"), open="{{",
               close="}}"),
    "{%": Text(N_("a tag’s %(open)s is not closed with %(close)s"), open="{%", close="%}"),
    "{#": Text(N_("a comment’s %(open)s is not closed with %(close)s"), open="{#",
               close="#}"),
}


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
            Text(N_("the %(tag)s block opened here is not closed with %(end)s"),
                 tag=_tag(tag), end=_tag("end" + tag)))


def _in_block(word: str, block: str, at: int) -> Text:
    """A ``{% word %}`` that does not belong where it stands in the open ``block``."""
    values = {"tag": _tag(word), "block": _tag(block), "line": at}
    if word.startswith("end"):
        return Text(N_("%(tag)s does not match the %(block)s block opened on line %(line)s; "
                       "close that block with %(end)s first"), end=_tag("end" + block),
                    **values)
    if block == "if" or (block == "for" and word == "else"):
        return Text(N_("%(tag)s cannot come after the %(else)s of the %(block)s block "
                       "opened on line %(line)s"), **values, **{"else": _tag("else")})
    return Text(N_("%(tag)s is not allowed in the %(block)s block opened on line %(line)s"),
                **values)


def _unknown_tag(found, line, source):
    word, block = found["word"], found["open"]
    if block and (word.startswith("end") or word in ("else", "elif")):
        return line, _in_block(word, block, _opened_on(source, block, line))
    if word.startswith("end") and word[3:] in _TAGS:
        return line, Text(N_("%(tag)s has no %(opener)s before it to close"), tag=_tag(word),
                          opener=_tag(word[3:]))
    if word in ("else", "elif"):
        return line, Text(N_("%(tag)s must be inside an %(if)s block"), tag=_tag(word),
                          **{"if": _tag("if")})
    guess = difflib.get_close_matches(word, _TAGS, n=1, cutoff=0.6)
    if guess:
        return line, Text(N_("%(tag)s is not a known tag; did you mean %(guess)s?"),
                          tag=_tag(word), guess=_tag(guess[0]))
    return line, Text(N_("%(tag)s is not a known tag; check its spelling"), tag=_tag(word))


_TOKENS = {"integer": Text(N_("a number")), "float": Text(N_("a number")),
           "string": Text(N_("a quoted text")),
           "end of statement block": Text(N_("the end of the tag (%(close)s)"), close="%}"),
           "end of print statement": Text(N_("the closing %(close)s"), close="}}")}


def _describe(what: str, wanted: bool = False) -> Text | str:
    """A parser token as the writer sees it: “total”, a number, the closing }}. (Jinja
    names a found name by its text, so only a wanted "name" means any name.)"""
    if wanted and what == "name":
        return Text(N_("a name"))
    return _TOKENS.get(what, f"“{what}”")


def _say(msgid: str, **code):
    """Handler that keeps Jinja's line and says ``msgid``, filled with ``code`` (samples
    shown as they are), the match's ``got``/``want`` tokens described and its other
    groups as they are."""
    def say(found, line, _source):
        values = {key: _describe(value, key == "want") if key in ("got", "want") else value
                  for key, value in found.groupdict().items()}
        return line, Text(msgid, **code, **values)
    return say


_NAME = "{{ name }}"
_IF = "{% if name %}"
_STUMBLED = re.compile(r"unexpected '|expected token ")
_RULES = [(re.compile(pattern, re.S), handler) for pattern, handler in (
    (r"Unexpected end of template\..*needs to be closed is '(?P<open>\w+)'", _unclosed_block),
    (r"Encountered unknown tag '(?P<word>\w+)'\.(?:.*needs to be closed is '(?P<open>\w+)')?",
     _unknown_tag),
    (r"unexpected end of template, expected 'end of print statement'", _last("{{")),
    (r"unexpected end of template, expected 'end of statement block'", _last("{%")),
    (r"Missing end of comment tag", _last("{#")),
    (r"Missing end of raw directive", _say(N_("a %(raw)s block is not closed with %(end)s"),
                                           raw=_tag("raw"), end=_tag("endraw"))),
    (r"Expected an expression, got 'end of print statement'",
     _say(N_("there is nothing between %(open)s and %(close)s; write a variable name, like "
             "%(example)s"), open="{{", close="}}", example=_NAME)),
    (r"Expected an expression, got 'end of statement block'",
     _say(N_("the tag is missing its condition or value, like %(example)s or %(loop)s"),
          example=_IF, loop="{% for item in items %}")),
    (r"unexpected 'end of (print statement|statement block)'",
     _say(N_("the expression stops too early; something is missing after the last operator "
             "(such as +, ==, ~ or “if”)"))),
    (r"expected token 'name', got 'end of print statement'",
     _say(N_("a name is missing before %(close)s (after a | or a dot)"), close="}}")),
    (r"unexpected '[})\]]', expected '(?P<close>[)\]])'",
     _say(N_("an opening bracket is not closed with “%(close)s” before the braces"))),
    (r"unexpected '\}'", _say(N_("unexpected “%(char)s”; check the braces: a variable is "
                                 "written %(variable)s and a tag %(example)s"),
                              char="}", variable=_NAME, example=_IF)),
    (r"unexpected '(?P<char>.+)'$", _say(N_("unexpected “%(char)s”; check for a missing or "
                                            "extra bracket, quote or brace"))),
    (r"expected token 'end of print statement', got '(?P<got>.+)'",
     _say(N_("%(got)s was not expected here; close the variable with %(close)s, and write a "
             "name without spaces (%(good)s, not %(bad)s)"),
          close="}}", good="first_name", bad="first name")),
    (r"expected token ':', got", _say(N_("“%(open)s” inside a variable; write a variable with "
                                         "one pair of double braces, like %(example)s"),
                                      open="{{", example=_NAME)),
    (r"expected token 'end of statement block', got '='",
     _say(N_("a single “=” cannot compare values; write ==, like %(example)s"),
          example="{% if status == 'paid' %}")),
    (r"expected token 'end of statement block', got '(?P<got>.+)'",
     _say(N_("%(got)s was not expected in this tag; close the tag with %(close)s"),
          close="%}")),
    (r"expected token 'in', got '(?P<got>.+)'",
     _say(N_("a %(tag)s tag is written %(example)s, with “in”, not %(got)s"),
          tag=_tag("for"), example="{% for item in items %}")),
    (r"unexpected char ['\"](?P<quote>['\"])['\"] at \d+",
     _say(N_("a text in quotes is not closed: every %(quote)s needs a matching %(quote)s"))),
    (r"unexpected char ['\"](?P<char>.)['\"] at \d+",
     _say(N_("the character “%(char)s” cannot be used inside %(variable)s or %(tag)s"),
          variable="{{ }}", tag="{% %}")),
    (r"tag name expected", _say(N_("%(tag)s needs a tag name, like %(example)s"),
                                tag="{% %}", example=_IF)),
    (r"expected name or number", _say(N_("a dot must be followed by a name, like "
                                         "%(example)s"), example="{{ customer.name }}")),
    (r"expected token '(?P<want>.+)', got '(?P<got>.+)'",
     _say(N_("expected %(want)s but found %(got)s"))),
)]


def _unclosed_on(line: int, source: str) -> Text | None:
    """On the error's line, a ``{{`` or ``{%`` left open (``{{ name </p>``, ``{% if x }}``)
    is the likely cause of what the parser stumbled over next."""
    lines = source.split("\n")  # counted as Jinja counts them
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    for opener, closer in (("{{", "}}"), ("{%", "%}")):
        if text.count(opener) > text.count(closer):
            return _CLOSERS[opener]
    return None


def _explain(message: str, line: int, source: str) -> tuple[int, Text]:
    """(line, words) for one Jinja parser message; unknown ones keep Jinja's wording."""
    if _STUMBLED.match(message):
        unclosed = _unclosed_on(line, source)
        if unclosed:
            return line, unclosed
    for pattern, handler in _RULES:
        found = pattern.match(message)
        if found:
            return handler(found, line, source)
    return line, Text(N_("this cannot be read as a template (%(detail)s)"),
                      detail=message.strip().rstrip("."))
