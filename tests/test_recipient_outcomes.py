"""Per-recipient outcomes: partial delivery, deferred recipients retried alone, resend to
refused recipients only, dropped links — against real SMTP servers."""

from sqlalchemy import update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, submit
from portal.outbox.worker import Worker
from tests.conftest import login
from tests.outbox_helpers import AUTH
from tests.smtp_servers import _Replies

GONE = "550 5.1.1 <gone@corp.example>: Recipient address rejected: User unknown"
LATER = "451 4.7.1 <slow@corp.example>: Recipient address rejected: try again later"


def _submit(app, sender_id, to):
    with app.app_context():
        sub = Submission(to=list(to), subject="Daily report", html="<p>Figures.</p>",
                         sender_id=sender_id)
        return submit(Actor(label="scheduler", team_ids=None), sub, None).id


def _message(app, pk):
    with app.app_context():
        message = db.session.get(Message, pk)
        attempts = [(a.outcome, a.reply_code) for a in message.attempts]
        db.session.expunge(message)
        return message, attempts


def _states(message):
    return {entry["address"]: entry["state"] for entry in message.recipient_results}


def _make_due(app):
    with app.app_context():
        db.session.execute(update(Message).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_one_refused_recipient_does_not_stop_the_others(app, smtpd_factory,
                                                         make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"gone@corp.example": GONE}})
    sid = make_smtp_sender(server, mode="immediate")
    pk = _submit(app, sid, ["good@corp.example", "gone@corp.example"])
    message, _ = _message(app, pk)
    assert message.status == "partial"
    assert [m.rcpt_tos for m in server.messages] == [["good@corp.example"]]
    assert _states(message) == {"good@corp.example": "accepted", "gone@corp.example": "refused"}
    refused = next(e for e in message.recipient_results if e["state"] == "refused")
    assert (refused["code"], refused["text"]) == (550, GONE[4:])  # verbatim
    assert describe(message.diagnosis).startswith("1 of 2 recipients accepted")


def test_deferred_recipient_is_retried_alone_with_the_same_bytes(app, smtpd_factory,
                                                                 make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"slow@corp.example": LATER}})
    sid = make_smtp_sender(server)
    pk = _submit(app, sid, ["good@corp.example", "slow@corp.example"])
    Worker(app).run_once()
    message, _ = _message(app, pk)
    assert message.status == "retrying" and message.next_attempt_at is not None
    assert _states(message) == {"good@corp.example": "accepted", "slow@corp.example": "pending"}
    assert "will be retried" in describe(message.diagnosis)

    server.replies = _Replies(None)  # the server takes it now
    _make_due(app)
    Worker(app).run_once()
    message, attempts = _message(app, pk)
    assert message.status == "sent" and attempts == [("partial", 250), ("sent", 250)]
    assert [m.rcpt_tos for m in server.messages] == [["good@corp.example"],
                                                     ["slow@corp.example"]]
    assert server.messages[0].content == server.messages[1].content  # same bytes, same ID
    assert message.diagnosis is None


def test_deferred_recipient_out_of_attempts_is_refused_with_final_wording(
        app, smtpd_factory, make_smtp_sender):
    app.config["MAX_ATTEMPTS"] = 2
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"slow@corp.example": LATER}})
    pk = _submit(app, make_smtp_sender(server), ["good@corp.example", "slow@corp.example"])
    for _ in range(3):
        Worker(app).run_once()
        _make_due(app)
    message, attempts = _message(app, pk)
    assert message.status == "partial" and len(attempts) == 2
    assert _states(message)["slow@corp.example"] == "refused"
    assert len(server.messages) == 1
    assert "will be retried" not in describe(message.diagnosis)
    assert "2 attempts" in describe(message.diagnosis)


def test_all_recipients_deferred_then_nobody_lost(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "451 4.3.0 Try later"})
    pk = _submit(app, make_smtp_sender(server), ["a@corp.example", "b@corp.example"])
    Worker(app).run_once()
    assert _message(app, pk)[0].status == "retrying" and server.messages == []


def test_resend_to_refused_recipients_only(app, world, smtpd_factory, make_smtp_sender,
                                           client):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"gone@corp.example": GONE}})
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    pk = _submit(app, sid, ["good@corp.example", "gone@corp.example"])
    server.replies = _Replies(None)  # the mailbox was created meanwhile
    login(client, "red_admin")
    page = client.get(f"/messages/{pk}/retry").get_data(as_text=True)
    assert "gone@corp.example" in page and "good@corp.example" not in page
    assert client.post(f"/messages/{pk}/retry", data={"confirm": "yes"}).status_code == 303
    Worker(app).run_once()
    message, attempts = _message(app, pk)
    assert message.status == "sent" and len(attempts) == 2
    assert [m.rcpt_tos for m in server.messages] == [["good@corp.example"],
                                                     ["gone@corp.example"]]


def test_agent_cannot_resend(app, world, smtpd_factory, make_smtp_sender, client):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"gone@corp.example": GONE}})
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    with app.app_context():
        actor = Actor(label="agent", team_ids=frozenset({world["red"]}), team_id=world["red"],
                      user_id=world["red_agent"])
        pk = submit(actor, Submission(to=["good@corp.example", "gone@corp.example"],
                                      subject="Hi", html="<p>x</p>", sender_id=sid), None).id
    login(client, "red_agent")
    assert client.post(f"/messages/{pk}/retry", data={"confirm": "yes"}).status_code == 403


def test_detail_page_and_api_list_each_recipient(app, world, smtpd_factory, make_smtp_sender,
                                                 client):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"gone@corp.example": GONE}})
    sid = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    pk = _submit(app, sid, ["good@corp.example", "gone@corp.example"])
    login(client, "red_admin")
    page = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert "Resend to refused recipients" in page
    assert "User unknown" in page and "rcpt-refused" in page and "rcpt-accepted" in page
    listing = client.get("/records?result=partial").get_data(as_text=True)
    assert f"/messages/{pk}" in listing
    export = client.get("/records/export.csv?result=partial").get_data(as_text=True)
    assert "partly sent" in export and "gone@corp.example (refused: 550" in export


def test_all_refused_fails_without_retry(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": GONE})
    pk = _submit(app, make_smtp_sender(server), ["gone@corp.example"])
    Worker(app).run_once()
    message, attempts = _message(app, pk)
    assert message.status == "failed" and attempts == [("failed", 550)]
    assert message.reply_text == GONE[4:]  # kept verbatim, nothing put before it


def _statuses(app, pks):
    with app.app_context():
        rows = db.session.query(Message.id, Message.status, Message.diagnosis).filter(
            Message.id.in_(pks)).order_by(Message.id)
        return [(status, describe(diagnosis)) for _, status, diagnosis in rows]


def test_dropped_link_mid_batch_reconnects_without_pausing(app, smtpd_factory,
                                                            make_smtp_sender):
    # MAIL, RCPT, DATA per message: the 5th command is the second message's RCPT.
    server = smtpd_factory("plain", auth=AUTH, drop_after=4)
    sid = make_smtp_sender(server)
    pks = [_submit(app, sid, [f"user{n}@corp.example"]) for n in range(4)]
    Worker(app).run_once()
    found = _statuses(app, pks)
    assert [status for status, _ in found] == ["sent", "retrying", "sent", "sent"]
    assert "will be retried" in found[1][1]
    assert not any("Waiting" in diagnosis for _, diagnosis in found)
    assert server.sessions == 2 and "DROP rcpt" in server.commands
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "user0@corp.example", "user2@corp.example", "user3@corp.example"]


def test_link_dropped_after_the_final_dot_leaves_only_that_message_in_doubt(
        app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, drop_at="data_end", drop_times=1)
    sid = make_smtp_sender(server)
    pks = [_submit(app, sid, [f"user{n}@corp.example"]) for n in range(3)]
    Worker(app).run_once()
    found = _statuses(app, pks)
    assert [status for status, _ in found] == ["unknown", "sent", "sent"]
    assert "may or may not" in found[0][1] and "second copy" in found[0][1]
    assert len(server.messages) == 3 and server.sessions == 2


def test_reconnect_that_fails_pauses_the_rest(app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, drop_after=1)
    sid = make_smtp_sender(server)
    pks = [_submit(app, sid, [f"user{n}@corp.example"]) for n in range(3)]
    # The first login works; after the drop every login fails (None: answer normally).
    server.replies = _Replies({"auth": [None, *["454 4.7.0 Temporary authentication failure"]
                                              * 9]})
    Worker(app).run_once()
    found = _statuses(app, pks)
    # The dropped message is retried later; the next one finds the login failing after
    # three tries (one reconnect and two backed-off ones) and the rest of the claim waits.
    assert server.commands.count("AUTH PLAIN") == 4
    assert [status for status, _ in found[:2]] == ["retrying", "retrying"]
    assert "could not check the login" in found[1][1]
    assert found[2][0] == "queued"
    assert found[2][1].startswith("Waiting: the sender could not log in (auth")


def test_refused_and_deferred_are_told_apart_while_retrying(app, smtpd_factory,
                                                            make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {"gone@corp.example": GONE,
                                                               "slow@corp.example": LATER}})
    pk = _submit(app, make_smtp_sender(server),
                 ["good@corp.example", "gone@corp.example", "slow@corp.example"])
    Worker(app).run_once()
    message, _ = _message(app, pk)
    assert message.status == "retrying"
    refused_part, _, deferred_part = describe(message.diagnosis).partition("temporarily")
    assert refused_part.startswith("1 of 3 recipients accepted.")
    assert "gone@corp.example (550)" in refused_part and "slow" not in refused_part
    assert "slow@corp.example (451)" in deferred_part
    assert "retried automatically" in deferred_part


def test_too_many_recipients_at_rcpt_is_deferred_not_refused(app, smtpd_factory,
                                                             make_smtp_sender):
    # Postfix and RFC 5321 §4.5.3.1.10: a 552 "too many recipients" means "later".
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": {
        "c@corp.example": "552 5.5.3 Error: too many recipients"}})
    pk = _submit(app, make_smtp_sender(server), ["a@corp.example", "c@corp.example"])
    Worker(app).run_once()
    message, _ = _message(app, pk)
    assert message.status == "retrying"
    assert _states(message) == {"a@corp.example": "accepted", "c@corp.example": "pending"}
