"""The fallback sender: deferred mail goes through it when its own sender cannot connect,
set up TLS or log in; never for a refused recipient, never in a loop, one hop only."""

from sqlalchemy import select, update

from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH, queue, set_sender
from tests.sender_helpers import sender_form

BACKUP = "backup@example.com"


def messages(app):
    with app.app_context():
        rows = db.session.scalars(select(Message).order_by(Message.id)).all()
        found = [(m.status, m.sender_id, m.sender_name, m.sender_address, m.sender_reason,
                  describe(m.sender_note) if m.sender_note else None, describe(m.diagnosis),
                  m.attempt_count) for m in rows]
        return found


def pair(app, smtpd_factory, make_smtp_sender, primary_server=None, *, primary_port=None):
    """A primary sender (on ``primary_server``, or a closed port) whose fallback is a
    working server; returns (primary id, fallback id, fallback server)."""
    backup_server = smtpd_factory("plain", auth=AUTH)
    backup = make_smtp_sender(backup_server, name="Backup")
    set_sender(app, backup, address=BACKUP, display_name="Backup robot")
    primary = make_smtp_sender(primary_server or backup_server, name="Primary")
    if primary_server is None:
        set_sender(app, primary, port=primary_port)
    set_sender(app, primary, fallback_sender_id=backup)
    return primary, backup, backup_server


def test_connect_failure_sends_through_the_fallback(app, client, world, smtpd_factory,
                                                    make_smtp_sender, make_token, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    pks = [queue(app, primary, to=(f"user{n}@example.org",)) for n in range(3)]
    Worker(app).run_once()
    found = messages(app)
    assert [row[:5] for row in found] == [("sent", backup, "Backup", BACKUP, "fallback")] * 3
    assert all(row[7] == 1 for row in found)  # one attempt each: the fallback's
    note = found[0][5]
    assert note.startswith("Sent through “Backup” because “Primary” failed: The portal "
                           "cannot reach the mail server")
    assert len(server.messages) == 3
    assert all(m.mail_from == BACKUP and "Backup robot" in m.message["From"]
               and BACKUP in m.message["From"] for m in server.messages)
    with app.app_context():  # the Message-ID it was recorded under is the one sent
        ids = set(db.session.scalars(select(Message.message_id)))
    assert {m.message["Message-ID"] for m in server.messages} == ids
    detail = client.get(f"/api/v1/messages/{pks[0]}",
                        headers={"Authorization": f"Bearer {make_token()}"}).json
    assert detail["sender"]["reason"] == "fallback" and detail["sender"]["id"] == backup
    fell = detail["sender"]["fallback_for"]
    assert fell["name"] == "Primary" and fell["failure"]["step"] == "connect"
    assert fell["failure"]["reason"] == "unreachable" and "Backup" in fell["description"]
    login(client, "root")
    page = client.get(f"/messages/{pks[0]}").get_data(as_text=True)
    assert "Sent through “Backup” because “Primary” failed" in page


def test_login_failure_sends_through_the_fallback(app, smtpd_factory, make_smtp_sender):
    refusing = smtpd_factory("plain", auth={"robot@example.com": "another-secret"})
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, refusing)
    queue(app, primary)
    queue(app, primary)
    Worker(app).run_once()
    found = messages(app)
    assert [row[0] for row in found] == ["sent", "sent"]
    assert all(row[1] == backup and "refused the login" in row[5] for row in found)
    assert len(server.messages) == 2 and refusing.messages == []


def test_refused_recipient_never_goes_through_the_fallback(app, smtpd_factory,
                                                           make_smtp_sender):
    refusing = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "550 5.1.1 No such user"})
    primary, _backup, server = pair(app, smtpd_factory, make_smtp_sender, refusing)
    queue(app, primary)
    Worker(app).run_once()
    (row,) = messages(app)
    assert row[0] == "failed" and row[1] == primary and row[4] == "explicit"
    assert row[5] is None and server.messages == [] and server.sessions == 0


def test_when_the_fallback_fails_too_the_mail_waits_for_its_own_sender_one_hop_only(
        app, smtpd_factory, make_smtp_sender, free_port):
    backup_server = smtpd_factory("plain", auth=AUTH)
    backup = make_smtp_sender(backup_server, name="Backup")
    primary = make_smtp_sender(backup_server, name="Primary")
    set_sender(app, backup, port=free_port)  # both unreachable
    set_sender(app, primary, port=free_port, fallback_sender_id=backup)
    set_sender(app, backup, fallback_sender_id=primary)  # a loop, as a database may hold
    queue(app, primary)
    queue(app, primary)
    Worker(app).run_once()
    found = messages(app)
    assert [(row[0], row[1], row[4], row[5], row[7]) for row in found] == [
        ("queued", primary, "explicit", None, 0)] * 2
    assert all(row[6].startswith("Waiting: the sender could not connect") for row in found)


def test_a_disabled_fallback_is_not_used(app, smtpd_factory, make_smtp_sender, free_port):
    primary, backup, server = pair(app, smtpd_factory, make_smtp_sender, primary_port=free_port)
    set_sender(app, backup, enabled=False)
    queue(app, primary)
    Worker(app).run_once()
    ((status, sender_id, _name, _address, reason, note, *_rest),) = messages(app)
    assert status != "sent" and sender_id == primary and reason == "explicit"
    assert note is None and server.messages == []


# --- the sender form ----------------------------------------------------------------------

def _save(client, sid=None, server=None, **fields):
    url = f"/senders/{sid}" if sid else "/senders/new"
    return client.post(url, headers=HX, data=sender_form(server, **fields))


def test_fallback_choice_loop_and_deletion(app, client, world, make_smtp_sender,
                                           smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    a = make_smtp_sender(server, name="Alpha")
    b = make_smtp_sender(server, name="Bravo")
    make_smtp_sender(server, name="Off")
    set_sender(app, b, fallback_sender_id=a)
    with app.app_context():
        db.session.execute(update(Sender).where(Sender.name == "Off").values(enabled=False))
        db.session.commit()
    login(client, "root")
    form = client.get(f"/senders/{a}").get_data(as_text=True)
    options = form.split('name="fallback_sender_id"')[1].split("</select>")[0]
    assert f'value="{b}"' in options and f'value="{a}"' not in options
    assert "Off" not in options
    loop = _save(client, a, server, name="Alpha", fallback_sender_id=str(b))
    assert loop.status_code == 422 and "would be a loop" in loop.get_data(as_text=True)
    itself = _save(client, a, server, name="Alpha", fallback_sender_id=str(a))
    assert itself.status_code == 422
    assert "cannot be its own fallback" in itself.get_data(as_text=True)
    saved = _save(client, name="Charlie", fallback_sender_id=str(b))
    assert saved.status_code == 204
    with app.app_context():
        charlie = db.session.scalar(select(Sender).where(Sender.name == "Charlie"))
        assert charlie.fallback_sender_id == b
    assert client.post(f"/senders/{b}/delete", headers=HX).status_code in (200, 204, 303)
    with app.app_context():
        assert db.session.get(Sender, charlie.id).fallback_sender_id is None


def test_quota_fields_are_saved_checked_and_filled_by_presets(app, client, world):
    login(client, "root")
    bad = _save(client, daily_recipient_quota="0", max_recipients_per_message="x")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Recipients per 24 hours must be between" in body
    assert "Recipients per message" in body
    assert _save(client, daily_recipient_quota="2000",
                 max_recipients_per_message="100").status_code == 204
    with app.app_context():
        sender = db.session.scalar(select(Sender))
        assert (sender.daily_recipient_quota, sender.max_recipients_per_message) == (2000, 100)
    preset = client.get("/senders/preset?preset=outlook", headers=HX).get_data(as_text=True)
    assert 'value="30"' in preset and 'value="10000"' in preset and 'value="500"' in preset
    qq = client.get("/senders/preset?preset=qq", headers=HX).get_data(as_text=True)
    assert 'id="daily_recipient_quota"' in qq and 'value="10000"' not in qq
