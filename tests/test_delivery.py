"""Immediate and deferred delivery against real SMTP servers, retries and connection reuse."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, SubmitError, submit
from portal.outbox.worker import Worker
from tests.outbox_helpers import AUTH


def _submit(app, sender_id=None, to=("alice@example.org",), actor=None, **kw):
    with app.app_context():
        actor = actor or Actor(label="tester", team_ids=None)
        sub = Submission(to=list(to), subject=kw.pop("subject", "Monthly figures"),
                         html=kw.pop("html", "<p>Figures attached.</p>"),
                         sender_id=sender_id, **kw)
        return submit(actor, sub, "10.1.2.3").id


def _message(app, pk):
    with app.app_context():
        message = db.session.get(Message, pk)
        db.session.expunge(message)
        return message


def _attempts(app, pk):
    with app.app_context():
        return [(a.outcome, a.reply_code) for a in db.session.get(Message, pk).attempts]


def _make_due(app):
    with app.app_context():
        db.session.execute(update(Message).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_immediate_success_recorded(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("starttls", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate")
    pk = _submit(app, sid, to=["a@example.org", "b@example.org"], cc=["c@example.org"],
                 bcc=["d@example.org"], resource="/reports/sales")
    message = _message(app, pk)
    assert message.status == "sent" and message.reply_code == 250
    assert message.client_ip == "10.1.2.3" and message.sender_reason == "explicit"
    assert message.resource == "/reports/sales" and message.attempt_count == 1
    received = server.messages[0]
    assert sorted(received.rcpt_tos) == ["a@example.org", "b@example.org", "c@example.org",
                                         "d@example.org"]
    assert "Bcc" not in received.message and received.message["Message-ID"] == message.message_id


def test_immediate_failure_recorded_with_code_and_diagnosis(app, smtpd_factory,
                                                            make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"data": "554 5.7.1 Looks like spam"})
    sid = make_smtp_sender(server, mode="immediate")
    message = _message(app, _submit(app, sid))
    assert message.status == "failed" and message.reply_code == 554
    assert "spam" in describe(message.diagnosis) and "Looks like spam" in message.reply_text


def test_deferred_queued_then_sent_by_worker(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server)
    pk = _submit(app, sid)
    assert _message(app, pk).status == "queued" and server.messages == []
    assert Worker(app, batch=10).run_once() == 1
    message = _message(app, pk)
    assert message.status == "sent" and message.claimed_by is None
    assert len(server.messages) == 1


def test_451_retried_with_growing_delay_then_sent(app, smtpd_factory, make_smtp_sender):
    app.config["RETRY_BASE_SECONDS"] = 100
    server = smtpd_factory("plain", auth=AUTH,
                           reply={"data": ["451 4.7.1 Later", "451 4.7.1 Later"]})
    sid = make_smtp_sender(server)
    pk = _submit(app, sid)
    delays = []
    for _ in range(2):
        before = utcnow()
        Worker(app).run_once()
        message = _message(app, pk)
        assert message.status == "retrying" and message.reply_code == 451
        delays.append((message.next_attempt_at - before).total_seconds())
        assert Worker(app).run_once() == 0  # not due yet
        _make_due(app)
    assert 75 <= delays[0] <= 126 and 150 <= delays[1] <= 251 and delays[1] > delays[0]
    Worker(app).run_once()
    assert _message(app, pk).status == "sent"
    assert _attempts(app, pk) == [("failed", 451), ("failed", 451), ("sent", 250)]
    assert len(server.messages) == 1


def test_550_fails_at_once_without_retry(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "550 5.1.1 No such user"})
    pk = _submit(app, make_smtp_sender(server))
    Worker(app).run_once()
    message = _message(app, pk)
    assert message.status == "failed" and message.attempt_count == 1
    assert message.next_attempt_at is None and "recipient" in describe(message.diagnosis)


def test_retries_stop_at_maximum(app, smtpd_factory, make_smtp_sender):
    app.config["MAX_ATTEMPTS"] = 3
    server = smtpd_factory("plain", auth=AUTH, reply={"mail": "451 4.3.0 Busy"})
    pk = _submit(app, make_smtp_sender(server))
    for _ in range(5):
        Worker(app).run_once()
        _make_due(app)
    message = _message(app, pk)
    assert message.status == "failed" and message.attempt_count == 3


@pytest.mark.parametrize("connections", [1, 3])
def test_connection_reuse(app, smtpd_factory, make_smtp_sender, connections):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, max_connections=connections)
    for i in range(12):
        _submit(app, sid, to=[f"user{i}@example.org"])
    Worker(app, batch=50).run_once()
    assert len(server.messages) == 12
    assert server.sessions == connections


def test_auth_failure_does_not_burn_the_queue(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, password="wrong")
    pks = [_submit(app, sid, to=[f"u{i}@example.org"]) for i in range(5)]
    Worker(app).run_once()
    states = [_message(app, pk).status for pk in pks]
    assert states == ["failed", "queued", "queued", "queued", "queued"]
    waiting = _message(app, pks[1])
    assert waiting.attempt_count == 0 and waiting.next_attempt_at > utcnow()
    assert "could not log in" in describe(waiting.diagnosis)


def test_unknown_is_never_resent(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    pk = _submit(app, make_smtp_sender(server))
    with app.app_context():
        db.session.execute(update(Message).values(
            status="sending", claimed_by="dead-worker", lease_until=utcnow() - timedelta(1)))
        db.session.commit()
    Worker(app).run_once()
    Worker(app).run_once()
    assert _message(app, pk).status == "unknown" and server.messages == []


def test_expired_claim_before_handover_goes_back(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    pk = _submit(app, make_smtp_sender(server))
    with app.app_context():
        db.session.execute(update(Message).values(claimed_by="dead-worker",
                                                  lease_until=utcnow() - timedelta(1)))
        db.session.commit()
    Worker(app).run_once()
    assert _message(app, pk).status == "sent"


def test_rate_limit_spaces_messages(app, smtpd_factory, make_smtp_sender):
    import time

    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, rate_per_minute=600)  # one per 0.1 s
    for i in range(4):
        _submit(app, sid, to=[f"u{i}@example.org"])
    started = time.monotonic()
    Worker(app).run_once()
    assert time.monotonic() - started >= 0.29
    assert len(server.messages) == 4


class TestResolution:
    def test_default_used_and_reason_recorded(self, app, world, smtpd_factory,
                                              make_smtp_sender):
        server = smtpd_factory("plain", auth=AUTH)
        make_smtp_sender(server, name="Sys", is_default=True, mode="immediate")
        red = make_smtp_sender(server, name="Red", team_id=world["red"], is_default=True,
                               mode="immediate")
        pk = _submit(app, actor=Actor(label="t", team_ids=frozenset({world["red"]}),
                                      team_id=world["red"]))
        assert (_message(app, pk).sender_id, _message(app, pk).sender_reason) == (
            red, "team default")
        pk = _submit(app, actor=Actor(label="t", team_ids=frozenset({world["blue"]}),
                                      team_id=world["blue"]))
        assert _message(app, pk).sender_reason == "system default"

    def test_not_configured(self, app, world):
        with pytest.raises(SubmitError) as info:
            _submit(app, actor=Actor(label="t", team_ids=frozenset(), team_id=world["red"]))
        assert info.value.code == "mailbox_not_configured" and info.value.status == 409

    def test_other_team_sender_refused(self, app, world, smtpd_factory, make_smtp_sender):
        blue = make_smtp_sender(smtpd_factory("plain"), team_id=world["blue"])
        with pytest.raises(SubmitError) as info:
            _submit(app, blue, actor=Actor(label="t", team_ids=frozenset({world["red"]})))
        assert info.value.status == 404


@pytest.mark.parametrize("field, value, code", [
    ("to", ["not-an-address"], "invalid_address"),
    ("to", ["a@example.org\r\nBcc: x@example.org"], "invalid_address"),
    ("cc", ["bad@@example.org"], "invalid_address"),
    ("subject", "Hi\r\nBcc: x@example.org", "invalid_header"),
    ("to", [], "missing_recipient"),
])
def test_bad_input_refused_and_nothing_stored(app, smtpd_factory, make_smtp_sender,
                                             field, value, code):
    sid = make_smtp_sender(smtpd_factory("plain"))
    kwargs = {"to": ["ok@example.org"], field: value}
    with pytest.raises(SubmitError) as info:
        _submit(app, sid, **kwargs)
    assert info.value.code == code
    with app.app_context():
        assert db.session.scalar(select(Message)) is None
