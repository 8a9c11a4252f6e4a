"""Sandboxed rendering of mail templates: variables, escaping, sandbox escapes, syntax."""

import pytest

from portal.templates_.preview import parse_sample_variables, preview
from portal.templates_.render import (
    TemplateRenderError,
    check_syntax,
    render_template_parts,
    variables_in,
)

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass


def _error(subject="Hello", html="<p>x</p>", text=None, variables=None) -> TemplateRenderError:
    with pytest.raises(TemplateRenderError) as caught:
        render_template_parts(subject, html, text, variables or {})
    return caught.value


def test_renders_all_three_parts():
    mail = render_template_parts("Report {{ day }}", "<h1>{{ day }}</h1>",
                                 "Day: {{ day }}", {"day": "Monday"})
    assert (mail.subject, mail.html, mail.text) == ("Report Monday", "<h1>Monday</h1>",
                                                    "Day: Monday")


def test_text_body_is_optional():
    assert render_template_parts("S", "<p>b</p>", None, {}).text is None
    assert render_template_parts("S", "<p>b</p>", "", {}).text is None


def test_html_is_autoescaped_but_subject_and_text_are_not():
    mail = render_template_parts("{{ v }}", "<p>{{ v }}</p>", "{{ v }}", {"v": "<b>&"})
    assert mail.html == "<p>&lt;b&gt;&amp;</p>"
    assert mail.subject == "<b>&" and mail.text == "<b>&"


@pytest.mark.parametrize("field, parts", [
    ("subject", ("Hi {{ who }}", "<p>x</p>", None)),
    ("html_body", ("Hi", "<p>{{ who }}</p>", None)),
    ("text_body", ("Hi", "<p>x</p>", "Dear {{ who }}")),
])
def test_missing_variable_names_the_variable_and_part(field, parts):
    error = _error(*parts)
    assert error.field == field
    label = {"subject": "subject", "html_body": "HTML body", "text_body": "plain-text body"}
    assert error.message == (f"The variable “who” is missing: supply it or remove it "
                             f"from the {label[field]}.")


def test_missing_attribute_is_an_error_not_a_blank():
    error = _error(html="Total {{ order.total }}", variables={"order": {}})
    assert error.field == "html_body" and "“total”" in error.message


def test_undefined_in_condition_is_an_error():
    error = _error(html="{% if vip %}VIP{% endif %}")
    assert "“vip” is missing" in error.message


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ items.append(1) }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ 'x' * 10000000 }}",
    "{{ 10 ** 1000000 }}",
])
def test_sandbox_escapes_fail_safely(source):
    error = _error(html=source, variables={"items": [1]})
    assert error.field == "html_body"
    assert "not allowed in templates" in error.message


@pytest.mark.parametrize("source, word", [
    ("{{ self._TemplateReference__context }}", "self"),
    ("{{ request }}", "request"),
    ("{{ config.SECRET_KEY }}", "config"),
    ("{% include 'base.html' %}", "include"),
    ("{% extends 'base.html' %}", "extends"),
])
def test_app_names_and_other_templates_are_refused(source, word):
    error = _error(subject=source, variables={"request": "x", "config": {}})
    assert error.field == "subject"
    assert error.message.startswith(f"“{word}” is not allowed in templates")
    assert check_syntax("ok", source, None) == {"html_body": error.message.replace(
        "subject", "HTML body")}


def test_runtime_errors_become_render_errors():
    error = _error(text="{{ 1 / 0 }}")
    assert error.field == "text_body" and "division by zero" in error.message


def test_syntax_error_names_field_and_line():
    error = _error(html="<p>\n{% if x %}\n</p>")
    assert error.field == "html_body"
    # The line where the unclosed block opens, in plain words (not the parser's own).
    assert error.message == ("Line 2 of the HTML body: the {% if %} block opened here is "
                             "not closed with {% endif %}.")
    problems = check_syntax("Hi {{ name", "<p>{% for %}</p>", "{% endif %}")
    assert set(problems) == {"subject", "html_body", "text_body"}
    assert problems["subject"].startswith("Line 1 of the subject:")
    assert check_syntax("Hi {{ name }}", "<p>{{ name }}</p>", None) == {}


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@example.com", "a\nb", "a\rb"])
def test_line_break_in_rendered_subject_is_refused(value):
    error = _error(subject="Re: {{ s }}", variables={"s": value})
    assert error.field == "subject" and "one line" in error.message


def test_subject_is_trimmed():
    assert render_template_parts("  Hi {{ n }}  ", "<p></p>", None, {"n": 1}).subject == "Hi 1"


def test_variables_in_lists_undeclared_names_once():
    names = variables_in("Hi {{ name }}", "{% set greeting = 'x' %}{{ greeting }}"
                         "{% for row in rows %}{{ row.v }}{{ loop.index }}{% endfor %}"
                         "{{ range(2) | join }}", "{{ name }} {{ footer }}")
    assert names == ["footer", "name", "rows"]


def test_variables_in_reports_syntax_errors():
    with pytest.raises(TemplateRenderError) as caught:
        variables_in("ok", "{{", None)
    assert caught.value.field == "html_body"


def test_parse_sample_variables_lines_and_json():
    assert parse_sample_variables("name = Ada\n\n# comment\nurl=a=b") == {"name": "Ada",
                                                                          "url": "a=b"}
    assert parse_sample_variables('{"order": {"total": 3}}') == {"order": {"total": 3}}
    assert parse_sample_variables("") == {}
    for bad in ("just text", "1x=2", "[1, 2]", "{not json"):
        with pytest.raises(TemplateRenderError) as caught:
            parse_sample_variables(bad)
        assert caught.value.field == "preview_variables"


def test_preview_reports_variables_and_error():
    result = preview("Hi {{ name }}", "<p>{{ name }} {{ city }}</p>", None, "name=Ada")
    assert result.variables == ["city", "name"] and result.rendered is None
    assert "“city” is missing" in result.error
    ok = preview("Hi {{ name }}", "<p>{{ name }}</p>", None, "name=Ada")
    assert ok.error is None and ok.rendered.html == "<p>Ada</p>"


@pytest.mark.parametrize("html, message", [
    ("{{ 'x'|center(30000000) }}", "not allowed"),
    ("{{ 'x'|indent(30000000, true) }}", "not allowed"),
    ("{{ '%9999999s'|format('a') }}", "not allowed"),
    ("{{ '%9999999s' % 'a' }}", "not allowed"),
    ("{{ '{:>9999999}'.format('a') }}", "not allowed"),
    ("{{ lipsum(100000) }}", "not allowed"),
    ("{% for a in range(3000) %}{% for b in range(3000) %}xx{% endfor %}{% endfor %}",
     "more than 1,000,000 characters"),
])
def test_huge_output_is_refused_before_it_is_built(html, message):
    with pytest.raises(TemplateRenderError) as info:
        render_template_parts("Report", html, None, {})
    assert message in info.value.message and info.value.field == "html_body"


def test_ordinary_formatting_still_works():
    rendered = render_template_parts(
        "Order 1234567: {{ '%s' % 'ok' }}",
        "{{ '%5s'|format('a') }}|{{ 'x'|center(5) }}|{{ '{:>3}'.format(7) }}", None, {})
    assert rendered.subject == "Order 1234567: ok"
    assert rendered.html == "    a|  x  |  7"


def test_rendered_subject_longer_than_a_header_line_is_refused():
    with pytest.raises(TemplateRenderError) as info:
        render_template_parts("Hi {{ who }}", "<p>x</p>", None, {"who": "y" * 2000})
    assert info.value.field == "subject" and "at most 998" in info.value.message
