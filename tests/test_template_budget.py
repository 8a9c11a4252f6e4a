"""Template rendering under a hard budget: memory, time, and the sandbox's own width caps.

The figures are the attacks that once took a web worker to gigabytes or minutes.
"""

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.models import Message
from portal.templates_.models import MailTemplate
from portal.templates_.render import (
    BUDGET,
    TemplateRenderError,
    configure,
    render_template_parts,
)
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH

DOUBLING = ("{% set ns = namespace(s='a') %}{% for i in range(31) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}")
NESTED_LOOPS = ("{% for i in range(100000) %}{% for j in range(20000) %}{% endfor %}"
                "{% endfor %}done")
PADDING = [("{{ 'a'.zfill(1000000000) }}", "padding to such a width"),
           ("{{ 'a'.ljust(1000000000) }}", "padding to such a width"),
           ("{{ '%(a)1000000000d'|format(a=1) }}", "formatting to such a width"),
           ("{{ '{:>1000000}'.format('a') }}", "formatting to such a width"),
           ("{{ ('\\n' * 99999)|indent(99999, true, true) }}", "padding to such a width")]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TEMPLATE_RENDER_SECONDS": 1.0, "TEMPLATE_RENDER_MEMORY_MB": 128}


@pytest.fixture
def small_budget():
    saved = (BUDGET.seconds, BUDGET.memory_mb)
    configure(1.0, 128)
    yield
    configure(*saved)


def _error(html: str) -> TemplateRenderError:
    with pytest.raises(TemplateRenderError) as caught:
        render_template_parts("Report", html, None, {})
    return caught.value


def test_memory_bomb_is_refused_and_the_next_render_works(small_budget):
    configure(10.0, 128)  # a generous clock, so a busy machine still meets the memory cap first
    error = _error(DOUBLING)
    assert error.field == "template"
    assert "more than 128 MB of memory" in error.message
    assert render_template_parts("Hi {{ n }}", "<p>{{ n }}</p>", None, {"n": "Ada"}).html \
        == "<p>Ada</p>"


def test_endless_loop_is_stopped_at_the_deadline(small_budget):
    error = _error(NESTED_LOOPS)
    assert error.field == "template"
    assert "longer than 1 s" in error.message
    assert render_template_parts("x", "<p>{{ 6 * 7 }}</p>", None, {}).html == "<p>42</p>"


@pytest.mark.parametrize("html, refusal", PADDING)
def test_huge_widths_are_refused_by_the_sandbox(small_budget, html, refusal):
    error = _error(html)
    assert error.field == "html_body"
    assert refusal in error.message


@pytest.mark.parametrize("html, expected", [
    ("{{ '{0:>6}|{1}'.format('ab', 'c') }}", "    ab|c"),
    ("{{ 'x'.zfill(5) }}", "0000x"),
    ("{{ '%(n)05d'|format(n=42) }}", "00042"),
    ("{{ ('{' * 20000) ~ ':' ~ ('1' * 5) }}", "{" * 20000 + ":11111"),
])
def test_ordinary_widths_still_render(small_budget, html, expected):
    assert render_template_parts("x", html, None, {}).html == expected


def test_saving_a_template_over_budget_is_refused(app, client, world):
    login(client, "root")
    response = client.post("/templates/new", headers=HX, data={
        "name": "Loops", "team_id": "", "subject": "Report {{ day }}",
        "html_body": NESTED_LOOPS, "text_body": ""})
    assert response.status_code == 422
    assert "longer than 1 s to render" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MailTemplate)) == 0


def test_sending_through_a_costly_template_fails_clearly(app, client, smtpd_factory,
                                                         make_smtp_sender):
    """A template stored before the check: the send is refused, nothing is sent, and the
    next request is served at once."""
    from portal.cli import SYSTEM
    from portal.tokens import service as tokens
    from tests.test_api import post
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="immediate", is_default=True)
    with app.app_context():
        db.session.add(MailTemplate(name="Bomb", subject="Report", html_body=DOUBLING))
        _token, secret = tokens.create_token(SYSTEM, "ETL", None)
        db.session.commit()
    response = post(client, secret, {"to": "alice@example.org", "template": "Bomb"})
    assert response.status_code == 422
    assert "more than 128 MB" in response.get_json()["error"]["message"]
    assert server.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert client.get("/healthz").status_code == 200


def test_compose_preview_shows_free_text_as_it_will_be_sent(app, client, world):
    login(client, "red_agent")
    response = client.post("/compose/preview", headers=HX, data={
        "sender_id": "", "to": "", "cc": "", "bcc": "", "template_id": "",
        "subject": "Total {{ 7*7 }}", "html_body": "<p>{{ 7*7 }}</p>", "text_body": "",
        "resource": ""})
    body = response.get_data(as_text=True)
    assert "Total {{ 7*7 }}" in body and "49" not in body


def test_deeply_nested_expressions_are_a_field_error_not_a_500(app, client, world):
    deep = "{{ " + "(" * 300 + "1" + ")" * 300 + " }}"
    login(client, "root")
    response = client.post("/templates/new", headers=HX, data={
        "name": "Deep", "team_id": "", "subject": "Report", "html_body": deep,
        "text_body": ""})
    assert response.status_code == 422
    assert "nests expressions too deeply" in response.get_data(as_text=True)
    preview = client.post("/templates/preview", headers=HX, data={
        "subject": "Report", "html_body": deep, "text_body": "", "preview_variables": ""})
    assert "nests expressions too deeply" in preview.get_data(as_text=True)
