"""Sender quotas on every path: recipients per message, recipients per rolling 24 hours
(deferred mail waits without using up attempts, immediate mail is refused with 429), the
provider's own quota replies, and what the sender list and the dashboard show."""

from datetime import timedelta

from sqlalchemy import func, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.mail.provider_quota import next_midnight_in_china
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.senders.models import Sender, SenderUsage
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH, queue, set_sender
from tests.test_api import MAIL, post

STC = "554 MI:STC 163 smtp14,EsCowAC...: Sending quota exceeded for today"
SFQ = "451 MI:SFQ 163 smtp14,EsCowAC...: 15-minute sending quota exceeded"


def messages(app):
    with app.app_context():
        rows = db.session.scalars(select(Message).order_by(Message.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def said(app, stored):
    with app.app_context():
        return describe(stored)


def used(app, sid):
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(SenderUsage.recipients), 0))
                                 .where(SenderUsage.sender_id == sid))


# --- recipients per message -------------------------------------------------------------

def test_more_recipients_than_a_message_may_have_is_refused_at_submission(
        app, client, world, smtpd_factory, make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="deferred", is_default=True)
    set_sender(app, sid, max_recipients_per_message=2)
    answer = post(client, make_token(), {**MAIL, "to": ["a@example.org", "b@example.org"],
                                         "bcc": "c@example.org"})
    assert answer.status_code == 422 and answer.json["error"]["field"] == "to"
    assert answer.json["error"]["code"] == "too_many_recipients"
    assert "at most 2 recipients per message" in answer.json["error"]["message"]
    login(client, "root")
    page = client.post("/compose", headers=HX, data={
        "sender_id": sid, "to": "a@example.org; b@example.org; c@example.org",
        "subject": "Figures", "html_body": "<p>Here.</p>"})
    assert page.status_code == 422
    assert "at most 2 recipients per message" in page.get_data(as_text=True)
    assert messages(app) == [] and server.messages == []
    assert post(client, make_token(), {**MAIL, "cc": "b@example.org"}).status_code == 202


# --- recipients per 24 hours: immediate ---------------------------------------------------

def test_immediate_mail_over_quota_is_refused_with_retry_after(
        app, client, smtpd_factory, make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate", is_default=True)
    set_sender(app, sid, daily_recipient_quota=3)
    secret = make_token()
    assert post(client, secret, {**MAIL, "cc": "bob@example.org"}).status_code == 200
    assert post(client, secret, MAIL).status_code == 200
    refused = post(client, secret, MAIL)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "quota_exceeded"
    assert "3 recipients in 24 hours" in refused.json["error"]["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86400
    assert len(messages(app)) == 2 and len(server.messages) == 2 and used(app, sid) == 3


def test_compose_over_quota_says_so_and_sends_nothing(app, client, world, smtpd_factory,
                                                      make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate", team_id=world["red"])
    set_sender(app, sid, daily_recipient_quota=1)
    login(client, "red_agent")
    data = {"sender_id": sid, "to": "a@example.org", "subject": "Figures",
            "html_body": "<p>Here.</p>"}
    assert client.post("/compose", headers=HX, data=data).status_code == 200
    page = client.post("/compose", headers=HX, data=data)
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "used its quota of 1 recipients in 24" in body
    assert "nothing was sent" in body
    assert len(messages(app)) == 1 and len(server.messages) == 1


def test_test_mail_counts_against_the_quota(app, client, world, smtpd_factory,
                                            make_smtp_sender):
    from tests.sender_helpers import sender_form
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate")
    set_sender(app, sid, daily_recipient_quota=1)
    queue_one = queue(app, sid)  # deferred mail does not count until it is handed over
    assert used(app, sid) == 0 and queue_one
    login(client, "root")
    form = sender_form(server, sender_id=sid, test_recipient="me@example.org",
                       action="mail", password="")
    first = client.post("/senders/check", headers=HX, data=form)
    assert first.status_code == 200 and len(server.messages) == 1
    second = client.post("/senders/check", headers=HX, data=form)
    assert second.status_code == 429 and "used its quota" in second.get_data(as_text=True)
    assert len(server.messages) == 1


# --- recipients per 24 hours: deferred -----------------------------------------------------

def test_deferred_mail_over_quota_waits_without_using_attempts_then_resumes(
        app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server)
    set_sender(app, sid, daily_recipient_quota=3)
    pks = [queue(app, sid, to=("a@example.org", "b@example.org")) for _ in range(3)]
    Worker(app).run_once()
    first, second, third = messages(app)
    assert first.status == "sent" and len(server.messages) == 1
    for waiting in (second, third):
        assert waiting.status == "queued" and waiting.attempt_count == 0
        assert waiting.claimed_by is None and waiting.next_attempt_at > utcnow()
        text = said(app, waiting.diagnosis)
        assert "quota of 3 recipients in 24 hours is used up (2 used)" in text
        assert "sending resumes at" in text and "no attempt is used up" in text
    # The window moves on a day: the first hand-over leaves it, the rest fits again.
    with app.app_context():
        db.session.execute(update(SenderUsage).values(at=SenderUsage.at - 86400))
        db.session.execute(update(Message).where(Message.id.in_(pks[1:]))
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    Worker(app).run_once()
    assert [m.status for m in messages(app)] == ["sent", "sent", "queued"]
    assert [m.attempt_count for m in messages(app)] == [1, 1, 0]
    assert len(server.messages) == 2


def test_list_and_dashboard_show_use_against_the_quota(app, client, world, smtpd_factory,
                                                       make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, name="Quota relay")
    set_sender(app, sid, daily_recipient_quota=10000, rate_per_minute=30,
               max_recipients_per_message=500)
    for _ in range(3):
        queue(app, sid, to=("a@example.org", "b@example.org"))
    Worker(app).run_once()
    login(client, "root")
    page = client.get("/senders").get_data(as_text=True)
    assert "6 / 10,000 recipients in 24 h" in page
    assert "30 messages a minute" in page and "500 recipients per message" in page
    set_sender(app, sid, daily_recipient_quota=6)
    assert "quota used up" in client.get("/senders").get_data(as_text=True)
    assert "recipients per 24 hours are used up" in client.get("/").get_data(as_text=True)


# --- the provider's own quota reply --------------------------------------------------------

def test_daily_quota_reply_pauses_the_sender_until_midnight_in_china(
        app, client, world, smtpd_factory, make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH, reply={"mail": [STC]})
    sid = make_smtp_sender(server, is_default=True)
    before = utcnow()
    for _ in range(3):
        queue(app, sid)
    Worker(app).run_once()
    found = messages(app)
    assert [m.status for m in found] == ["retrying", "queued", "queued"]
    assert not any(m.status == "failed" for m in found) and server.messages == []
    midnight = next_midnight_in_china(before)
    assert all(m.next_attempt_at == midnight for m in found)
    assert found[0].attempt_count == 1 and found[0].attempts_base == 1  # not counted
    assert "daily sending quota is used up" in said(app, found[0].diagnosis)
    assert "resumes at" in said(app, found[1].diagnosis)
    with app.app_context():
        sender = db.session.get(Sender, sid)
        assert sender.provider_paused_until == midnight
        assert sender.provider_pause_reason == "daily_quota"
    # Nothing goes through the paused sender: not the worker, not an immediate send.
    with app.app_context():
        db.session.execute(update(Message).values(next_attempt_at=None))
        db.session.commit()
    Worker(app).run_once()
    assert server.commands.count("MAIL robot@example.com") == 1
    answer = post(client, make_token(), {**MAIL, "mode": "immediate"})
    assert answer.status_code == 429 and answer.json["error"]["code"] == "quota_exceeded"
    assert "provider paused" in answer.json["error"]["message"]
    login(client, "root")
    assert "provider quota" in client.get("/senders").get_data(as_text=True)


def test_short_term_quota_at_rcpt_keeps_the_accepted_and_holds_the_rest(
        app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"b@example.org": SFQ}})
    sid = make_smtp_sender(server)
    first = queue(app, sid, to=("a@example.org", "b@example.org"))
    queue(app, sid)
    started = utcnow()
    Worker(app).run_once()
    message, other = messages(app)
    assert message.id == first and message.status == "retrying"
    assert [r["state"] for r in message.recipient_results] == ["accepted", "pending"]
    assert message.attempts_base == 1
    assert timedelta(minutes=14) < message.next_attempt_at - started < timedelta(minutes=16)
    assert other.status == "queued" and other.next_attempt_at == message.next_attempt_at
    assert "short-term sending quota" in said(app, other.diagnosis)
    assert len(server.messages) == 1 and server.messages[0].rcpt_tos == ["a@example.org"]


def test_an_immediate_send_that_cannot_connect_uses_no_quota(
        app, client, smtpd_factory, make_smtp_sender, make_token, free_port):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, mode="immediate", is_default=True)
    set_sender(app, sid, daily_recipient_quota=1, port=free_port)
    answer = post(client, make_token(), MAIL)
    assert answer.status_code in (200, 202) and answer.json["status"] != "sent"
    assert used(app, sid) == 0  # nothing reached a server: the booking was given back
