"""Attachments on the compose page (files uploaded with the form) and the sender's
message size limit in the sender form."""

import io
import os

from sqlalchemy import select

from portal.extensions import db
from portal.outbox.models import Message
from portal.senders.models import Sender
from tests.attachment_helpers import PDF, XLSX, assert_both_names, attachments_of
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH
from tests.sender_helpers import sender_form


def _post(client, files, **data):
    base = {"sender_id": "", "to": "alice@example.org", "cc": "", "bcc": "", "template_id": "",
            "subject": "Figures", "html_body": "<p>Here.</p>", "text_body": "", "resource": "",
            "attachments": files}
    base.update(data)
    return client.post("/compose", data=base, headers=HX, content_type="multipart/form-data")


def _relay(smtpd_factory, make_smtp_sender, world, **sender):
    server = smtpd_factory("plain", auth=AUTH)
    server.sender_id = make_smtp_sender(server, team_id=world["red"], mode="immediate",
                                        **sender)
    return server


def test_compose_sends_chinese_named_files_intact(app, client, world, smtpd_factory,
                                                  make_smtp_sender):
    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    sheet, pdf = os.urandom(120_000), os.urandom(3000)
    response = _post(client, [(io.BytesIO(sheet), XLSX), (io.BytesIO(pdf), PDF)],
                     sender_id=server.sender_id)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    (received,) = server.messages
    found = attachments_of(received)
    assert found[XLSX].get_content() == sheet and found[PDF].get_content() == pdf
    assert_both_names(received.content, [XLSX, PDF])
    # A fresh form after success: the chosen files are not kept for the next mail.
    assert 'id="compose-files"' in body and "hx-preserve" not in body
    with app.app_context():
        message = db.session.scalars(select(Message)).one()
        assert [a["filename"] for a in message.attachments] == [XLSX, PDF]


def test_no_file_chosen_sends_without_attachments(app, client, world, smtpd_factory,
                                                  make_smtp_sender):
    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    response = _post(client, [(io.BytesIO(b""), "")], sender_id=server.sender_id)
    assert response.status_code == 200
    assert attachments_of(server.messages[0]) == {}
    with app.app_context():
        assert db.session.scalars(select(Message)).one().attachments is None


def test_over_the_limit_is_a_field_error_naming_it_and_keeps_the_files(
        app, client, world, smtpd_factory, make_smtp_sender):
    server = _relay(smtpd_factory, make_smtp_sender, world)
    with app.app_context():
        db.session.get(Sender, server.sender_id).max_message_bytes = 1024 * 1024
        db.session.commit()
    login(client, "red_agent")
    response = _post(client, [(io.BytesIO(os.urandom(900_000)), XLSX)],
                     sender_id=server.sender_id)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="attachments-error"' in body and "1 MB" in body
    assert 'id="compose-files" hx-preserve="true"' in body  # the chosen files stay
    assert server.messages == []
    with app.app_context():
        assert db.session.scalars(select(Message)).all() == []


def test_executable_is_a_field_error(app, client, world, smtpd_factory, make_smtp_sender):
    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    response = _post(client, [(io.BytesIO(b"MZ"), "setup.exe")], sender_id=server.sender_id)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "setup.exe" in body
    assert 'id="attachments-error"' in body and server.messages == []


def test_sending_individually_attaches_the_files_to_each_copy(app, client, world,
                                                              smtpd_factory, make_smtp_sender):
    from portal.outbox.worker import Worker

    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    pdf = os.urandom(2000)
    response = _post(client, [(io.BytesIO(pdf), PDF)], sender_id=server.sender_id,
                     to="a@example.org, b@example.org", individually="y")
    assert response.status_code == 200
    Worker(app, batch=10).run_once()
    assert len(server.messages) == 2
    assert all(attachments_of(m)[PDF].get_content() == pdf for m in server.messages)


def test_sending_individually_refuses_files_too_large_for_every_copy(
        app, client, world, smtpd_factory, make_smtp_sender, monkeypatch):
    from portal.outbox import attachments

    monkeypatch.setattr(attachments, "MAX_COPIES_BYTES", 60_000)  # 2 copies
    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    response = _post(client, [(io.BytesIO(os.urandom(20_000)), PDF)],
                     sender_id=server.sender_id, individually="y",
                     to="a@example.org, b@example.org, c@example.org")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="attachments-error"' in body and "once per recipient" in body
    assert 'id="compose-files" hx-preserve="true"' in body  # the chosen files stay
    with app.app_context():
        assert db.session.scalars(select(Message)).all() == []
    # Two copies fit; so does one message to all three.
    assert _post(client, [(io.BytesIO(os.urandom(20_000)), PDF)], sender_id=server.sender_id,
                 individually="y", to="a@example.org, b@example.org").status_code == 200
    assert _post(client, [(io.BytesIO(os.urandom(20_000)), PDF)], sender_id=server.sender_id,
                 to="a@example.org, b@example.org, c@example.org").status_code == 200


def test_compose_body_may_exceed_the_usual_form_limit(app, client, world, smtpd_factory,
                                                      make_smtp_sender):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    server = _relay(smtpd_factory, make_smtp_sender, world)
    login(client, "red_agent")
    sheet = os.urandom(300_000)
    response = _post(client, [(io.BytesIO(sheet), XLSX)], sender_id=server.sender_id)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert attachments_of(server.messages[0])[XLSX].get_content() == sheet
    # Other forms keep MAX_CONTENT_LENGTH.
    big = client.post("/profile", data={"display_name": "x" * 200_000}, headers=HX)
    assert big.status_code == 413


def test_sender_form_stores_the_limit_in_bytes_and_shows_megabytes(app, client, world):
    login(client, "root")
    response = client.post("/senders/new", data=sender_form(max_message_bytes="10"),
                           headers=HX)
    assert response.status_code in (200, 204, 303), response.get_data(as_text=True)[:500]
    with app.app_context():
        sender = db.session.scalars(select(Sender)).one()
        assert sender.max_message_bytes == 10 * 1024 * 1024
        sender_id = sender.id
    page = client.get(f"/senders/{sender_id}").get_data(as_text=True)
    assert 'name="max_message_bytes"' in page and 'value="10"' in page
    refused = client.post("/senders/new", data=sender_form(name="Other",
                                                           max_message_bytes="500"),
                          headers=HX)
    assert refused.status_code == 422 and "150 MB" in refused.get_data(as_text=True)


def test_presets_fill_the_providers_documented_limit(client, world):
    login(client, "root")
    gmail = client.get("/senders/preset?preset=gmail", headers=HX).get_data(as_text=True)
    outlook = client.get("/senders/preset?preset=outlook", headers=HX).get_data(as_text=True)
    custom = client.get("/senders/preset?preset=custom", headers=HX).get_data(as_text=True)
    assert 'id="max-size-field" hx-swap-oob="true"' in gmail
    assert 'name="max_message_bytes"' in gmail and 'value="25"' in gmail
    assert 'value="35"' in outlook
    field = custom.split('name="max_message_bytes"')[1].split(">")[0]
    assert 'value=""' in field  # no documented limit: empty, the 25 MB default
