"""Compose page: sender choice by scope, templates with variables, immediate/queued/individual."""

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.senders.models import Sender
from portal.templates_.models import MailTemplate
from tests.conftest import HX, csrf_from, login
from tests.outbox_helpers import AUTH


@pytest.fixture
def template(app, world):
    with app.app_context():
        tpl = MailTemplate(name="Weekly", team_id=world["red"], subject="Week {{ week }} report",
                           html_body="<p>Hello {{ name }}, week {{ week }} is done.</p>")
        db.session.add(tpl)
        db.session.commit()
        return tpl.id


def _post(client, **data):
    base = {"sender_id": "", "to": "alice@example.org", "cc": "", "bcc": "", "template_id": "",
            "subject": "Figures", "html_body": "<p>Here.</p>", "text_body": "", "resource": ""}
    base.update(data)
    return client.post("/compose", data=base, headers=HX)


def _messages(app):
    with app.app_context():
        rows = db.session.scalars(select(Message).order_by(Message.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_agent_sees_own_team_and_system_senders_only(client, world, smtpd_factory,
                                                     make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, name="SystemRelay")
    make_smtp_sender(server, name="RedRelay", team_id=world["red"])
    make_smtp_sender(server, name="BlueRelay", team_id=world["blue"])
    login(client, "red_agent")
    page = client.get("/compose").get_data(as_text=True)
    assert "SystemRelay" in page and "RedRelay" in page and "BlueRelay" not in page


def test_immediate_send_shows_success_inline(app, client, world, smtpd_factory,
                                             make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _post(client, sender_id=sid, to="alice@example.org; bob@example.org",
                     resource="/reports/weekly")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sent to alice@example.org, bob@example.org" in body
    (message,) = _messages(app)
    assert message.triggered_by == "red_agent" and message.client_ip == "127.0.0.1"
    assert message.resource == "/reports/weekly" and len(server.messages) == 1


def test_immediate_failure_shows_diagnosis(client, world, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "550 5.1.1 No such user"})
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    body = _post(client, sender_id=sid).get_data(as_text=True)
    assert "Not sent (failed)" in body and "550" in body and "recipient" in body


def test_deferred_send_is_queued_with_link(app, client, world, smtpd_factory,
                                           make_smtp_sender):
    sid = make_smtp_sender(smtpd_factory("plain", auth=AUTH), team_id=world["red"])
    login(client, "red_agent")
    body = _post(client, sender_id=sid).get_data(as_text=True)
    (message,) = _messages(app)
    assert "Queued" in body and f"/messages/{message.id}" in body
    assert client.get(f"/messages/{message.id}").status_code == 200


def test_template_with_variables(app, client, world, template, smtpd_factory,
                                 make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    fragment = client.get(f"/compose/variables?template_id={template}", headers=HX)
    text = fragment.get_data(as_text=True)
    assert 'name="var_name"' in text and 'name="var_week"' in text
    body = _post(client, sender_id=sid, template_id=template, subject="", html_body="",
                 var_name="Ada", var_week="47").get_data(as_text=True)
    assert "Sent to" in body
    received = server.messages[0].message
    assert received["Subject"] == "Week 47 report"
    assert "Hello Ada" in received.get_body(("html",)).get_content()
    assert _messages(app)[0].template_name == "Weekly"


@pytest.mark.parametrize("values", [{"var_name": "Ada"}, {"var_name": "Ada", "var_week": "  "},
                                    {"var_name": "", "var_week": ""}])
def test_missing_or_blank_variable_is_named_and_nothing_sent(app, client, world, template,
                                                             smtpd_factory, make_smtp_sender,
                                                             values):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _post(client, sender_id=sid, template_id=template, **values)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="error-summary"' in body
    assert 'href="#var-week"' in body and 'id="var-week-error"' in body
    assert ('href="#var-name"' in body) == (not values["var_name"])
    assert _messages(app) == [] and server.messages == []


def test_blank_variable_the_template_defaults_is_not_required(app, client, world,
                                                              smtpd_factory, make_smtp_sender):
    with app.app_context():
        tpl = MailTemplate(name="Note", team_id=world["red"], subject="Hi {{ name }}",
                           html_body="<p>{{ note | default('No note') }}</p>")
        db.session.add(tpl)
        db.session.commit()
        tpl_id = tpl.id
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _post(client, sender_id=sid, template_id=tpl_id, var_name="Ada", var_note="")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "No note" in server.messages[0].message.get_body(("html",)).get_content()


def test_template_ignores_typed_subject_and_body(app, client, world, template, smtpd_factory,
                                                make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _post(client, sender_id=sid, template_id=template, var_name="Ada", var_week="5",
                     subject="Typed\r\nBcc: x@example.org", html_body="<p>Typed body</p>",
                     text_body="typed text")
    assert response.status_code == 200, response.get_data(as_text=True)
    received = server.messages[0].message
    assert received["Subject"] == "Week 5 report" and received["Bcc"] is None
    assert "Typed" not in received.as_string() and "typed text" not in received.as_string()


def test_choosing_a_template_locks_subject_and_body_and_keeps_the_draft(client, world,
                                                                      template):
    login(client, "red_agent")
    page = client.get("/compose").get_data(as_text=True)
    csrf = csrf_from(page)
    headers = {**HX, "X-CSRFToken": csrf}
    locked = client.post("/compose/variables", headers=headers, data={
        "template_id": template, "subject": "My draft", "html_body": "<p>Mine</p>"})
    text = locked.get_data(as_text=True)
    assert re.search(r'<input id="subject" value="Week {{ week }} report" disabled', text)
    assert re.search(r'<textarea id="html_body"[^>]* disabled', text)
    assert "come from the template" in text
    assert '<input type="hidden" name="subject" value="My draft">' in text
    unlocked = client.post("/compose/variables", headers=headers, data={
        "template_id": "", "subject": "My draft", "html_body": "<p>Mine</p>"})
    text = unlocked.get_data(as_text=True)
    assert re.search(r'<input id="subject"[^>]*name="subject"[^>]*value="My draft"', text)
    assert "disabled" not in text and "come from the template" not in text


def test_default_sender_preselected(app, client, world, make_team, make_user, smtpd_factory,
                                    make_smtp_sender):
    server = smtpd_factory("plain")
    system = make_smtp_sender(server, name="SystemRelay", is_default=True)
    red = make_smtp_sender(server, name="RedDefault", team_id=world["red"], is_default=True)
    make_smtp_sender(server, name="RedOther", team_id=world["red"])
    amber = make_team("Amber")  # first by name, but without a default
    make_user("both", teams={world["red"]: "agent", amber: "agent", world["blue"]: "agent"})
    blue = make_smtp_sender(server, name="BlueDefault", team_id=world["blue"], is_default=True)
    for user, expected in (("red_agent", red), ("both", blue), ("root", system),
                           ("blue_admin", blue)):
        login(client, user)
        page = client.get("/compose").get_data(as_text=True)
        assert _selected_sender(page) == str(expected), user
        client.post("/logout")
    with app.app_context():
        db.session.get(Sender, blue).is_default = False
        db.session.commit()
    login(client, "blue_agent")
    assert _selected_sender(client.get("/compose").get_data(as_text=True)) == str(system)


def _selected_sender(page: str) -> str | None:
    select = re.search(r'<select[^>]*name="sender_id".*?</select>', page, re.S).group(0)
    found = re.search(r'<option selected value="(\d*)"|<option value="(\d*)" selected', select)
    return next((g for g in found.groups() if g), None) if found else None


def test_success_resets_the_form_but_keeps_the_sender(client, world, smtpd_factory,
                                                      make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    body = _post(client, sender_id=sid, cc="carol@example.org",
                 resource="/r/1").get_data(as_text=True)
    form, after = body.split("</form>", 1)
    assert 'id="compose-area"' in form and "Sent to alice@example.org" in after
    assert _selected_sender(form) == str(sid)
    assert "alice@example.org" not in form and "carol@example.org" not in form
    assert "Figures" not in form and "/r/1" not in form and "error-summary" not in form


def test_deferred_result_polls_until_final(app, client, world, smtpd_factory,
                                           make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"])
    login(client, "red_agent")
    body = _post(client, sender_id=sid).get_data(as_text=True)
    (message,) = _messages(app)
    poll = f'hx-get="/compose/result/{message.id}" hx-trigger="every 2s"'
    assert "Queued for alice@example.org" in body and poll in body
    waiting = client.get(f"/compose/result/{message.id}", headers=HX).get_data(as_text=True)
    assert poll in waiting and "autofocus" not in waiting
    Worker(app).run_once()
    done = client.get(f"/compose/result/{message.id}", headers=HX).get_data(as_text=True)
    assert "Sent to alice@example.org" in done and "hx-trigger" not in done
    assert len(server.messages) == 1
    client.post("/logout")
    login(client, "blue_agent")
    assert client.get(f"/compose/result/{message.id}", headers=HX).status_code == 404


def test_preview_renders_in_sandboxed_iframe(client, world, template):
    login(client, "red_agent")
    body = client.post("/compose/preview", headers=HX, data={
        "template_id": template, "var_name": "<b>x</b>", "var_week": "3"}).get_data(as_text=True)
    assert '<iframe sandbox=""' in body and "&lt;b&gt;x&lt;/b&gt;" in body.replace("&amp;", "&")
    assert "Fill in" not in body


def test_preview_warns_about_blank_variables(client, world, template):
    login(client, "red_agent")
    body = client.post("/compose/preview", headers=HX, data={
        "template_id": template, "var_name": "", "var_week": " "}).get_data(as_text=True)
    assert "Fill in name, week: the template needs them." in body
    assert "Week {week} report" in body and "Hello ," not in body


@pytest.mark.parametrize("change, message", [
    ({"to": "not-an-address"}, "not a valid address"),
    ({"to": ""}, "Enter at least one recipient."),
    ({"cc": "x@@example.org"}, "not a valid address"),
    ({"subject": "Hi\r\nBcc: x@example.org"}, "one line"),
    ({"subject": ""}, "Enter a subject"),
    ({"sender_id": "999"}, "Not a valid choice"),
])
def test_bad_input_named_and_nothing_sent(app, client, world, smtpd_factory,
                                          make_smtp_sender, change, message):
    sid = make_smtp_sender(smtpd_factory("plain"), team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    response = _post(client, **{"sender_id": sid, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _messages(app) == []


def test_other_team_sender_not_offered_or_accepted(app, client, world, smtpd_factory,
                                                   make_smtp_sender):
    blue = make_smtp_sender(smtpd_factory("plain"), team_id=world["blue"], mode="immediate")
    login(client, "red_agent")
    assert _post(client, sender_id=blue).status_code == 422
    assert _messages(app) == []


def test_send_individually_queues_one_each_and_shows_progress(app, client, world,
                                                              smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    body = _post(client, sender_id=sid, individually="y",
                 to="a@example.org\nb@example.org\nc@example.org").get_data(as_text=True)
    assert "0 of 3 processed" in body and 'hx-trigger="every 1s"' in body
    ids = ",".join(str(m.id) for m in _messages(app))
    Worker(app).run_once()
    done = client.get(f"/compose/progress?ids={ids}", headers=HX).get_data(as_text=True)
    assert "Done: 3 of 3" in done and "every 1s" not in done
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "a@example.org", "b@example.org", "c@example.org"]


def test_individually_refuses_cc(app, client, world, smtpd_factory, make_smtp_sender):
    sid = make_smtp_sender(smtpd_factory("plain"), team_id=world["red"])
    login(client, "red_agent")
    response = _post(client, sender_id=sid, individually="y", cc="x@example.org")
    assert response.status_code == 422 and "Cc and Bcc cannot be used" in response.get_data(
        as_text=True)


def test_message_detail_scoping(app, client, world, smtpd_factory, make_smtp_sender):
    sid = make_smtp_sender(smtpd_factory("plain"), team_id=world["red"])
    login(client, "red_agent")
    _post(client, sender_id=sid)
    pk = _messages(app)[0].id
    client.post("/logout")
    for user, status in (("blue_agent", 404), ("blue_admin", 404), ("red_admin", 200),
                         ("root", 200)):
        login(client, user)
        assert client.get(f"/messages/{pk}").status_code == status, user
        client.post("/logout")


def test_system_sender_with_team_template_is_recorded_for_the_team(
        app, client, world, template, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, name="SystemRelay", mode="immediate")
    login(client, "red_agent")
    body = _post(client, sender_id=sid, template_id=template, subject="", html_body="",
                 var_name="Ada", var_week="9").get_data(as_text=True)
    assert "Sent to" in body
    (message,) = _messages(app)
    assert message.team_id == world["red"]
    client.post("/logout")
    login(client, "red_admin")
    assert client.get(f"/messages/{message.id}").status_code == 200


def test_other_team_template_refused_by_id(app, client, world, smtpd_factory,
                                           make_smtp_sender):
    with app.app_context():
        blue = MailTemplate(name="Blue only", team_id=world["blue"], subject="x",
                            html_body="<p>x</p>")
        db.session.add(blue)
        db.session.commit()
        blue_id = blue.id
    sid = make_smtp_sender(smtpd_factory("plain"), mode="immediate")
    login(client, "red_agent")
    response = _post(client, sender_id=sid, template_id=blue_id)
    assert response.status_code == 422
    assert _messages(app) == []
