"""The template editor's preview: sample variables, then the rendered mail or the error."""

from dataclasses import dataclass

from portal import jsonsafe
from portal.i18n.marks import N_
from portal.templates_.render import (
    RenderedMail,
    TemplateRenderError,
    render_template_parts,
    variables_in,
)
from portal.templates_.text import Text


def parse_sample_variables(raw: str) -> dict:
    """Preview variables from ``name=value`` lines or a JSON object."""
    raw = (raw or "").strip()
    if raw.startswith("{"):
        try:
            values = jsonsafe.loads(raw)
        except ValueError as error:
            raise TemplateRenderError("preview_variables", Text(
                N_("The preview variables are not valid JSON: %(error)s."),
                error=error)) from None
        if not isinstance(values, dict):
            raise TemplateRenderError("preview_variables", Text(
                N_("JSON preview variables must be an object, like %(example)s."),
                example='{"name": "Ada"}'))
        return values
    values = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise TemplateRenderError("preview_variables", Text(
                N_("Line %(line)s of the preview variables must look like %(example)s."),
                line=number, example="name=value"))
        values[name.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class Preview:
    """What the editor shows: the variables found, then the rendered mail or the error."""

    variables: list[str] | None = None
    rendered: RenderedMail | None = None
    error: str | None = None


def preview(subject: str, html: str, text: str | None, sample: str) -> Preview:
    """Render the editor's current text with sample variables; never raises."""
    try:
        variables = variables_in(subject, html, text)
    except TemplateRenderError as error:
        return Preview(error=error.message)
    try:
        rendered = render_template_parts(subject, html, text, parse_sample_variables(sample))
    except TemplateRenderError as error:
        return Preview(variables=variables, error=error.message)
    return Preview(variables=variables, rendered=rendered)
