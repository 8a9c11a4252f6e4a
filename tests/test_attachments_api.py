"""Attachments through the JSON API (base64 and multipart) to a real SMTP server: the bytes
arrive intact and both file-name parameters carry the original Chinese names."""

import base64
import io
import json
import os
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail.attachments import is_executable
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.senders.models import Sender
from tests.attachment_helpers import PDF, XLSX, assert_both_names, attachments_of

URL = "/api/v1/messages"
MAIL = {"to": "alice@example.org", "subject": "Monthly figures",
        "html": "<p>Figures attached.</p>"}


def _auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def _file(name: str, content: bytes, **extra) -> dict:
    return {"filename": name, "content": base64.b64encode(content).decode(), **extra}


def _post(client, secret, body):
    return client.post(URL, json=body, headers=_auth(secret))


def _error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert error.get("field") == field
    return error


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def test_json_attachments_arrive_intact_with_both_name_forms(app, client, relay, make_token):
    sheet, pdf = os.urandom(70_000), b"%PDF-1.7\n" + os.urandom(5000)
    secret = make_token()
    response = _post(client, secret, {**MAIL, "attachments": [
        _file(XLSX, sheet), _file(PDF, pdf, content_type="application/pdf")]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "sent"
    (received,) = relay.messages
    found = attachments_of(received)
    assert found[XLSX].get_content() == sheet and found[PDF].get_content() == pdf
    assert found[XLSX].get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert found[PDF].get_param("name") == PDF
    assert_both_names(received.content, [XLSX, PDF])
    with app.app_context():
        message = db.session.scalars(select(Message)).one()
        assert message.raw_message == received.content
        assert [(a["filename"], a["size"]) for a in message.attachments] == [
            (XLSX, len(sheet)), (PDF, len(pdf))]
    details = client.get(f"{URL}/{response.json['id']}", headers=_auth(secret)).json
    assert details["attachments"] == [
        {"filename": XLSX, "size": len(sheet), "inline": False, "content_type":
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"filename": PDF, "size": len(pdf), "inline": False, "content_type": "application/pdf"}]


def test_multipart_message_part_and_file_parts(app, client, relay, make_token):
    sheet, pdf = os.urandom(300_000), os.urandom(1000)
    data = {"message": (io.BytesIO(json.dumps(MAIL).encode()), "msg.json", "application/json"),
            "file": [(io.BytesIO(sheet), XLSX, "application/octet-stream"),
                     (io.BytesIO(pdf), PDF, "application/pdf")]}
    response = client.post(URL, data=data, headers=_auth(make_token()),
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    (received,) = relay.messages
    found = attachments_of(received)
    assert found[XLSX].get_content() == sheet and found[PDF].get_content() == pdf
    assert found[XLSX].get_content_type().endswith("spreadsheetml.sheet")  # guessed
    assert_both_names(received.content, [XLSX, PDF])


def test_multipart_message_as_a_plain_field_with_jsonattachments_of(app, client, relay,
                                                                  make_token):
    body = {**MAIL, "attachments": [_file("notes.txt", b"one\r\ntwo\r\n")]}
    response = client.post(URL, data={"message": json.dumps(body),
                                      "file": (io.BytesIO(b"\x00\x01"), "raw.bin")},
                           headers=_auth(make_token()), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    found = attachments_of(relay.messages[0])
    assert found["notes.txt"].get_content() == "one\ntwo\n" or \
        found["notes.txt"].get_payload(decode=True) == b"one\r\ntwo\r\n"
    assert found["raw.bin"].get_payload(decode=True) == b"\x00\x01"
    with app.app_context():
        names = [a["filename"] for a in db.session.scalars(select(Message)).one().attachments]
    assert names == ["notes.txt", "raw.bin"]


def test_multipart_without_message_part_is_refused(app, client, relay, make_token):
    response = client.post(URL, data={"file": (io.BytesIO(b"x"), "a.pdf")},
                           headers=_auth(make_token()), content_type="multipart/form-data")
    _error(response, 400, "invalid_json", "message")
    assert _count(app) == 0


def test_inline_image_is_related_to_the_html(app, client, relay, make_token):
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
    response = _post(client, make_token(), {
        **MAIL, "html": '<p><img src="cid:chart-1@reports" alt="chart"></p>',
        "attachments": [_file("chart.png", png, inline=True, content_id="chart-1@reports"),
                        _file(PDF, b"pdf")]})
    assert response.status_code == 200, response.get_data(as_text=True)
    message = BytesParser(policy=policy.default).parsebytes(relay.messages[0].content)
    related = message.get_body(preferencelist=("related",))
    assert related is not None and related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert "cid:chart-1@reports" in html.get_content()
    assert image["Content-ID"] == "<chart-1@reports>"
    assert image.get_content_disposition() == "inline" and image.get_content() == png
    assert [p.get_filename() for p in message.iter_attachments()] == [PDF]


@pytest.mark.parametrize(("item", "field", "code"), [
    ({"filename": "a.pdf", "content": "not base64!"}, "attachments[1].content",
     "invalid_base64"),
    ({"filename": "a.pdf", "content": "QUJD\nREVG"}, "attachments[1].content",
     "invalid_base64"),
    ({"filename": "a.pdf", "content": "QUJ"}, "attachments[1].content", "invalid_base64"),
    ({"filename": "a\r\nBcc: x@evil.example.pdf", "content": "QUJD"},
     "attachments[1].filename", "invalid_attachment"),
    ({"filename": "=?utf-8?b?YQ0KQmNjOiB4?=\x0b.pdf", "content": "QUJD"},
     "attachments[1].filename", "invalid_attachment"),
    ({"filename": "../etc/passwd", "content": "QUJD"}, "attachments[1].filename",
     "invalid_attachment"),
    ({"filename": "a.pdf", "content": "QUJD", "content_type": "text/plain\r\nX-Evil: 1"},
     "attachments[1].content_type", "invalid_attachment"),
    ({"filename": "a.pdf", "content": "QUJD", "inline": True}, "attachments[1].content_id",
     "invalid_attachment"),
    ({"filename": "a.pdf", "content": "QUJD", "size": 3}, "attachments[1].size",
     "unknown_field"),
    ({"filename": 7, "content": "QUJD"}, "attachments[1].filename", "invalid_type"),
    ("a.pdf", "attachments[1]", "invalid_type"),
])
def test_bad_attachments_name_the_field(app, client, relay, make_token, item, field, code):
    body = {**MAIL, "attachments": [_file("fine.txt", b"ok"), item]}
    _error(_post(client, make_token(), body), 422, code, field)
    assert _count(app) == 0 and relay.messages == []


@pytest.mark.parametrize("name", ["setup.exe", "run.BAT", "report.pdf.exe", "x.js",
                                  "macro.vbs", "tool.ps1", "pkg.msi", "a.scr. ", "app.jar",
                                  "invoice.iso", "disk.img", "a.vhd", "b.VHDX", "notes.one",
                                  "link.url", "setup.cab", "app.appref-ms",
                                  "x.settingcontent-ms", "y.library-ms"])
def test_executables_are_refused(app, client, relay, make_token, name):
    error = _error(_post(client, make_token(), {**MAIL, "attachments": [_file(name, b"MZ")]}),
                   422, "forbidden_attachment_type", "attachments[0].filename")
    assert name in error["message"]
    assert _count(app) == 0 and relay.messages == []


def test_documents_with_active_content_are_not_counted_as_programs():
    # Macro documents, web pages and SVG are ordinary business files: a judgement call
    # documented beside EXECUTABLE_EXTENSIONS.
    for name in ("q3.docm", "q3.xlsm", "page.html", "page.htm", "chart.svg", "a.pdf",
                 "one", "report.iso.pdf"):
        assert not is_executable(name), name
    assert is_executable("report.pdf.iso") and is_executable("x.ISO. ")


@pytest.mark.parametrize("value", [5, True, "a.pdf", {"filename": "a.pdf"}])
def test_multipart_attachments_that_are_not_a_list_are_a_422(app, client, relay, make_token,
                                                              value):
    response = client.post(URL, data={"message": json.dumps({**MAIL, "attachments": value}),
                                      "file": (io.BytesIO(b"x"), "a.pdf")},
                           headers=_auth(make_token()), content_type="multipart/form-data")
    _error(response, 422, "invalid_type", "attachments")
    assert _count(app) == 0 and relay.messages == []


def test_executables_pass_when_the_setting_allows_them(app, client, relay, make_token):
    app.config["ALLOW_EXECUTABLE_ATTACHMENTS"] = True
    response = _post(client, make_token(), {**MAIL, "attachments": [_file("tool.exe", b"MZ")]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert attachments_of(relay.messages[0])["tool.exe"].get_payload(decode=True) == b"MZ"


def test_over_the_senders_limit_is_413_naming_it(app, client, relay, make_token):
    with app.app_context():
        db.session.get(Sender, relay.sender_id).max_message_bytes = 3 * 1024 * 1024
        db.session.commit()
    secret = make_token()
    big = _file(XLSX, os.urandom(2_400_000))  # 3.2 MB once encoded
    error = _error(_post(client, secret, {**MAIL, "attachments": [big]}), 413,
                   "message_too_large", "attachments")
    assert "3 MB" in error["message"]
    # Just under the limit by the files alone, over it with the rest of the message.
    near = _file(XLSX, os.urandom(2_250_000))
    _error(_post(client, secret, {**MAIL, "html": "x" * 200_000, "attachments": [near]}),
           413, "message_too_large")
    assert _count(app) == 0 and relay.messages == []
    assert _post(client, secret, {**MAIL, "attachments": [near]}).status_code == 200


def test_default_limit_is_25_mb_and_bodies_may_carry_it(app, client, relay, make_token):
    app.config["MAX_MESSAGE_BYTES"] = 200_000
    secret = make_token()
    fits = _post(client, secret, {**MAIL, "attachments": [_file("a.bin", os.urandom(140_000))]})
    assert fits.status_code == 200, fits.get_data(as_text=True)  # more than API_MAX_BODY
    error = _error(_post(client, secret, {**MAIL, "attachments": [
        _file("a.bin", os.urandom(160_000))]}), 413, "message_too_large")
    assert "0.2 MB" in error["message"]
    # The fields beside the files are still bounded by API_MAX_BODY.
    app.config["API_MAX_BODY"] = 5000
    _error(_post(client, secret, {**MAIL, "html": "x" * 6000,
                                  "attachments": [_file("a.bin", b"1")]}), 413,
           "payload_too_large")
    # A body larger than API_MAX_BODY plus the largest limit is refused unread.
    huge = _file("a.bin", os.urandom(160_000))
    _error(_post(client, secret, {**MAIL, "attachments": [huge]}), 413, "payload_too_large")


def test_deferred_attachments_are_sent_by_the_worker_with_the_stored_bytes(
        app, client, smtpd_factory, make_smtp_sender, make_token):
    server = smtpd_factory("plain")
    make_smtp_sender(server, mode="deferred", is_default=True)
    sheet = os.urandom(50_000)
    response = _post(client, make_token(), {**MAIL, "attachments": [_file(XLSX, sheet)]})
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert Worker(app, batch=10).run_once() == 1
    (received,) = server.messages
    assert attachments_of(received)[XLSX].get_content() == sheet
    with app.app_context():
        assert db.session.scalars(select(Message)).one().raw_message == received.content


def test_idempotent_replay_with_other_file_content_is_409(app, client, relay, make_token):
    secret = make_token()
    headers = {**_auth(secret), "Idempotency-Key": "run-1"}
    body = {**MAIL, "attachments": [_file("a.csv", b"1,2")]}
    assert client.post(URL, json=body, headers=headers).status_code == 200
    again = client.post(URL, json=body, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    changed = {**MAIL, "attachments": [_file("a.csv", b"1,3")]}
    _error(client.post(URL, json=changed, headers=headers), 409, "idempotency_key_reused")
    assert len(relay.messages) == 1


def test_multipart_replay_with_other_files_is_409(app, client, relay, make_token):
    headers = {**_auth(make_token()), "Idempotency-Key": "upload-1"}

    def send(content):
        return client.post(URL, headers=headers, content_type="multipart/form-data", data={
            "message": json.dumps(MAIL), "file": (io.BytesIO(content), "a.csv")})

    assert send(b"1,2").status_code == 200
    assert send(b"1,2").headers.get("Idempotent-Replayed") == "true"
    _error(send(b"1,3"), 409, "idempotency_key_reused")
    assert len(relay.messages) == 1
