"""Template pages and rules: CRUD, validation, scoping by team, preview, team deletion."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User
from portal.errors import ServiceError
from portal.extensions import db
from portal.templates_ import service
from portal.templates_.models import MailTemplate
from tests.conftest import HX, login

VALID = {"name": "Daily report", "team_id": "", "subject": "Report for {{ day }}",
         "html_body": "<p>Hello {{ name }}</p>", "text_body": "Hello {{ name }}"}


@pytest.fixture
def make_template(app):
    def make(name: str, team_id=None, subject="Subject {{ x }}", html="<p>{{ x }}</p>"):
        with app.app_context():
            template = MailTemplate(name=name, team_id=team_id, subject=subject,
                                    html_body=html)
            db.session.add(template)
            db.session.commit()
            return template.id

    return make


def _rows(app) -> list[tuple]:
    with app.app_context():
        query = select(MailTemplate.name, MailTemplate.team_id).order_by(MailTemplate.id)
        return [tuple(row) for row in db.session.execute(query)]


def _get(app, template_id) -> MailTemplate | None:
    with app.app_context():
        template = db.session.get(MailTemplate, template_id)
        if template is not None:
            db.session.expunge(template)
        return template


# --- create, edit, delete through the views ----------------------------------------------

def test_create_system_template_via_htmx(app, client, world):
    login(client, "root")
    response = client.post("/templates/new", data=VALID, headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/templates"
    assert _rows(app) == [("Daily report", None)]
    page = client.get("/templates").get_data(as_text=True)
    assert "Template “Daily report” saved." in page
    assert "Daily report" in page and "Report for {{ day }}" in page and "System" in page


def test_plain_post_redirects_and_text_body_optional(app, client, world):
    login(client, "red_admin")
    data = {**VALID, "team_id": str(world["red"]), "text_body": "  "}
    response = client.post("/templates/new", data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/templates"
    with app.app_context():
        template = db.session.scalars(select(MailTemplate)).one()
        assert template.team_id == world["red"] and template.text_body is None
        assert template.created_at.tzinfo is not None


def test_edit_template(app, client, world, make_template):
    template_id = make_template("Old", team_id=world["red"])
    login(client, "red_admin")
    page = client.get(f"/templates/{template_id}").get_data(as_text=True)
    assert 'value="Old"' in page and f'<option selected value="{world["red"]}">' in page
    assert "x=[x]" in page  # the preview starts with a placeholder per variable
    data = {**VALID, "name": "New name", "team_id": str(world["red"])}
    response = client.post(f"/templates/{template_id}", data=data, headers=HX)
    assert response.status_code == 204
    saved = _get(app, template_id)
    assert saved.name == "New name" and saved.subject == "Report for {{ day }}"


def test_delete_asks_then_deletes(app, client, world, make_template):
    template_id = make_template("Doomed")
    login(client, "root")
    confirm = client.get(f"/templates/{template_id}/delete").get_data(as_text=True)
    assert "Delete template “Doomed” (System)? This cannot be undone." in confirm
    assert f'action="/templates/{template_id}/delete"' in confirm
    assert 'name="csrf_token"' in confirm
    assert _get(app, template_id) is not None  # GET changes nothing
    response = client.post(f"/templates/{template_id}/delete", headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/templates"
    assert _get(app, template_id) is None
    assert "Template “Doomed” deleted." in client.get("/templates").get_data(as_text=True)


def test_empty_list_offers_new_template(client, world):
    login(client, "root")
    body = client.get("/templates").get_data(as_text=True)
    assert "No templates yet." in body and 'href="/templates/new"' in body
    fragment = client.get("/templates", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and 'id="templates"' in fragment


def test_every_input_has_a_label(client, world):
    login(client, "root")
    body = client.get("/templates/new").get_data(as_text=True)
    for name in ("name", "team_id", "subject", "html_body", "text_body", "preview_variables"):
        assert f'<label for="{name}">' in body and f'id="{name}"' in body


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field, message", [
    ({"name": ""}, "name", "Enter a name for the template."),
    ({"name": "x" * 121}, "name", "Name must be at most 120 characters."),
    ({"name": "a\tb"}, "name", "Name must be one line"),
    ({"subject": ""}, "subject", "Enter a subject."),
    ({"subject": "a\r\nBcc: x@example.com"}, "subject", "Subject must be one line"),
    ({"subject": "x" * 999}, "subject", "Subject must be at most 998 characters."),
    ({"html_body": "   "}, "html_body", "Enter the HTML body."),
    ({"html_body": "x" * (200 * 1024 + 1)}, "html_body", "HTML body is too large"),
    ({"html_body": "<p>\n{% if x %}</p>"}, "html_body", "Line 2 of the HTML body:"),
    ({"subject": "Hi {{ name"}, "subject", "Line 1 of the subject:"),
    ({"text_body": "{% endfor %}"}, "text_body", "Line 1 of the plain-text body:"),
    ({"html_body": "{{ request.cookies }}"}, "html_body", "“request” is not allowed"),
])
def test_invalid_form_names_the_field_and_saves_nothing(app, client, world, changes, field,
                                                        message):
    login(client, "root")
    response = client.post("/templates/new", data={**VALID, **changes}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in body and 'id="template-editor"' in body
    assert f'<small id="{field}-error" class="error">{message}' in body
    assert _rows(app) == []


def test_duplicate_name_in_scope_rejected_case_insensitively(app, client, world,
                                                             make_template):
    make_template("Daily report")
    make_template("Weekly", team_id=world["red"])
    login(client, "root")
    response = client.post("/templates/new", data={**VALID, "name": "  DAILY   report "},
                           headers=HX)
    assert response.status_code == 422
    assert "A template named “DAILY report” already exists at system level." in \
        response.get_data(as_text=True)
    # The same name in another scope is fine, and a team name only clashes in its team.
    ok = client.post("/templates/new", data={**VALID, "team_id": str(world["red"])},
                     headers=HX)
    assert ok.status_code == 204
    clash = client.post("/templates/new", data={**VALID, "name": "weekly",
                                                 "team_id": str(world["red"])}, headers=HX)
    assert clash.status_code == 422 and "already exists in this team" in clash.get_data(
        as_text=True)
    assert len(_rows(app)) == 3


def test_database_enforces_unique_names_per_scope(app, make_template, world):
    make_template("Same")
    make_template("Same", team_id=world["red"])
    make_template("Same", team_id=world["blue"])
    for team_id in (None, world["red"]):
        with app.app_context():
            db.session.add(MailTemplate(name="Same", team_id=team_id, subject="s",
                                        html_body="b"))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_renaming_to_own_name_is_not_a_duplicate(app, client, world, make_template):
    template_id = make_template("Mine")
    login(client, "root")
    response = client.post(f"/templates/{template_id}", data={**VALID, "name": "MINE"},
                           headers=HX)
    assert response.status_code == 204 and _get(app, template_id).name == "MINE"


# --- scoping --------------------------------------------------------------------------------

def test_team_admin_sees_only_their_teams_templates(client, world, make_template):
    make_template("System one")
    make_template("Red one", team_id=world["red"])
    make_template("Blue one", team_id=world["blue"])
    login(client, "red_admin")
    body = client.get("/templates").get_data(as_text=True)
    assert "Red one" in body and "Blue one" not in body and "System one" not in body


def test_team_admin_cannot_touch_other_teams_or_system_templates(app, client, world,
                                                                 make_template):
    blue_id = make_template("Blue one", team_id=world["blue"])
    system_id = make_template("System one")
    login(client, "red_admin")
    for template_id in (blue_id, system_id):
        assert client.get(f"/templates/{template_id}").status_code == 404
        data = {**VALID, "team_id": str(world["red"])}
        assert client.post(f"/templates/{template_id}", data=data).status_code == 404
        assert client.get(f"/templates/{template_id}/delete").status_code == 404
        assert client.post(f"/templates/{template_id}/delete").status_code == 404
    assert _get(app, blue_id).name == "Blue one" and _get(app, system_id) is not None


def test_team_admin_cannot_create_system_or_other_team_template(app, client, world):
    login(client, "red_admin")
    page = client.get("/templates/new").get_data(as_text=True)
    assert "System (all teams)" not in page and "Blue" not in page
    for team_id in ("", str(world["blue"])):
        response = client.post("/templates/new", data={**VALID, "team_id": team_id},
                               headers=HX)
        assert response.status_code == 422
        assert "only system administrators can manage system-level templates" in \
            response.get_data(as_text=True)
    assert _rows(app) == []


def test_service_refuses_system_template_for_team_admin(app, world):
    with app.app_context():
        actor = db.session.get(User, world["red_admin"])
        with pytest.raises(ServiceError) as caught:
            service.save_template(actor, None, {**VALID, "team_id": None})
        assert caught.value.field == "team_id"
        assert db.session.scalars(select(MailTemplate)).all() == []


@pytest.mark.parametrize("url", ["/templates", "/templates/new", "/templates/1",
                                 "/templates/1/delete"])
def test_agent_gets_403(client, world, make_template, url):
    make_template("Red one", team_id=world["red"])
    login(client, "red_agent")
    assert client.get(url).status_code == 403
    assert client.post("/templates/preview", data={"subject": "x"}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/templates")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_visible_and_usable_templates(app, world, make_template):
    system_id = make_template("Welcome")
    red_id = make_template("Welcome", team_id=world["red"])
    blue_id = make_template("Blue only", team_id=world["blue"])
    with app.app_context():
        agent = db.session.get(User, world["red_agent"])
        assert {t.id for t in service.visible_templates(agent)} == {system_id, red_id}
        assert service.managed_templates(agent) == []
        assert service.get_usable_template(agent, "welcome", world["red"]).id == red_id
        assert service.get_usable_template(None, "Welcome", world["blue"]).id == system_id
        assert service.get_usable_template(None, "Welcome", None).id == system_id
        assert service.get_usable_template(agent, blue_id, world["red"]) is None
        assert service.get_usable_template(agent, "Blue only", world["blue"]) is None
        assert service.get_usable_template(None, blue_id, world["blue"]).id == blue_id
        assert db.session.scalar(select(MailTemplate).where(
            MailTemplate.id == red_id, MailTemplate.managed_by(agent))) is None


# --- preview ------------------------------------------------------------------------------

def test_preview_renders_into_sandboxed_iframe(client, world):
    login(client, "root")
    data = {"subject": "Hi {{ name }}", "html_body": '<p title="q">{{ name }}</p>',
            "text_body": "Hi {{ name }}", "preview_variables": "name=<b>Ada</b>"}
    response = client.post("/templates/preview", data=data, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert '<iframe sandbox="" srcdoc="&lt;p title=&#34;q&#34;&gt;&amp;lt;b&amp;gt;Ada' in body
    assert "<p title" not in body  # the template's HTML never lands in the page itself
    assert "<strong>Subject:</strong> Hi &lt;b&gt;Ada&lt;/b&gt;" in body
    assert '<code translate="no">name</code>' in body


def test_preview_shows_missing_variable_error(client, world):
    login(client, "root")
    data = {"subject": "Hi {{ name }}", "html_body": "<p>{{ city }}</p>",
            "preview_variables": '{"name": "Ada"}'}
    body = client.post("/templates/preview", data=data, headers=HX).get_data(as_text=True)
    assert "The variable “city” is missing: supply it or remove it from the HTML body." in body
    assert "<iframe" not in body
    assert '<code translate="no">city</code>, <code translate="no">name</code>' in body


def test_preview_sandbox_escape_and_syntax_error_are_shown_not_500(client, world):
    login(client, "root")
    escape = client.post("/templates/preview", headers=HX, data={
        "subject": "x", "html_body": "{{ cycler.__init__.__globals__ }}"})
    assert escape.status_code == 200
    assert "not allowed in templates" in escape.get_data(as_text=True)
    broken = client.post("/templates/preview", headers=HX, data={
        "subject": "x", "html_body": "{% for %}"})
    assert broken.status_code == 200
    assert "Line 1 of the HTML body:" in broken.get_data(as_text=True)


def test_form_posts_preview_on_input(client, world):
    login(client, "root")
    body = client.get("/templates/new").get_data(as_text=True)
    assert 'hx-post="/templates/preview"' in body
    assert 'hx-trigger="input changed delay:500ms"' in body
    assert 'hx-target="#template-preview"' in body


# --- syntax errors in plain words ------------------------------------------------------

@pytest.mark.parametrize("html, message", [
    ("<p>Hi</p>\n{% if paid %}\n<p>Thanks</p>",
     "Line 2 of the HTML body: the {% if %} block opened here is not closed with {% endif %}."),
    ("{% for item in items %}\n{% if item %}x\n{% endfor %}",
     "Line 3 of the HTML body: {% endfor %} does not match the {% if %} block opened on "
     "line 2; close that block with {% endif %} first."),
    ("<p>\n{% iff paid %}yes{% endif %}",
     "Line 2 of the HTML body: {% iff %} is not a known tag; did you mean {% if %}?"),
    ("{% endif %}", "Line 1 of the HTML body: {% endif %} has no {% if %} before it to close."),
    ("<p>{{ total + }}</p>", "Line 1 of the HTML body: the expression stops too early"),
    ("<p>{{ first name }}</p>", "Line 1 of the HTML body: “name” was not expected here; "
                                "close the variable with }}"),
    ("{% if status = 'paid' %}ok{% endif %}",
     "Line 1 of the HTML body: a single “=” cannot compare values; write =="),
    ("<p>Hello</p>\n<p>{{ name </p>",
     "Line 2 of the HTML body: a variable’s {{ is not closed with }}."),
    ("x\n<p>Hello {{ name }</p>",
     "Line 2 of the HTML body: a variable’s {{ is not closed with }}."),
    ("{% if paid }}yes{% endif %}", "Line 1 of the HTML body: a tag’s {% is not closed with %}."),
    ("{{ 'unclosed }}", "Line 1 of the HTML body: a text in quotes is not closed"),
])
def test_syntax_errors_are_plain_words_with_the_line(html, message):
    from portal.templates_.wording import syntax_problems

    problems = syntax_problems("Subject", html, None)
    assert problems["html_body"].startswith(message), problems
    assert "Jinja" not in problems["html_body"] and "token" not in problems["html_body"]


def test_plain_wording_names_the_part_and_keeps_other_problems():
    from portal.templates_.wording import syntax_problems

    problems = syntax_problems("Hi {{ name", "{{ request.cookies }}", "{% endfor %}")
    assert problems["subject"] == ("Line 1 of the subject: a variable’s {{ is not closed "
                                   "with }}.")
    assert "“request” is not allowed" in problems["html_body"]  # not a syntax error
    assert problems["text_body"].startswith("Line 1 of the plain-text body: {% endfor %}")
    assert syntax_problems("Hi {{ name }}", "<p>{% if a %}b{% endif %}</p>", None) == {}


def test_editor_shows_plain_syntax_errors_on_save_and_in_preview(app, client, world):
    login(client, "root")
    broken = {**VALID, "html_body": "<p>Hi</p>\n{% if paid %}\n<p>Thanks</p>"}
    response = client.post("/templates/new", data=broken, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    expected = ("Line 2 of the HTML body: the {% if %} block opened here is not closed "
                "with {% endif %}.")
    assert f'<small id="html_body-error" class="error">{expected}</small>' in body
    assert "Unexpected end of template" not in body and "Jinja" not in body
    assert 'class="error-summary" tabindex="-1"' in body
    preview = client.post("/templates/preview", headers=HX, data={
        "subject": "x", "html_body": "<p>{{ first name }}</p>"}).get_data(as_text=True)
    assert "Line 1 of the HTML body: “name” was not expected here" in preview
    assert "expected token" not in preview
    assert _rows(app) == []


def test_new_template_from_a_team_page_preselects_the_team(client, world):
    login(client, "red_admin")
    body = client.get(f"/templates/new?team={world['red']}").get_data(as_text=True)
    assert f'<option selected value="{world["red"]}">' in body
    blue = client.get(f"/templates/new?team={world['blue']}").get_data(as_text=True)
    assert f'value="{world["blue"]}"' not in blue  # not a team this admin manages


# --- escaping and team deletion -----------------------------------------------------------

def test_xss_in_name_is_escaped_on_list(client, world, make_template):
    make_template("<script>alert(1)</script>")
    login(client, "root")
    body = client.get("/templates").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_team_with_template_cannot_be_deleted(app, client, world, make_team, make_template):
    team_id = make_team("Lonely")
    template_id = make_template("Kept", team_id=team_id)
    login(client, "root")
    body = client.post(f"/teams/{team_id}/delete", headers=HX).get_data(as_text=True)
    assert "it still has 1 template" in body
    client.post(f"/templates/{template_id}/delete")
    body = client.post(f"/teams/{team_id}/delete", headers=HX).get_data(as_text=True)
    assert "Team “Lonely” deleted." in body


@pytest.mark.browser
def test_live_preview_and_save_in_browser(page, portal_server, world):
    """In Chromium: typing refreshes the sandboxed preview; Save shows errors, then saves."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD
    from tests.test_browser_foundation import sign_in

    sign_in(page, portal_server, "root", PASSWORD)
    page.goto(portal_server.url + "/templates/new")
    page.get_by_label("Subject").fill("Hello {{ name }}")
    page.get_by_label("HTML body").fill("<p>Dear {{ name }}</p>")
    expect(page.get_by_text("The variable “name” is missing")).to_be_visible()
    page.get_by_label("Preview variables").fill("name=<Ada>")
    expect(page.get_by_text("Subject: Hello <Ada>")).to_be_visible()
    frame = page.frame_locator("#template-preview iframe[sandbox='']")
    expect(frame.locator("p")).to_have_text("Dear <Ada>")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#name-error")).to_have_text("Enter a name for the template.")
    expect(page.locator(".error-summary")).to_be_focused()
    page.get_by_label("Name").fill("Greeting")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Template “Greeting” saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Greeting", exact=True)).to_be_visible()
