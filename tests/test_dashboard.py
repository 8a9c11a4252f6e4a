"""The dashboard: queue and last-24-hour figures, senders needing attention and the worker,
each scoped to what the signed-in user may see."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.health import service as health
from portal.outbox.models import Message
from portal.senders.models import Sender
from tests.conftest import login

NOW = datetime.now(UTC)


@pytest.fixture
def add(app, world):
    """Add a sender (team, name, default) or a message (status, sender, team, user, age)."""
    def sender(name, team=None, default=False):
        with app.app_context():
            row = Sender(name=name, host="smtp.example.com", port=587, encryption="starttls",
                         address=f"{name.lower()}@example.com", display_name=name,
                         team_id=world[team] if team else None, is_default=default)
            db.session.add(row)
            db.session.commit()
            return row.id

    def message(status, sender_id=None, team=None, user=None, hours=1, subject="Report"):
        with app.app_context():
            row = Message(sender_id=sender_id, sender_name=f"S{sender_id}",
                          sender_address="s@example.com", sender_reason="default",
                          subject=subject, mode="deferred", status=status,
                          team_id=world[team] if team else None,
                          user_id=world[user] if user else None,
                          created_at=NOW - timedelta(hours=hours))
            row.set_recipients(["alice@example.org"])
            db.session.add(row)
            db.session.commit()

    return sender, message


def _stat(body: str, label: str) -> str:
    """The figure shown above ``label`` on a stat card."""
    match = re.search(r'stat-value">([^<]+)</span>\s*<span class="stat-label">' + label, body)
    assert match, label
    return match.group(1)


def test_figures_count_the_last_day_and_the_queue(client, world, add):
    sender, message = add
    red = sender("Red", "red", default=True)
    for status, hours in (("sent", 1), ("sent", 2), ("failed", 3), ("partial", 4),
                          ("unknown", 5), ("sent", 30), ("queued", 2), ("retrying", 50)):
        message(status, red, "red", hours=hours)
    login(client, "red_admin")
    body = client.get("/").get_data(as_text=True)
    assert _stat(body, "sent in 24 h") == "2"           # the one 30 h ago is not counted
    assert _stat(body, "failed in 24 h") == "1"
    assert _stat(body, "partly sent in 24 h") == "1"
    assert _stat(body, "unknown in 24 h") == "1"
    assert _stat(body, "waiting to be sent") == "2"
    assert "oldest <span" in body and "2d ago" in body  # the retrying one, 50 h old


def test_team_admin_sees_only_their_teams(client, world, add):
    sender, message = add
    red, blue = sender("Red", "red", default=True), sender("Blue", "blue", default=True)
    message("sent", red, "red")
    for _ in range(3):
        message("failed", blue, "blue")
    login(client, "red_admin")
    body = client.get("/").get_data(as_text=True)
    assert _stat(body, "failed in 24 h") == "0" and _stat(body, "sent in 24 h") == "1"
    assert "Blue" not in body


def test_attention_lists_failing_untested_and_missing_defaults(client, world, add):
    sender, message = add
    failing = sender("Flaky", "red")
    sender("Healthy", "red", default=True)
    message("failed", failing, "red")
    message("unknown", failing, "red")
    message("retrying", failing, "red")
    login(client, "root")
    body = client.get("/").get_data(as_text=True)
    section = body.split('id="attention-title"')[1].split("</section>")[0]
    assert "2 messages failed in the last 24 h" in section
    assert "1 message waiting to be retried" in section
    assert "Never tested" in section
    assert "There is no system default sender." in section
    assert "Team “Blue” has no default sender." in section
    assert "Team “Red”" not in section


def test_agent_sees_own_recent_messages_and_compose(client, world, add):
    _sender, message = add
    message("sent", team="red", user="red_agent", subject="Mine to the customer")
    message("sent", team="red", user="red_admin", subject="Someone else's")
    login(client, "red_agent")
    body = client.get("/").get_data(as_text=True)
    assert "Mine to the customer" in body and "Someone else&#39;s" not in body
    assert 'href="/compose"' in body
    assert "Needs attention" not in body and "Stalled" not in body


def test_worker_states(app, world, add):
    _sender, message = add
    client = app.test_client()      # no request context kept around: heartbeats below
    login(client, "root")
    assert "Not started" in client.get("/").get_data(as_text=True)
    with app.app_context():
        health.beat("w1", 0)
    assert "Running" in client.get("/").get_data(as_text=True)
    message("queued", team="red")
    app.config["WORKER_INTERVAL"] = 0.001        # three silent intervals have passed
    assert "Stalled" in client.get("/").get_data(as_text=True)
