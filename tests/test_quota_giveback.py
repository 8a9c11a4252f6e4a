"""Quota bookings are given back whenever nothing reached the server: a test mail whose
session never opened, an immediate send that failed before its hand-over."""

import pytest

from portal.outbox import service
from portal.outbox.actors import Actor
from portal.outbox.service import Submission, submit
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH, set_sender
from tests.sender_helpers import sender_form
from tests.test_quotas import used


def test_a_test_mail_that_cannot_connect_gives_its_booking_back(
        app, client, world, smtpd_factory, make_smtp_sender, free_port):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate")
    set_sender(app, sid, daily_recipient_quota=5)
    login(client, "root")
    form = sender_form(server, sender_id=sid, test_recipient="me@example.org",
                       action="mail", port=str(free_port))
    answer = client.post("/senders/check", headers=HX, data=form)
    assert answer.status_code == 200 and server.messages == []
    assert used(app, sid) == 0


def test_an_immediate_send_failing_before_the_hand_over_gives_its_booking_back(
        app, smtpd_factory, make_smtp_sender, monkeypatch):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate")
    set_sender(app, sid, daily_recipient_quota=5)

    def broken(_message):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service.lifecycle, "start_immediate", broken)
    with app.app_context():
        sub = Submission(to=["alice@example.org"], subject="Figures", html="<p>Hi.</p>",
                         sender_id=sid, mode="immediate")
        with pytest.raises(RuntimeError):
            submit(Actor(label="tester", team_ids=None), sub, None)
    assert used(app, sid) == 0 and server.messages == []
