"""Worker processes for real: crash safety under SIGKILL, two workers on one queue, SIGTERM."""

import asyncio
import collections
import email
import os
import signal
import subprocess
import sys
import time

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail.diagnosis import describe
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, submit
from portal.senders.models import Sender
from tests.conftest import ENCRYPTION_KEY
from tests.outbox_helpers import AUTH
from tests.smtp_servers import pick_free_port


def _queue(app, sender_id, count):
    with app.app_context():
        actor = Actor(label="load", team_ids=None)
        for i in range(count):
            submit(actor, Submission(to=[f"user{i}@example.org"], subject=f"Report {i}",
                                     html="<p>Numbers.</p>", sender_id=sender_id), None)


def _env(app, tmp_path, lease):
    return dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PORTAL_INSTANCE_PATH=str(tmp_path), PORTAL_SECRET_KEY=ENCRYPTION_KEY,
               PORTAL_SESSION_KEY="x", PORTAL_WORKER_LEASE_SECONDS=str(lease),
               PORTAL_SMTP_TIMEOUT="3")


def _spawn(app, tmp_path, *args, lease=2):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "worker", *args],
                            env=_env(app, tmp_path, lease), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _states(app):
    with app.app_context():
        return dict(db.session.execute(select(Message.status, func.count())
                                       .group_by(Message.status)).all())


def _message_ids(app, status=None):
    with app.app_context():
        query = select(Message.message_id)
        if status:
            query = query.where(Message.status == status)
        return set(db.session.scalars(query))


def _received(server):
    return collections.Counter(m.message["Message-ID"] for m in server.messages)


class _SlowHandler:
    """Takes ~15 ms per message, like a real server writing its queue, and records what
    arrived, so a kill lands while messages are on the wire."""

    def __init__(self):
        self.received = collections.Counter()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.015)
        parsed = email.message_from_bytes(envelope.original_content or envelope.content)
        self.received[parsed["Message-ID"]] += 1
        return "250 2.0.0 queued"


def _slow_server():
    handler = _SlowHandler()
    for _attempt in range(5):
        controller = Controller(handler, hostname="127.0.0.1", port=pick_free_port())
        try:
            controller.start()
            return controller, handler
        except OSError:
            continue
    raise RuntimeError("no free port")


def _kill_mid_batch(app, tmp_path, handler, at_least: int):
    # One claim takes the whole queue: a kill never lands between two batches, where
    # nothing is on the wire.
    worker = _spawn(app, tmp_path, "--batch", "1000", "--interval", "0.1")
    assert _wait(lambda: sum(handler.received.values()) >= at_least, timeout=120), \
        worker.stderr.read().decode()[-2000:]
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    time.sleep(2.2)  # let the dead worker's leases run out


def test_sigkill_leaves_at_most_one_message_in_doubt_per_connection(
        app, tmp_path, make_smtp_sender):
    controller, handler = _slow_server()
    try:
        with app.app_context():
            sender = Sender(name="Slow", host="127.0.0.1", port=controller.port,
                            encryption="none", address="robot@example.com",
                            display_name="Robot", mode="deferred", enabled=True,
                            max_connections=4)
            db.session.add(sender)
            db.session.commit()
            sid = sender.id
        _queue(app, sid, 600)
        kills = 3
        for round_number in range(1, kills + 1):
            _kill_mid_batch(app, tmp_path, handler, at_least=100 * round_number)
        assert sum(handler.received.values()) < 600, "the kills came too late to test anything"
        restarted = _spawn(app, tmp_path, "--interval", "0.2", "--batch", "100")
        try:
            assert _wait(lambda: set(_states(app)) <= {"sent", "unknown"}, timeout=120), \
                _states(app)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=20)
    finally:
        controller.stop()

    received = handler.received
    assert max(received.values()) == 1, "a message was delivered twice"
    sent, unknown = _message_ids(app, "sent"), _message_ids(app, "unknown")
    assert len(sent) + len(unknown) == 600, "a message was lost"
    assert sent <= set(received), "a message marked sent never arrived"
    assert set(received) <= sent | unknown
    assert 1 <= len(unknown) <= 4 * kills, f"{len(unknown)} in doubt after {kills} kills"
    with app.app_context():
        for message in db.session.scalars(select(Message).where(Message.status == "unknown")):
            last = message.attempts[-1]
            assert (last.outcome, last.step) == ("unknown", "handover")
            assert last.started_at is not None and message.attempt_count == len(message.attempts)
            assert "may or may not" in describe(message.diagnosis).lower()
            assert "second copy" in describe(message.diagnosis).lower()


def test_two_workers_share_one_queue(app, tmp_path, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, max_connections=2)
    _queue(app, sid, 300)
    workers = [_spawn(app, tmp_path, "--batch", "20", "--interval", "0.1", lease=30)
               for _ in range(2)]
    try:
        assert _wait(lambda: _states(app) == {"sent": 300}, timeout=90), _states(app)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=20) == 0
    received = _received(server)
    assert len(received) == 300 and max(received.values()) == 1


def test_sigterm_finishes_message_in_hand_and_releases_claim(
        app, tmp_path, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, rate_per_minute=120)  # one every 0.5 s
    _queue(app, sid, 30)
    worker = _spawn(app, tmp_path, "--batch", "30", "--interval", "0.2", lease=300)
    assert _wait(lambda: len(server.messages) >= 2)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    states = _states(app)
    assert "sending" not in states and "unknown" not in states
    assert states.get("sent") == len(server.messages) and states.get("queued", 0) > 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Message.claimed_by.is_not(None))) == 0


def test_worker_once_exits(app, tmp_path, smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    _queue(app, make_smtp_sender(server), 3)
    worker = _spawn(app, tmp_path, "--once")
    assert worker.wait(timeout=30) == 0
    assert _states(app) == {"sent": 3}


class _HangingHandler:
    """Takes the message, then never answers the final dot (a server that stalls)."""

    def __init__(self):
        self.arrived = 0

    async def handle_DATA(self, server, session, envelope):
        self.arrived += 1
        await asyncio.sleep(30)
        return "250 2.0.0 too late"


def test_interrupted_immediate_send_is_recovered_as_unknown(app, tmp_path):
    handler = _HangingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=pick_free_port())
    controller.start()
    try:
        with app.app_context():
            sender = Sender(name="Stalling", host="127.0.0.1", port=controller.port,
                            encryption="none", address="robot@example.com",
                            display_name="Robot", mode="immediate", enabled=True)
            db.session.add(sender)
            db.session.commit()
            sid = sender.id
        script = ("from portal import create_app\n"
                  "from portal.outbox.actors import Actor\n"
                  "from portal.outbox.service import Submission, submit\n"
                  "with create_app().app_context():\n"
                  "    submit(Actor(label='api', team_ids=None), Submission(\n"
                  "        to=['boss@example.org'], subject='Daily', html='<p>Figures</p>',\n"
                  f"        sender_id={sid}), None)\n")
        request = subprocess.Popen([sys.executable, "-c", script],
                                   env=_env(app, tmp_path, lease=1),
                                   stderr=subprocess.PIPE)
        assert _wait(lambda: handler.arrived == 1, timeout=30), request.stderr.read()[-2000:]
        request.send_signal(signal.SIGKILL)  # the request dies while waiting for the reply
        request.wait(timeout=10)
        assert _states(app) == {"sending": 1}
        time.sleep(1.2)
        assert _spawn(app, tmp_path, "--once", lease=1).wait(timeout=30) == 0
    finally:
        controller.stop()
    assert _states(app) == {"unknown": 1}
    with app.app_context():
        message = db.session.scalars(select(Message)).one()
        assert message.claimed_by is None and message.lease_until is None
        assert [(a.outcome, a.step) for a in message.attempts] == [("unknown", "handover")]
        assert message.recipient_results[0]["state"] == "unknown"


def test_two_workers_keep_one_recipient_quota(app, tmp_path, smtpd_factory, make_smtp_sender):
    """The rolling 24-hour window is shared through the database: two worker processes
    with several connections each hand over no more than the quota between them."""
    from portal.health.models import WorkerHeartbeat
    from portal.senders.models import SenderUsage

    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, max_connections=3)
    with app.app_context():
        db.session.get(Sender, sid).daily_recipient_quota = 7
        db.session.commit()
    _queue(app, sid, 40)
    workers = [_spawn(app, tmp_path, "--batch", "5", "--interval", "0.1", lease=30)
               for _ in range(2)]

    def settled():  # both workers running (a beat each), nothing claimed, all decided
        with app.app_context():
            busy = db.session.scalar(select(func.count()).select_from(Message).where(
                Message.claimed_by.is_not(None)))
            beats = db.session.scalar(select(func.count()).select_from(WorkerHeartbeat))
        return beats == 2 and busy == 0 and _states(app) == {"sent": 7, "queued": 33}

    try:
        assert _wait(settled, timeout=60), _states(app)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=20) == 0
    assert len(server.messages) == 7
    with app.app_context():
        assert db.session.scalar(select(func.sum(SenderUsage.recipients))) == 7
        waiting = db.session.scalars(select(Message).where(Message.status == "queued")).all()
        assert all(m.attempt_count == 0 and "quota of 7 recipients" in describe(m.diagnosis)
                   for m in waiting)
