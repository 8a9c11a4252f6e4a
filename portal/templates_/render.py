"""Render user-written mail templates safely (Flask-free, so the worker and API can use it).

Templates are written by admins and filled with variables supplied at send time,
so they run in Jinja's immutable sandbox: no private attributes, no mutation of
the values passed in, no access to the web app. A missing variable is an error
(never a silently blank greeting), and every failure becomes one
``TemplateRenderError`` naming the part it happened in, so no caller ever turns a
bad template into a 500. Its message is a ``Text``, put into the reader's language
where it is shown (``error.message`` inside a request).
"""

import re
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from portal.i18n.marks import N_
from portal.templates_.budget import BoundedRunner, BudgetExceeded
from portal.templates_.sandbox import MailSandbox, MissingValue, environment
from portal.templates_.text import TemplateRenderError, Text, part

# Names of the web app's own template globals: a mail template may not even name them.
RESERVED = frozenset({"request", "session", "config", "g", "self", "current_user", "url_for",
                      "csrf_token", "get_flashed_messages"})
MAX_OUTPUT = 1_000_000  # characters one rendered part may have
MAX_SUBJECT = 998  # the longest line a mail header may have
# Other templates cannot be loaded: each mail template stands alone.
_LOADING = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import",
            nodes.FromImport: "import"}
_BAD_SUBJECT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str | None


_HTML_ENV = environment(autoescape=True)
_PLAIN_ENV = environment(autoescape=False)


def _sentence(error) -> str:
    """Jinja's message as one sentence ending in exactly one full stop."""
    return str(error).strip().rstrip(".") + "."


def _env(field: str) -> MailSandbox:
    """HTML is autoescaped; the subject and plain text are not (they are not HTML)."""
    return _HTML_ENV if field == "html_body" else _PLAIN_ENV


def _parse(field: str, source: str) -> nodes.Template:
    """Parse one part; syntax errors and reserved names become a TemplateRenderError."""
    try:
        tree = _env(field).parse(source)
        found = list(tree.find_all((nodes.Name, *_LOADING)))
    except TemplateSyntaxError as error:
        raise TemplateRenderError(field, _syntax_message(field, source, error)) from None
    except RecursionError:
        raise TemplateRenderError(field, _too_deep(field)) from None
    for node in found:
        word = node.name if isinstance(node, nodes.Name) else _LOADING[type(node)]
        if word in RESERVED or not isinstance(node, nodes.Name):
            raise TemplateRenderError(field, Text(
                N_("“%(word)s” is not allowed in templates (used in the %(part)s)."),
                word=word, part=part(field)))
    return tree


def _syntax_message(field: str, source: str, error: TemplateSyntaxError) -> Text:
    """The parser's complaint in plain words with its line, wherever a template is parsed
    (editor, compose, API, worker), falling back to Jinja's own sentence."""
    from portal.templates_.wording import plain_text  # it builds on this module

    return (plain_text(field, source)
            or Text(N_("Line %(line)s of the %(part)s: %(problem)s"), line=error.lineno,
                    part=part(field), problem=_sentence(error.message)))


def _too_deep(field: str) -> Text:
    return Text(N_("The %(part)s nests expressions too deeply to be read; simplify it."),
                part=part(field))


def _parts(subject: str, html: str, text: str | None) -> list[tuple[str, str]]:
    parts = [("subject", subject or ""), ("html_body", html or "")]
    if text:
        parts.append(("text_body", text))
    return parts


def check_syntax(subject: str, html: str, text: str | None) -> dict[str, str]:
    """Syntax problems by field name (empty when all parts parse), so forms can show each."""
    problems = {}
    for field, source in _parts(subject, html, text):
        try:
            _parse(field, source)
        except TemplateRenderError as error:
            problems[field] = error.message
    return problems


def variables_in(subject: str, html: str, text: str | None) -> list[str]:
    """Sorted names the parts expect from the sender (the compose page asks for these)."""
    found = set()
    for field, source in _parts(subject, html, text):
        tree = _parse(field, source)
        try:
            undeclared = meta.find_undeclared_variables(tree)
        except RecursionError:
            raise TemplateRenderError(field, _too_deep(field)) from None
        found |= undeclared - set(_env(field).globals)
    return sorted(found)


def _bounded(chunks, field: str) -> str:
    """Join the rendered chunks, stopping as soon as the part grows beyond MAX_OUTPUT."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateRenderError(field, Text(
                N_("The %(part)s renders to more than %(limit)s characters; shorten it."),
                part=part(field), limit=f"{MAX_OUTPUT:,}"))
        parts.append(chunk)
    return "".join(parts)


def _render_one(field: str, source: str, variables: dict) -> str:
    """Render one part, translating every failure into a TemplateRenderError."""
    template = _env(field).from_string(_parse(field, source))
    try:
        return _bounded(template.generate(variables), field)
    except (TemplateRenderError, MemoryError):  # the budget reports running out of memory
        raise
    except MissingValue as error:
        raise _missing(field, error) from None
    except SecurityError as error:  # the sandbox's own refusals are in the catalogs
        raise TemplateRenderError(field, Text(
            N_("The %(part)s uses something that is not allowed in templates (%(detail)s)."),
            part=part(field), detail=Text(_sentence(error)[:-1]))) from None
    except Exception as error:  # any runtime failure inside the template, e.g. 1/0
        raise TemplateRenderError(field, Text(
            N_("The %(part)s could not be rendered: %(detail)s"), part=part(field),
            detail=_sentence(error))) from None


def _missing(field: str, error: MissingValue) -> TemplateRenderError:
    if error.top_level:
        return TemplateRenderError(field, Text(
            N_("The variable “%(name)s” is missing: supply it or remove it from the "
               "%(part)s."), name=error.name, part=part(field)), missing=error.name)
    return TemplateRenderError(field, Text(
        N_("A variable used in the %(part)s has no “%(name)s”: supply it or remove it "
           "from the %(part)s."), name=error.name, part=part(field)))


@dataclass
class Budget:
    """What one render may cost; ``configure`` sets it from the app's settings."""

    seconds: float = 5.0
    memory_mb: int = 256


BUDGET = Budget()


def configure(seconds: float, memory_mb: int) -> None:
    BUDGET.seconds, BUDGET.memory_mb = float(seconds), int(memory_mb)


def render_template_parts(subject: str, html: str, text: str | None,
                          variables: dict) -> RenderedMail:
    """Render subject, HTML and optional plain text with ``variables``, in a child
    process under the time and memory ``BUDGET``.

    The rendered subject must be one line: a value with a line break would let
    a variable inject mail headers, so it is refused rather than cleaned up.
    """
    if not isinstance(variables, dict) or not all(isinstance(k, str) for k in variables):
        raise TemplateRenderError("variables",
                                  Text(N_("Variables must be an object of named values.")))
    try:
        found = _RUNNER((subject, html, text, variables), seconds=BUDGET.seconds,
                        memory_bytes=BUDGET.memory_mb * 1024 * 1024)
    except BudgetExceeded as exceeded:
        raise TemplateRenderError("template", _over_budget(exceeded.what)) from None
    if isinstance(found, tuple):  # (field, text, missing) of a TemplateRenderError
        raise TemplateRenderError(*found)
    return found


def _over_budget(what: str) -> Text:
    if what == "time":
        return Text(N_("The template takes longer than %(seconds)s s to render; make its "
                       "loops smaller."), seconds=f"{BUDGET.seconds:g}")
    return Text(N_("The template needs more than %(size)s MB of memory to render; make the "
                   "values it builds smaller."), size=BUDGET.memory_mb)


def render_here(subject: str, html: str, text: str | None, variables: dict):
    """The render itself (run in the budget's child): a ``RenderedMail``, or the
    ``(field, text, missing)`` of the ``TemplateRenderError`` it raised."""
    try:
        return _render_parts(subject, html, text, variables)
    except TemplateRenderError as error:
        return error.field, error.text, error.missing
    except MemoryError:
        raise  # the budget's child reports it as over budget
    except Exception as error:  # anything else still gets a readable answer, not a 500
        return "template", Text(N_("The template could not be rendered: %(detail)s"),
                                detail=_sentence(error)), None


_RUNNER = BoundedRunner(render_here)


def _render_parts(subject: str, html: str, text: str | None, variables: dict) -> RenderedMail:
    rendered_subject = _render_one("subject", subject or "", variables).strip()
    if _BAD_SUBJECT.search(rendered_subject):
        raise TemplateRenderError("subject", Text(
            N_("The rendered subject contains a line break or control character; a subject "
               "must be one line (check the values of its variables).")))
    if len(rendered_subject) > MAX_SUBJECT:
        raise TemplateRenderError("subject", Text(
            N_("The rendered subject is %(length)s characters long; a subject may have at "
               "most %(limit)s (check its variables)."),
            length=f"{len(rendered_subject):,}", limit=MAX_SUBJECT))
    rendered_html = _render_one("html_body", html or "", variables)
    rendered_text = _render_one("text_body", text, variables) if text else None
    return RenderedMail(rendered_subject, rendered_html, rendered_text)


def check_budget(subject: str, html: str, text: str | None) -> str | None:
    """On save: render with every variable standing in as its own name, and return the
    message if that exceeds the time or memory budget (else None). Other render errors
    are left to send time, when the real values are known."""
    values = {name: f"{{{name}}}" for name in variables_in(subject, html, text)}
    try:
        render_template_parts(subject, html, text, values)
    except TemplateRenderError as error:
        return error.message if error.field == "template" else None
    return None
