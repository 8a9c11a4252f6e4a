"""The fallback sender sends the stored bytes re-addressed (attachments intact), only to
senders of the primary's scope, and never fails a message for its own limits; the
hand-over loop stores every outcome, and an unreadable secret still fails one message."""

from datetime import timedelta

from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail.attachments import Attachment
from portal.mail.readdress import readdress
from portal.outbox import batch, lifecycle
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, submit
from portal.outbox.worker import Worker
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH, queue, set_sender
from tests.sender_helpers import sender_form
from tests.test_fallback import BACKUP, pair

FILE = bytes(range(256)) * 40  # every byte value: any re-encoding would show


def queue_with_file(app, sid):
    with app.app_context():
        sub = Submission(to=["alice@example.org"], subject="Figures", html="<p>See file.</p>",
                         sender_id=sid, mode="deferred",
                         attachments=[Attachment("figures.bin", FILE, "application/octet-stream")])
        return submit(Actor(label="tester", team_ids=None), sub, None).id


def stored(app, pk):
    with app.app_context():
        message = db.session.get(Message, pk)
        return message.status, message.sender_id, message.message_id, message.raw_message


def test_the_fallback_sends_the_stored_bytes_with_the_attachment(
        app, smtpd_factory, make_smtp_sender, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    pk = queue_with_file(app, primary)
    before = stored(app, pk)[3]
    Worker(app).run_once()
    status, sender_id, message_id, after = stored(app, pk)
    assert (status, sender_id) == ("sent", backup)
    (received,) = server.messages
    assert received.mail_from == BACKUP and BACKUP in received.message["From"]
    assert received.message["Message-ID"] == message_id
    (part,) = list(received.message.iter_attachments())
    assert part.get_filename() == "figures.bin" and part.get_content() == FILE
    # Only the From line changed: the body with its attachment is byte for byte the same.
    assert after.split(b"\r\n\r\n", 1)[1] == before.split(b"\r\n\r\n", 1)[1]


def test_readdress_replaces_from_and_drops_sender():
    data = (b"From: Robot <robot@example.com>\r\nSender: x@example.com\r\nSubject: Hi\r\n"
            b" folded\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n")
    out = readdress(data, "backup@example.com", "Backup")
    assert out == (b"From: Backup <backup@example.com>\r\nSubject: Hi\r\n folded\r\n"
                   b"Message-ID: <1@example.com>\r\n\r\nbody\r\n")


def test_a_message_too_large_for_the_fallback_waits_for_its_own_sender(
        app, smtpd_factory, make_smtp_sender, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    pk = queue_with_file(app, primary)
    small = queue(app, primary)
    set_sender(app, backup, max_message_bytes=len(stored(app, pk)[3]) - 1)
    Worker(app).run_once()
    assert stored(app, pk)[:2] == ("queued", primary)
    assert stored(app, small)[:2] == ("sent", backup) and len(server.messages) == 1


def test_too_many_recipients_for_the_fallback_waits_instead_of_failing(
        app, smtpd_factory, make_smtp_sender, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    pks = [queue(app, primary, to=("a@example.org", "b@example.org")) for _ in range(2)]
    set_sender(app, backup, daily_recipient_quota=1)
    Worker(app).run_once()
    assert [stored(app, pk)[:2] for pk in pks] == [("queued", primary)] * 2
    set_sender(app, backup, daily_recipient_quota=None, max_recipients_per_message=1)
    with app.app_context():  # the primary's pause is over
        db.session.execute(Message.__table__.update().values(next_attempt_at=None))
        db.session.commit()
    Worker(app).run_once()
    assert [stored(app, pk)[:2] for pk in pks] == [("queued", primary)] * 2
    assert server.messages == []


def test_a_fallback_of_another_team_is_not_used(app, world, smtpd_factory,
                                                 make_smtp_sender, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    set_sender(app, primary, team_id=world["red"])
    set_sender(app, backup, team_id=world["blue"])
    pk = queue(app, primary)
    Worker(app).run_once()  # as without a fallback: an attempt through its own sender
    assert stored(app, pk)[:2] == ("retrying", primary) and server.messages == []
    set_sender(app, backup, team_id=world["red"])  # the same team: it may be used
    with app.app_context():
        db.session.execute(Message.__table__.update().values(next_attempt_at=None))
        db.session.commit()
    Worker(app).run_once()
    assert stored(app, pk)[:2] == ("sent", backup)


def test_the_form_offers_and_accepts_only_fallbacks_of_the_senders_scope(
        app, client, world, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    system = make_smtp_sender(server, name="Everyone")
    red = make_smtp_sender(server, name="Red one", team_id=world["red"])
    blue = make_smtp_sender(server, name="Blue one", team_id=world["blue"])
    login(client, "root")
    page = client.get(f"/senders/{system}").get_data(as_text=True)
    options = page.split('name="fallback_sender_id"')[1].split("</select>")[0]
    assert f'value="{red}"' not in options and f'value="{blue}"' not in options
    refused = client.post(f"/senders/{system}", headers=HX, data=sender_form(
        server, name="Everyone", fallback_sender_id=str(blue)))
    assert refused.status_code == 422
    page = client.get(f"/senders/{red}").get_data(as_text=True)
    options = page.split('name="fallback_sender_id"')[1].split("</select>")[0]
    assert f'value="{system}"' in options and f'value="{blue}"' not in options
    refused = client.post(f"/senders/{red}", headers=HX, data=sender_form(
        server, name="Red one", team_id=str(world["red"]), fallback_sender_id=str(blue)))
    assert refused.status_code == 422
    odd = client.post(f"/senders/{red}", headers=HX, data=sender_form(
        server, name="Red one", team_id=str(world["red"]), fallback_sender_id="²"))
    assert odd.status_code in (204, 422)
    assert client.post("/senders/check", headers=HX, data=sender_form(
        server, sender_id=red, fallback_sender_id="²", password="")).status_code < 500


def test_moving_a_sender_to_another_team_drops_it_as_a_foreign_fallback(
        app, client, world, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    red = make_smtp_sender(server, name="Red one", team_id=world["red"])
    helper = make_smtp_sender(server, name="Helper", team_id=world["red"])
    set_sender(app, red, fallback_sender_id=helper)
    login(client, "root")
    moved = client.post(f"/senders/{helper}", headers=HX, data=sender_form(
        server, name="Helper", team_id=str(world["blue"])))
    assert moved.status_code == 204
    with app.app_context():
        assert db.session.get(Sender, red).fallback_sender_id is None


def test_a_lost_claim_on_reroute_still_stores_the_previous_outcome(
        app, smtpd_factory, make_smtp_sender, free_port, monkeypatch):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    first, second = queue(app, primary), queue(app, primary)
    real = lifecycle.reroute

    def lose_second(pk, *args):
        return pk != second and real(pk, *args)

    monkeypatch.setattr(lifecycle, "reroute", lose_second)
    with app.app_context():
        claim = "test-claim"
        pks = lifecycle.claim_batch(claim, 10, 60)
        sender_id = db.session.get(Sender, primary).id
        batch.deliver_chunk(sender_id, pks, claim, lease=60, timeout=5,
                            should_stop=lambda: False)
    assert stored(app, first)[:2] == ("sent", backup)  # not left "sending"
    assert len(server.messages) == 1


def test_a_quota_reply_at_login_pauses_the_sender_before_the_fallback(
        app, smtpd_factory, make_smtp_sender):
    reply = "554 MI:STC 163 smtp14,EsCowAC...: Sending quota exceeded for today"
    refusing = smtpd_factory("plain", auth=AUTH, reply={"auth": reply})
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, refusing)
    pk = queue(app, primary)
    Worker(app).run_once()
    assert stored(app, pk)[:2] == ("sent", backup)
    with app.app_context():
        until = db.session.get(Sender, primary).provider_paused_until
    assert until is not None and until > utcnow() + timedelta(minutes=1)


def test_an_unreadable_secret_without_fallback_fails_the_first_message(
        app, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server)
    set_sender(app, sid, password_encrypted="not-a-token")
    pks = [queue(app, sid), queue(app, sid)]
    Worker(app).run_once()
    with app.app_context():
        found = db.session.execute(select(Message.status, Message.attempt_count)
                                   .where(Message.id.in_(pks)).order_by(Message.id)).all()
    assert [tuple(row) for row in found] == [("failed", 1), ("queued", 0)]
    assert server.messages == []
