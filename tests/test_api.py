"""The JSON API against real SMTP servers: auth, sending, scoping, idempotency, validation."""

import io
import json

import pytest
from flask.testing import EnvironBuilder
from sqlalchemy import func, select
from werkzeug.wrappers import Request

from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.templates_.models import MailTemplate
from tests.outbox_helpers import AUTH

URL = "/api/v1/messages"
MAIL = {"to": "alice@example.org", "subject": "Monthly figures",
        "html": "<p>Figures attached.</p>"}


def _auth(secret, **headers):
    return {"Authorization": f"Bearer {secret}", **headers}


def post(client, secret, body, **headers):
    return client.post(URL, json=body, headers=_auth(secret, **headers),
                       environ_base={"REMOTE_ADDR": "10.9.8.7"})


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def _message(app, pk) -> Message:
    with app.app_context():
        message = db.session.get(Message, pk)
        db.session.expunge(message)
        return message


def _error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    return response.json["error"]


# --- authentication ----------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer mbp_not-a-real-token",
                                    "Basic dXNlcjpwYXNz", "mbp_no-scheme"])
def test_missing_or_bad_token_is_401(app, client, relay, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(URL, json=MAIL, headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count(app) == 0 and relay.messages == []
    assert client.get(f"{URL}/1", headers=headers).status_code == 401


def test_revoked_token_is_401(app, client, relay, make_token):
    _error(post(client, make_token(revoked=True), MAIL), 401, "unauthorized")
    assert _count(app) == 0 and relay.messages == []


def test_works_with_csrf_protection_on(app, client, relay, make_token):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    assert post(client, make_token(), MAIL).status_code == 200


# --- sending -----------------------------------------------------------------------------

def test_immediate_send_returns_200_with_final_status(app, client, relay, make_token):
    secret = make_token(name="Sales report")
    body = {**MAIL, "to": ["alice@example.org", "bob@example.org"], "cc": "carol@example.org",
            "bcc": ["dave@example.org"], "resource": "/reports/sales"}
    response = post(client, secret, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.json
    assert answer["status"] == "sent" and answer["reply_code"] == 250
    assert answer["diagnosis"] is None and answer["message_id"]
    assert response.headers["Location"] == f"{URL}/{answer['id']}"
    assert len(relay.messages) == 1
    received = relay.messages[0]
    assert sorted(received.rcpt_tos) == ["alice@example.org", "bob@example.org",
                                         "carol@example.org", "dave@example.org"]
    assert received.message["Subject"] == "Monthly figures"
    message = _message(app, answer["id"])
    assert message.client_ip == "10.9.8.7" and message.resource == "/reports/sales"
    assert message.sender_reason == "system default" and message.token_id is not None
    assert "Sales report" in message.triggered_by


def test_deferred_returns_202_queued_then_worker_sends(app, client, smtpd_factory,
                                                       make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="deferred", is_default=True)
    secret = make_token()
    response = post(client, secret, MAIL)
    assert response.status_code == 202
    assert response.json == {"id": response.json["id"], "status": "queued"}
    assert server.messages == []
    assert Worker(app, batch=10).run_once() == 1
    details = client.get(f"{URL}/{response.json['id']}", headers=_auth(secret)).json
    assert details["status"] == "sent" and details["attempt_count"] == 1
    assert len(server.messages) == 1


def test_mode_override_queues_for_immediate_sender(app, client, relay, make_token):
    response = post(client, make_token(), {**MAIL, "mode": "deferred"})
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert relay.messages == []


def test_team_token_uses_team_default(app, client, world, relay, smtpd_factory,
                                      make_smtp_sender, make_token):
    team_server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(team_server, name="Red relay", team_id=world["red"], mode="immediate",
                     is_default=True)
    response = post(client, make_token(world["red"]), MAIL)
    assert response.status_code == 200 and response.json["status"] == "sent"
    assert len(team_server.messages) == 1 and relay.messages == []
    message = _message(app, response.json["id"])
    assert message.team_id == world["red"] and message.sender_reason == "team default"


def test_no_default_is_409_mailbox_not_configured(app, client, world, make_token):
    error = _error(post(client, make_token(world["red"]), MAIL), 409,
                   "mailbox_not_configured")
    assert "default sender" in error["message"]
    assert _count(app) == 0


def test_sender_of_another_team_is_404(app, client, world, relay, smtpd_factory,
                                       make_smtp_sender, make_token):
    blue_sender = make_smtp_sender(smtpd_factory("plain", auth=AUTH), team_id=world["blue"],
                                   mode="immediate")
    secret = make_token(world["red"])
    _error(post(client, secret, {**MAIL, "sender": blue_sender}), 404, "sender_not_found")
    _error(post(client, secret, {**MAIL, "sender": 999}), 404, "sender_not_found")
    assert _count(app) == 0
    # A system-level sender may be named by any team token.
    response = post(client, secret, {**MAIL, "sender": relay.sender_id})
    assert response.status_code == 200 and len(relay.messages) == 1


def test_template_with_variables(app, client, relay, make_token):
    with app.app_context():
        db.session.add(MailTemplate(name="Daily report", subject="Report for {{ day }}",
                                    html_body="<p>Hello {{ name }}</p>"))
        db.session.commit()
    secret = make_token()
    body = {"to": "alice@example.org", "template": "Daily report",
            "variables": {"day": "Monday", "name": "Ann"}}
    response = post(client, secret, body)
    assert response.status_code == 200 and response.json["status"] == "sent"
    received = relay.messages[0].message
    assert received["Subject"] == "Report for Monday"
    assert "Hello Ann" in received.get_body(("html",)).get_content()
    assert _message(app, response.json["id"]).template_name == "Daily report"
    error = _error(post(client, secret, {**body, "variables": {"day": "Monday"}}), 422,
                   "template_error")
    assert "name" in error["message"]
    _error(post(client, secret, {**body, "template": "Nope"}), 404, "template_not_found")
    assert _count(app) == 1 and len(relay.messages) == 1


# --- reading -----------------------------------------------------------------------------

def test_failed_send_details_with_attempts_and_diagnosis(app, client, smtpd_factory,
                                                          make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "550 5.1.1 No such user"})
    make_smtp_sender(server, mode="immediate", is_default=True)
    secret = make_token()
    response = post(client, secret, MAIL)
    assert response.status_code == 200
    assert response.json["status"] == "failed" and response.json["reply_code"] == 550
    assert response.json["diagnosis"]
    reply = client.get(f"{URL}/{response.json['id']}", headers=_auth(secret))
    assert reply.status_code == 200
    details = reply.json
    assert details["status"] == "failed" and details["attempt_count"] == 1
    assert details["reply_code"] == 550 and "No such user" in details["reply_text"]
    assert details["sender"]["address"] == "robot@example.com"
    assert details["to"] == ["alice@example.org"] and details["subject"] == "Monthly figures"
    assert details["created_at"].endswith("Z") and details["sent_at"] is None
    [attempt] = details["attempts"]
    assert attempt["outcome"] == "failed" and attempt["step"] == "rcpt"
    assert attempt["reply_code"] == 550 and attempt["diagnosis"] == details["diagnosis"]
    assert attempt["started_at"].endswith("Z") and attempt["finished_at"].endswith("Z")
    text = reply.get_data(as_text=True)
    assert AUTH["robot@example.com"] not in text and secret not in text


def test_message_visible_only_to_its_team_or_system(app, client, world, relay, make_token):
    red, blue, system = (make_token(world["red"], "r"), make_token(world["blue"], "b"),
                         make_token(name="s"))
    pk = post(client, red, MAIL).json["id"]
    assert client.get(f"{URL}/{pk}", headers=_auth(red)).status_code == 200
    assert client.get(f"{URL}/{pk}", headers=_auth(system)).json["id"] == pk
    _error(client.get(f"{URL}/{pk}", headers=_auth(blue)), 404, "not_found")
    _error(client.get(f"{URL}/{pk + 100}", headers=_auth(system)), 404, "not_found")
    # A system token's mail through the system default belongs to no team.
    other = post(client, system, MAIL).json["id"]
    assert client.get(f"{URL}/{other}", headers=_auth(red)).status_code == 404


def test_unknown_route_and_method_answer_json(client, make_token):
    secret = make_token()
    response = client.get("/api/v1/nothing", headers=_auth(secret))
    assert response.status_code == 404 and response.is_json
    response = client.put(f"{URL}/1", headers=_auth(secret))
    assert response.status_code == 405 and "error" in response.json


# --- idempotency -------------------------------------------------------------------------

def test_same_key_same_token_sends_once(app, client, relay, make_token):
    secret = make_token()
    first = post(client, secret, MAIL, **{"Idempotency-Key": "run-2024-05-01"})
    again = post(client, secret, MAIL, **{"Idempotency-Key": "run-2024-05-01"})
    assert first.status_code == again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["status"] == "sent"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(app) == 1 and len(relay.messages) == 1
    assert post(client, secret, MAIL, **{"Idempotency-Key": "other"}).json["id"] != \
        first.json["id"]
    assert _count(app) == 2 and len(relay.messages) == 2


def test_same_key_different_tokens_sends_twice(app, client, relay, make_token):
    one, two = make_token(name="one"), make_token(name="two")
    first = post(client, one, MAIL, **{"Idempotency-Key": "k1"})
    second = post(client, two, MAIL, **{"Idempotency-Key": "k1"})
    assert first.json["id"] != second.json["id"]
    assert _count(app) == 2 and len(relay.messages) == 2


def test_deferred_replay_answers_202(app, client, relay, make_token):
    secret = make_token()
    body = {**MAIL, "mode": "deferred"}
    first = post(client, secret, body, **{"Idempotency-Key": "k"})
    again = post(client, secret, body, **{"Idempotency-Key": "k"})
    assert first.status_code == again.status_code == 202
    assert again.json == first.json and _count(app) == 1


def test_idempotency_race_settled_by_unique_index(app, client, relay, make_token,
                                                  monkeypatch):
    """A repeat that passes the lookup before the first commits must still not send."""
    from portal.api import views

    secret = make_token()
    first = post(client, secret, MAIL, **{"Idempotency-Key": "race"})
    real, calls = views._earlier, []

    def blind_first_lookup(key):
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    monkeypatch.setattr(views, "_earlier", blind_first_lookup)
    again = post(client, secret, MAIL, **{"Idempotency-Key": "race"})
    assert len(calls) == 2, "the second lookup runs after the unique index refused the row"
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert _count(app) == 1 and len(relay.messages) == 1


@pytest.mark.parametrize("key", ["x" * 201, "has space", "tab\there"])
def test_bad_idempotency_key_is_422(app, client, relay, make_token, key):
    _error(post(client, make_token(), MAIL, **{"Idempotency-Key": key}), 422,
           "invalid_idempotency_key")
    assert _count(app) == 0


# --- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("change, code, field", [
    ({"to": "not an address"}, "invalid_address", "to"),
    ({"to": "a@example.org\r\nBcc: evil@example.org"}, "invalid_address", "to"),
    ({"cc": ["ok@example.org", "bad@"]}, "invalid_address", "cc"),
    ({"to": None}, "missing_recipient", "to"),
    ({"to": []}, "missing_recipient", "to"),
    ({"to": 42}, "invalid_type", "to"),
    ({"bcc": ["ok@example.org", 7]}, "invalid_type", "bcc"),
    ({"subject": "Hello\r\nBcc: evil@example.org"}, "invalid_header", "subject"),
    ({"subject": ["list"]}, "invalid_type", "subject"),
    ({"subject": "x" * 999}, "too_long", "subject"),
    ({"subject": ""}, "missing_subject", "subject"),
    ({"html": None, "text": None}, "missing_body", "html"),
    ({"html": 5}, "invalid_type", "html"),
    ({"sender": "1"}, "invalid_type", "sender"),
    ({"sender": True}, "invalid_type", "sender"),
    ({"variables": ["a"]}, "invalid_type", "variables"),
    ({"template": 3}, "invalid_type", "template"),
    ({"resource": "r" * 501}, "too_long", "resource"),
    ({"mode": "later"}, "invalid_mode", "mode"),
    ({"subjcet": "typo"}, "unknown_field", "subjcet"),
])
def test_invalid_fields_are_422_and_nothing_stored(app, client, relay, make_token,
                                                   change, code, field):
    body = {**MAIL, **change}
    error = _error(post(client, make_token(), body), 422, code)
    assert error["field"] == field
    assert _count(app) == 0 and relay.messages == []


@pytest.mark.parametrize("data, content_type", [
    ("to=alice@example.org", "application/x-www-form-urlencoded"),
    ('{"to": "alice@example.org"', "application/json"),
    ('["alice@example.org"]', "application/json"),
    (b"\xff\xfe{}", "application/json"),
    ('{"to": "alice@example.org"}', "text/plain"),
])
def test_non_json_body_is_400(app, client, relay, make_token, data, content_type):
    response = client.post(URL, data=data, content_type=content_type,
                           headers=_auth(make_token()))
    _error(response, 400, "invalid_json")
    assert _count(app) == 0


def test_oversized_body_is_413(app, client, relay, make_token):
    app.config["API_MAX_BODY"] = 1000
    secret = make_token()
    error = _error(post(client, secret, {**MAIL, "html": "x" * 2000}), 413,
                   "payload_too_large")
    assert "1000" in error["message"]
    # Without a Content-Length the read itself is cut off at the limit.
    body = io.BytesIO(b'{"to": "alice@example.org", "html": "' + b"x" * 5000 + b'"}')
    environ = EnvironBuilder(app, URL, method="POST", input_stream=body,
                             content_type="application/json", headers=_auth(secret),
                             environ_overrides={"wsgi.input_terminated": True}).get_environ()
    del environ["CONTENT_LENGTH"]  # as with chunked transfer encoding
    _error(client.open(Request(environ)), 413, "payload_too_large")
    assert _count(app) == 0 and relay.messages == []
    exact = json.dumps({**MAIL, "html": ""}).encode()
    exact = exact.replace(b'"html": ""', b'"html": "' + b"x" * (1000 - len(exact)) + b'"')
    assert len(exact) == 1000
    response = client.post(URL, data=exact, content_type="application/json",
                           headers=_auth(secret))
    assert response.status_code == 200 and len(relay.messages) == 1


def test_default_limit_is_one_megabyte(app, client, relay, make_token):
    assert app.config["API_MAX_BODY"] == 1024 * 1024
    big = {**MAIL, "html": "x" * (1024 * 1024 + 10)}
    _error(post(client, make_token(), big), 413, "payload_too_large")
    assert _count(app) == 0


def test_calls_record_last_use_even_when_refused(app, client, make_token):
    from portal.tokens.models import ApiToken

    secret = make_token()
    _error(post(client, secret, {"to": []}), 422, "missing_recipient")
    with app.app_context():
        assert db.session.scalars(select(ApiToken)).one().last_used_at is not None
