"""Worker processes for real: crash safety under SIGKILL, two workers on one queue, SIGTERM."""

import collections
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, submit
from tests.conftest import ENCRYPTION_KEY
from tests.outbox_helpers import AUTH


def _queue(app, sender_id, count):
    with app.app_context():
        actor = Actor(label="load", team_ids=None)
        for i in range(count):
            submit(actor, Submission(to=[f"user{i}@example.org"], subject=f"Report {i}",
                                     html="<p>Numbers.</p>", sender_id=sender_id), None)


def _spawn(app, tmp_path, *args, lease=2, group=10):
    env = dict(os.environ, PORTAL_WORKER_COMMIT_GROUP=str(group),
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PORTAL_INSTANCE_PATH=str(tmp_path), PORTAL_SECRET_KEY=ENCRYPTION_KEY,
               PORTAL_SESSION_KEY="x", PORTAL_WORKER_LEASE_SECONDS=str(lease),
               PORTAL_SMTP_TIMEOUT="3")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "worker", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


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


@pytest.mark.parametrize("group", [1, 10])
def test_sigkill_mid_batch_loses_nothing_and_sends_nothing_twice(
        app, tmp_path, smtpd_factory, make_smtp_sender, group):
    server = smtpd_factory("plain", auth=AUTH)
    sid = make_smtp_sender(server, max_connections=2)
    _queue(app, sid, 400)
    worker = _spawn(app, tmp_path, "--batch", "400", "--interval", "0.2", group=group)
    assert _wait(lambda: len(server.messages) >= 60), worker.stderr.read().decode()[-2000:]
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert len(server.messages) < 400, "the kill came too late to test anything"

    time.sleep(2.2)  # let the dead worker's leases run out
    restarted = _spawn(app, tmp_path, "--interval", "0.2", "--batch", "100")
    try:
        assert _wait(lambda: set(_states(app)) <= {"sent", "unknown"}, timeout=90), _states(app)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)

    received = _received(server)
    assert max(received.values()) == 1, "a message was delivered twice"
    sent, unknown = _message_ids(app, "sent"), _message_ids(app, "unknown")
    assert len(sent) + len(unknown) == 400
    assert sent <= set(received), "a message marked sent never arrived"
    assert set(received) <= sent | unknown
    # At most one commit group in hand per connection when killed.
    assert len(unknown) <= 2 * group


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
