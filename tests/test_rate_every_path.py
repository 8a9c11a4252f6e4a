"""A sender's messages per minute hold for immediate sends and API mode overrides too."""

from portal.extensions import db
from portal.outbox.models import Message
from tests.outbox_helpers import AUTH
from tests.test_api import MAIL, post


def _statuses(app):
    with app.app_context():
        return [(m.status, m.mode) for m in db.session.query(Message).order_by(Message.id)]


def test_immediate_mode_cannot_skip_the_rate_limit(app, client, smtpd_factory,
                                                   make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="deferred", is_default=True, rate_per_minute=1)
    secret = make_token()
    answers = [post(client, secret, {**MAIL, "mode": "immediate"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 202, 202]
    assert [answer.json["status"] for answer in answers] == ["sent", "queued", "queued"]
    assert len(server.messages) == 1
    assert _statuses(app) == [("sent", "immediate"), ("queued", "deferred"),
                              ("queued", "deferred")]


def test_immediate_sender_within_its_rate_sends_at_once(app, client, smtpd_factory,
                                                        make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="immediate", is_default=True, rate_per_minute=6000)
    secret = make_token()
    answers = [post(client, secret, MAIL) for _ in range(3)]
    assert [answer.json["status"] for answer in answers] == ["sent"] * 3
    assert len(server.messages) == 3
