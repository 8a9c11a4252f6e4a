"""Delivery callbacks to a local HTTP receiver: signed body, retries after a 500, one per
final state and none for a state that is not final; the token's callback settings in
the CLI and on the token pages."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from portal.callbacks.models import Callback
from portal.cli import SYSTEM
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.outbox import lifecycle
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.tokens import callback, service
from portal.tokens.models import ApiToken
from tests.conftest import login
from tests.outbox_helpers import AUTH

MAIL = {"to": ["alice@example.org", "bob@example.org"], "subject": "Nightly report",
        "html": "<p>Done.</p>", "resource": "/reports/nightly"}


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers ``statuses`` in turn
    (then 200)."""

    def __init__(self):
        self.requests, self.statuses = [], []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append((dict(self.headers), raw))
                status = owner.statuses.pop(0) if owner.statuses else 200
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", owner.url + "/elsewhere")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def hooked(app, receiver):
    """A system token whose callbacks go to the receiver: (token secret, signing secret)."""
    with app.app_context():
        token, secret = service.create_token(SYSTEM, "Scheduler", None)
        signing = callback.set_callback(SYSTEM, token, receiver.url)
        db.session.commit()
    return secret, signing


def _send(client, secret, key="nightly-1", **extra):
    response = client.post("/api/v1/messages", json={**MAIL, **extra},
                           headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    return response.json["id"]


def _callbacks(app) -> list[Callback]:
    with app.app_context():
        rows = db.session.scalars(select(Callback).order_by(Callback.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def _verify(signing: str, headers: dict, raw: bytes) -> dict:
    """What a receiver does: HMAC-SHA256 over the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(signing.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Mailbox-Signature"])
    return json.loads(raw)


def test_final_state_is_posted_signed(app, client, smtpd_factory, make_smtp_sender, hooked,
                                      receiver):
    secret, signing = hooked
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"bob@example.org":
                                                               "550 5.1.1 No such user"}})
    make_smtp_sender(server, mode="deferred", is_default=True)
    pk = _send(client, secret)
    assert _callbacks(app) == []  # queued is not final
    worker = Worker(app, batch=10)
    assert worker.run_once() == 1 and receiver.requests == []  # mail first, callbacks apart
    assert worker.run_callbacks() == 1
    headers, raw = receiver.requests[0]
    body = _verify(signing, headers, raw)
    assert headers["Content-Type"] == "application/json"
    assert (body["id"], body["status"], body["idempotency_key"], body["resource"]) == (
        pk, "partial", "nightly-1", "/reports/nightly")
    assert {r["address"]: (r["status"], r["reply_code"]) for r in body["recipients"]} == {
        "alice@example.org": ("accepted", 250), "bob@example.org": ("refused", 550)}
    assert "recipient" in body["diagnosis"] and body["diagnosis_codes"]
    with pytest.raises(AssertionError):
        _verify("whsec_wrong", headers, raw)
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.callback_last_status == 200 and token.callback_last_at is not None
    assert [c.state for c in _callbacks(app)] == ["delivered"]
    assert worker.run_callbacks() == 0 and len(receiver.requests) == 1


def _due(app):
    with app.app_context():
        db.session.execute(update(Callback).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_retried_with_backoff_after_500_and_no_redirects(app, client, relay, hooked,
                                                         receiver):
    secret, signing = hooked
    receiver.statuses = [500, 302]
    pk = _send(client, secret)  # immediate: final at once
    worker = Worker(app)
    assert worker.run_callbacks() == 0
    (first,) = _callbacks(app)
    assert first.state == "pending" and first.attempts == 1 and first.last_status == 500
    assert first.next_attempt_at > utcnow() + timedelta(seconds=10)  # backoff
    assert worker.run_callbacks() == 0 and len(receiver.requests) == 1  # not yet due
    _due(app)
    assert worker.run_callbacks() == 0 and _callbacks(app)[0].last_status == 302
    assert len(receiver.requests) == 2  # the redirect was not followed
    _due(app)
    assert worker.run_callbacks() == 1
    raws = [raw for _headers, raw in receiver.requests]
    assert raws[0] == raws[1] == raws[2]  # every try sends the same signed bytes
    assert _verify(signing, *receiver.requests[2])["id"] == pk


def test_gives_up_after_max_attempts(app, client, relay, hooked, receiver):
    app.config["CALLBACK_MAX_ATTEMPTS"] = 2
    receiver.statuses = [503, 503, 503]
    _send(client, hooked[0])
    Worker(app).run_callbacks()
    _due(app)
    Worker(app).run_callbacks()
    _due(app)
    Worker(app).run_callbacks()
    assert [c.state for c in _callbacks(app)] == ["failed"] and len(receiver.requests) == 2


def test_one_callback_per_final_state_none_for_retrying(app, client, smtpd_factory,
                                                        make_smtp_sender, hooked, receiver):
    secret, _signing = hooked
    server = smtpd_factory("plain", auth=AUTH, reply={
        "mail": ["451 4.3.0 Busy"], "rcpt": {"bob@example.org": "550 5.1.1 No such user"}})
    make_smtp_sender(server, mode="deferred", is_default=True)
    pk = _send(client, secret)
    Worker(app).run_once()
    with app.app_context():
        assert db.session.get(Message, pk).status == "retrying"
    assert _callbacks(app) == []  # retrying is not final
    with app.app_context():
        db.session.execute(update(Message).values(next_attempt_at=utcnow()))
        db.session.commit()
    Worker(app).run_once()
    assert [c.status for c in _callbacks(app)] == ["partial"]
    with app.app_context():  # an admin resends to bob: finishing again is a new final state
        lifecycle.requeue(db.session.get(Message, pk))
        db.session.commit()
    Worker(app).run_once()
    assert [c.status for c in _callbacks(app)] == ["partial", "partial"]
    Worker(app).run_callbacks()
    bodies = [json.loads(raw) for _headers, raw in receiver.requests]
    assert [b["id"] for b in bodies] == [pk, pk]
    assert bodies[0]["event_id"] != bodies[1]["event_id"]


def test_cancel_is_called_back_and_tokens_without_url_are_not(app, client, smtpd_factory,
                                                              make_smtp_sender, hooked,
                                                              receiver, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="deferred", is_default=True)
    pk = _send(client, hooked[0])
    plain = _send(client, make_token(name="no hook"), key="other")
    headers = {"Authorization": f"Bearer {hooked[0]}"}
    assert client.delete(f"/api/v1/messages/{pk}", headers=headers).status_code == 200
    Worker(app).run_once()  # sends the other token's message: no callback for it
    Worker(app).run_callbacks()
    assert [json.loads(raw)["status"] for _h, raw in receiver.requests] == ["cancelled"]
    assert {c.message_pk for c in _callbacks(app)} == {pk} and plain != pk


def test_unreachable_receiver_is_recorded_on_the_token(app, client, relay, hooked, free_port,
                                                       world):
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        token.callback_url = f"http://127.0.0.1:{free_port}/hook"
        db.session.commit()
    _send(client, hooked[0])
    assert Worker(app).run_callbacks() == 0
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.callback_last_status is None and token.callback_last_error
    browser = app.test_client()
    login(browser, "root")
    assert "last: failed (" in browser.get("/tokens").get_data(as_text=True)


def test_cli_prints_signing_secret_before_the_token(app, receiver):
    result = app.test_cli_runner().invoke(args=["create-token", "--name", "ETL",
                                                "--callback-url", receiver.url])
    assert result.exit_code == 0, result.output
    first, last = result.stdout.strip().splitlines()
    assert first.startswith("signing secret: whsec_")
    with app.app_context():
        token = service.authenticate(last)
        assert token.callback_url == receiver.url
        assert first.split(": ", 1)[1] not in token.callback_secret_encrypted
    bad = app.test_cli_runner().invoke(args=["create-token", "--name", "X",
                                             "--callback-url", "ftp://example.org/x"])
    assert bad.exit_code != 0 and "http" in bad.output
    plain = app.test_cli_runner().invoke(args=["create-token", "--name", "Y"])
    assert len(plain.stdout.strip().splitlines()) == 1


def test_token_pages_set_show_and_remove_the_callback(app, world, receiver):
    client = app.test_client()
    login(client, "red_admin")
    for url in ("javascript:alert(1)", "http://user:pw@host/x", "http:///nohost"):
        response = client.post("/tokens/new", data={"name": "R", "team_id": str(world["red"]),
                                                     "callback_url": url})
        assert response.status_code == 422
    response = client.post("/tokens/new", data={"name": "Reports", "team_id": str(world["red"]),
                                                "callback_url": receiver.url})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Callback signing secret" in page
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        token_id, stored = token.id, token.callback_secret_encrypted
    listing = client.get("/tokens").get_data(as_text=True)
    assert receiver.url in listing and "not called yet" in listing and stored not in listing
    response = client.post(f"/tokens/{token_id}/callback", data={"callback_url": receiver.url})
    assert "whsec_" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ApiToken, token_id).callback_secret_encrypted != stored
    client.post(f"/tokens/{token_id}/callback", data={"callback_url": ""})
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        assert token.callback_url is None and token.callback_secret_encrypted is None
    other = app.test_client()
    login(other, "blue_admin")
    assert other.get(f"/tokens/{token_id}/callback").status_code == 404
