"""Large request bodies (attachments) only for known callers: a stranger's large body is
refused unread, the raised limit is the largest message the caller's own senders take,
and the fields of a large body are still refused when they hold a NUL character."""

import base64
import io
import json
import os

import pytest
from sqlalchemy import func, select

from portal import jsonsafe
from portal.extensions import db
from portal.outbox.models import Message
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH, set_sender

URL = "/api/v1/messages"
MAIL = {"to": "alice@example.org", "subject": "Figures", "html": "<p>Here.</p>"}
NUL_SUBJECT = "Figures\x00"
NUL_FIELDS = pytest.mark.parametrize("field", ["subject", "html"])
MB = 1024 * 1024


def _auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def _file(size: int) -> dict:
    return {"filename": "a.bin", "content": base64.b64encode(os.urandom(size)).decode()}


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


@pytest.fixture
def parsed(monkeypatch):
    """The sizes of every JSON text parsed during the test."""
    sizes, loads = [], jsonsafe.loads

    def counting(text):
        sizes.append(len(text))
        return loads(text)

    monkeypatch.setattr(jsonsafe, "loads", counting)
    return sizes


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pt_not-a-real-token"},
                                     {"Authorization": "Basic YTpi"}])
def test_a_strangers_large_json_is_refused_unread(app, client, relay, parsed, headers):
    body = json.dumps({**MAIL, "subject": NUL_SUBJECT,
                       "attachments": [_file(4 * MB)]}).encode()  # 5+ MB
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code in (401, 413), response.get_data(as_text=True)[:300]
    assert parsed == []  # neither the NUL check nor the endpoint parsed it
    assert _count(app) == 0


def test_a_strangers_large_batch_is_refused_unread(app, client, relay, make_token, parsed):
    items = [{**MAIL, "subject": NUL_SUBJECT, "html": "x" * 3000}] * 1000  # 3+ MB
    response = client.post(f"{URL}/batch", json={"messages": items})
    assert response.status_code in (401, 413) and parsed == []
    # With a token the batch limit holds, and the NUL check reads the body.
    response = client.post(f"{URL}/batch", json={"messages": items},
                           headers=_auth(make_token()))
    assert response.status_code == 400 and "NUL" in response.json["error"]["message"]
    assert _count(app) == 0


def test_a_strangers_large_compose_upload_is_refused_unread(app, client, world):
    data = {"to": "alice@example.org", "subject": "x",
            "attachments": (io.BytesIO(os.urandom(3 * MB)), "a.bin")}
    response = client.post("/compose", data=data, headers=HX,
                           content_type="multipart/form-data")
    assert response.status_code == 413


def test_a_user_without_senders_gets_no_larger_body(app, client, world, relay,
                                                    make_smtp_sender, smtpd_factory):
    set_sender(app, relay.sender_id, team_id=world["red"])
    login(client, "blue_agent")
    data = {"to": "alice@example.org", "subject": "x",
            "attachments": (io.BytesIO(os.urandom(3 * MB)), "a.bin")}
    assert client.post("/compose", data=data, headers=HX,
                       content_type="multipart/form-data").status_code == 413


def test_an_authenticated_large_attachment_still_goes(app, client, relay, make_token):
    body = {**MAIL, "attachments": [_file(3 * MB)]}  # over MAX_CONTENT_LENGTH too
    response = client.post(URL, json=body, headers=_auth(make_token()))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert len(relay.messages) == 1


def test_the_raised_limit_is_the_callers_largest_sender(app, client, world, relay,
                                                        make_smtp_sender, make_token):
    set_sender(app, relay.sender_id, max_message_bytes=MB)
    big = make_smtp_sender(relay, name="Big", team_id=world["blue"])
    set_sender(app, big, max_message_bytes=50 * MB)
    body = {**MAIL, "attachments": [_file(int(1.6 * MB))]}  # over 1 MB + API_MAX_BODY
    refused = client.post(URL, json=body, headers=_auth(make_token(team_id=world["red"])))
    assert refused.status_code == 413
    assert refused.json["error"]["code"] == "payload_too_large"  # refused before parsing
    # A token of the team whose sender takes 50 MB may send that body (queued: the
    # sender is deferred).
    allowed = client.post(URL, json={**body, "sender": big},
                          headers=_auth(make_token(team_id=world["blue"])))
    assert allowed.status_code == 202, allowed.get_data(as_text=True)[:300]


def _api_nul_bodies(field: str, size: int):
    """The API's ways of sending ``field`` with a NUL, with ``size`` bytes of files."""
    mail = {**MAIL, field: MAIL[field] + "\x00"}
    blob = os.urandom(size)
    yield "json", {"json": {**mail, "attachments": [_file(size)]}}
    yield "field", {"content_type": "multipart/form-data", "data": {
        "message": json.dumps(mail), "file": (io.BytesIO(blob), "a.bin")}}
    yield "part", {"content_type": "multipart/form-data", "data": {
        "message": (io.BytesIO(json.dumps(mail).encode()), "m.json", "application/json"),
        "file": (io.BytesIO(blob), "a.bin")}}


@NUL_FIELDS
@pytest.mark.parametrize("size", [100, 300_000], ids=["small", "large"])
def test_nul_in_api_fields_is_refused_on_every_path(app, client, relay, make_token, size,
                                                    field):
    app.config.update(API_MAX_BODY=100_000, MAX_CONTENT_LENGTH=200_000)
    secret = make_token()
    for way, request in _api_nul_bodies(field, size):
        response = client.post(URL, headers=_auth(secret), **request)
        assert response.status_code == 400, (way, response.get_data(as_text=True)[:300])
        assert "NUL" in response.json["error"]["message"], way
    assert _count(app) == 0 and relay.messages == []


@NUL_FIELDS
@pytest.mark.parametrize("size", [100, 300_000], ids=["small", "large"])
def test_nul_in_compose_fields_is_refused_small_or_large(app, client, world, smtpd_factory,
                                                        make_smtp_sender, size, field):
    app.config["MAX_CONTENT_LENGTH"] = 200_000
    server = smtpd_factory("plain", auth=AUTH)
    sender = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    login(client, "red_agent")
    data = {"sender_id": sender, "to": "alice@example.org", "cc": "", "bcc": "",
            "template_id": "", "subject": "Figures", "html_body": "<p>Here.</p>",
            "text_body": "", "resource": "",
            "attachments": (io.BytesIO(os.urandom(size)), "a.bin")}
    data[{"subject": "subject", "html": "html_body"}[field]] += "\x00"
    response = client.post("/compose", headers=HX, content_type="multipart/form-data",
                           data=data)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert _count(app) == 0 and server.messages == []
