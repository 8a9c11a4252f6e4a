"""/healthz, the worker heartbeat and the "worker not seen" banner."""

import json
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal import create_app
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.health.models import WorkerHeartbeat
from portal.health.service import beat, worker_status
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, submit
from portal.outbox.worker import Worker
from tests.conftest import ENCRYPTION_KEY, login
from tests.outbox_helpers import AUTH
from tests.pg_cluster import Cluster, free_port, pg_bin_dir

BANNER = "The deferred-mail worker has not been seen"


def _queue(app, count=1, team_id=None, status="queued"):
    """Waiting messages, written directly: staleness only looks at their status."""
    with app.app_context():
        for _ in range(count):
            message = Message(sender_name="Relay", sender_address="robot@example.com",
                              sender_reason="explicit", subject="Figures", mode="deferred",
                              status=status, team_id=team_id, attempt_count=0)
            message.set_recipients(["alice@example.org"], [], [])
            db.session.add(message)
        db.session.commit()


def _heartbeat(app, age: timedelta, name="host-a:101"):
    with app.app_context():
        db.session.add(WorkerHeartbeat(name=name, host="host-a", pid=101,
                                       last_seen=utcnow() - age, last_claimed=3))
        db.session.commit()


def _health(client):
    response = client.get("/healthz")
    assert response.is_json and response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.json


def test_healthz_without_sign_in_and_nothing_waiting(app, client):
    status, body = _health(client)
    assert status == 200
    assert body == {"status": "ok", "database": "ok",
                    "worker": {"last_heartbeat": None, "stale": False, "queued": 0}}
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
    text = response.get_data(as_text=True)
    for secret in (ENCRYPTION_KEY, app.config["SECRET_KEY"], app.config["SQLALCHEMY_DATABASE_URI"]):
        assert secret not in text


def test_worker_cycle_writes_heartbeat(app, client, smtpd_factory, make_smtp_sender):
    worker = Worker(app, batch=10)
    assert worker.run_once() == 0
    with app.app_context():
        (row,) = db.session.scalars(select(WorkerHeartbeat)).all()
        first = row.last_seen
        assert row.name == worker.name and row.pid == os.getpid() and row.last_claimed == 0
        assert row.host and utcnow() - first < timedelta(seconds=30)
    sender_id = make_smtp_sender(smtpd_factory("plain", auth=AUTH))
    with app.app_context():
        submit(Actor(label="tester", team_ids=None),
               Submission(to=["a@example.org"], subject="Figures", html="<p>x</p>",
                          sender_id=sender_id), "10.1.2.3")
    assert worker.run_once() == 1
    with app.app_context():
        (row,) = db.session.scalars(select(WorkerHeartbeat)).all()
        assert row.last_claimed == 1 and row.last_seen >= first
    status, body = _health(client)
    assert status == 200 and body["status"] == "ok"
    assert datetime.fromisoformat(body["worker"]["last_heartbeat"]) == row.last_seen


def test_stale_worker_while_mail_waits_is_degraded(app, client):
    app.config["WORKER_INTERVAL"] = 60
    _queue(app, 2)
    _queue(app, 1, status="retrying")
    _queue(app, 1, status="sent")
    status, body = _health(client)
    assert status == 200 and body["status"] == "degraded"
    assert body["worker"] == {"last_heartbeat": None, "stale": True, "queued": 3}

    _heartbeat(app, timedelta(seconds=181))
    status, body = _health(client)
    assert body["status"] == "degraded" and body["worker"]["stale"] is True
    assert body["worker"]["last_heartbeat"] is not None

    _heartbeat(app, timedelta(seconds=100), name="host-b:202")  # two intervals: still fine
    status, body = _health(client)
    assert status == 200 and body["status"] == "ok" and body["worker"]["stale"] is False


def test_silent_worker_with_empty_queue_is_not_stale(app, client):
    _heartbeat(app, timedelta(days=2))
    _queue(app, 1, status="failed")
    status, body = _health(client)
    assert status == 200 and body["status"] == "ok"
    assert body["worker"]["stale"] is False and body["worker"]["queued"] == 0


def test_staleness_follows_the_configured_interval(app):
    _queue(app)
    _heartbeat(app, timedelta(seconds=100))
    with app.app_context():
        app.config["WORKER_INTERVAL"] = 30
        assert worker_status().stale is True
        app.config["WORKER_INTERVAL"] = 60
        assert worker_status().stale is False


def test_beat_prunes_workers_gone_for_a_week(app):
    _heartbeat(app, timedelta(days=8), name="old:1")
    _heartbeat(app, timedelta(days=1), name="recent:2")
    with app.app_context():
        beat("host-c:303", 5)
        names = set(db.session.scalars(select(WorkerHeartbeat.name)))
    assert names == {"recent:2", "host-c:303"}


def test_banner_for_admins_when_worker_is_stale(app, client, world):
    _queue(app, 2, team_id=world["red"])
    _heartbeat(app, timedelta(hours=2))
    login(client, "root")
    page = client.get("/").get_data(as_text=True)
    assert BANNER in page and "while 2 messages wait to be sent" in page
    assert "flask --app portal worker" in page and "/records?result=queued" in page


@pytest.mark.parametrize("user, expected", [("red_admin", "while 1 message waits"),
                                            ("blue_admin", None), ("red_agent", None)])
def test_banner_is_scoped_to_the_admins_teams(app, client, world, user, expected):
    _queue(app, 1, team_id=world["red"])
    login(client, user)
    page = client.get("/").get_data(as_text=True)
    if expected is None:
        assert BANNER not in page
    else:
        assert BANNER in page and expected in page and "Ask a system administrator" in page


@pytest.mark.parametrize("locale, expected", [
    ("zh_Hans_CN", ("后台发送进程", "当前有 2 封邮件等待发送", "查看排队中的邮件")),
    ("zh_Hant_TW", ("背景傳送程序", "目前有 2 封郵件等待傳送", "檢視佇列中的郵件"))])
def test_banner_in_the_admins_language(app, client, world, locale, expected):
    """Needs the merged catalogs (portal/translations)."""
    from portal.auth.models import User

    _queue(app, 2)
    _heartbeat(app, timedelta(hours=2))
    with app.app_context():
        db.session.get(User, world["root"]).locale = locale
        db.session.commit()
    login(client, "root")
    page = client.get("/").get_data(as_text=True)
    assert BANNER not in page and "flask --app portal worker" in page
    for words in expected:
        assert words in page


def test_no_banner_while_the_worker_is_alive(app, client, world):
    _queue(app, 3)
    _heartbeat(app, timedelta(seconds=5))
    login(client, "root")
    assert BANNER not in client.get("/").get_data(as_text=True)


def _bare_app(url):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "s",
                       "ENCRYPTION_KEY": ENCRYPTION_KEY})


def test_unreachable_database_is_503_without_details(tmp_path):
    url = f"postgresql+psycopg://portal:hunter2@127.0.0.1:{free_port()}/portal"
    app = _bare_app(url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable", "worker": None}
    assert "hunter2" not in response.get_data(as_text=True)


def test_missing_schema_is_503(tmp_path):
    app = _bare_app(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "error"
    with app.app_context():
        beat("host-d:404", 0)  # a failing heartbeat is logged, never raised


def test_stopped_postgresql_is_reported(tmp_path):
    """A real PostgreSQL cluster: healthy while it runs, 503 once it is stopped."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run should have installed it.")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql).")
    cluster, running = Cluster(bin_dir).start(), True
    try:
        app = _bare_app(cluster.create_database("health"))
        with app.app_context():
            db.create_all()
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        cluster.stop()
        running = False
        response = client.get("/healthz")
        assert response.status_code == 503, json.dumps(response.json)
        assert response.json == {"status": "error", "database": "unreachable", "worker": None}
        with app.app_context():
            db.engine.dispose()
    finally:
        if running:
            cluster.stop()
