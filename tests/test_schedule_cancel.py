"""Scheduled sending (send_at) and cancelling mail not yet handed over: the API, the
compose page's "Send later", the message page's Cancel button, and the worker's side."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from tests.conftest import HX, login
from tests.outbox_helpers import AUTH

URL = "/api/v1/messages"
MAIL = {"to": "alice@example.org", "subject": "Quarterly figures", "html": "<p>Here.</p>"}


def _auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def _iso(delta: timedelta, offset_hours: int = 8) -> str:
    zone = timezone(timedelta(hours=offset_hours))
    return (datetime.now(UTC) + delta).astimezone(zone).isoformat()


def _message(app, pk) -> Message:
    with app.app_context():
        message = db.session.get(Message, pk)
        db.session.expunge(message)
        return message


def _make_due(app, pk):
    """send_at reached, without waiting for it."""
    with app.app_context():
        db.session.execute(update(Message).where(Message.id == pk)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _server(smtpd_factory, make_smtp_sender, **kwargs):
    server = smtpd_factory("plain", auth=AUTH)
    server.sender_id = make_smtp_sender(server, mode="immediate", is_default=True, **kwargs)
    return server


def test_scheduled_waits_until_send_at_then_is_sent(app, client, smtpd_factory,
                                                    make_smtp_sender, make_token):
    server = _server(smtpd_factory, make_smtp_sender)
    response = client.post(URL, json={**MAIL, "send_at": _iso(timedelta(hours=2))},
                           headers=_auth(make_token()))
    assert response.status_code == 202 and response.json["status"] == "scheduled"
    pk = response.json["id"]
    details = client.get(f"{URL}/{pk}", headers=_auth(make_token(name="other")))
    assert details.json["status"] == "scheduled" and details.json["next_attempt_at"]
    assert Worker(app, batch=10).run_once() == 0
    assert _message(app, pk).status == "scheduled" and server.messages == []
    _make_due(app, pk)
    assert Worker(app, batch=10).run_once() == 1
    assert _message(app, pk).status == "sent" and len(server.messages) == 1


def test_send_at_in_a_batch_and_just_past_is_sent_now(app, client, smtpd_factory,
                                                      make_smtp_sender, make_token):
    _server(smtpd_factory, make_smtp_sender)
    items = [{**MAIL, "send_at": _iso(timedelta(days=1), 0).replace("+00:00", "Z")},
             {**MAIL, "send_at": _iso(timedelta(seconds=-30))}]
    answers = client.post(f"{URL}/batch", json={"messages": items},
                          headers=_auth(make_token())).json["messages"]
    assert [a["status"] for a in answers] == ["scheduled", "queued"]
    assert Worker(app, batch=10).run_once() == 1


def test_send_at_refusals_name_the_field(app, client, relay, make_token):
    secret = make_token()
    app.config["SCHEDULE_HORIZON_DAYS"] = 7
    cases = {"2026-12-01T09:30:00": "send_at_without_offset", "tomorrow": "invalid_send_at",
             _iso(timedelta(days=8)): "send_at_too_far",
             _iso(timedelta(hours=-1)): "send_at_past"}
    for value, code in cases.items():
        response = client.post(URL, json={**MAIL, "send_at": value}, headers=_auth(secret))
        assert response.status_code == 422, value
        assert response.json["error"] | {"message": ""} == {
            "code": code, "field": "send_at", "message": ""}
    response = client.post(URL, json={**MAIL, "send_at": _iso(timedelta(hours=1)),
                                      "mode": "immediate"}, headers=_auth(secret))
    assert response.json["error"]["code"] == "send_at_immediate"
    with app.app_context():
        assert db.session.scalar(select(Message.id)) is None


def test_cancel_before_hand_over(app, client, smtpd_factory, make_smtp_sender, make_token):
    server = _server(smtpd_factory, make_smtp_sender)
    secret = make_token(name="Scheduler")
    queued = client.post(URL, json={**MAIL, "mode": "deferred"}, headers=_auth(secret))
    scheduled = client.post(URL, json={**MAIL, "send_at": _iso(timedelta(hours=1))},
                            headers=_auth(secret))
    for pk in (queued.json["id"], scheduled.json["id"]):
        response = client.delete(f"{URL}/{pk}", headers=_auth(secret))
        assert response.status_code == 200 and response.json["status"] == "cancelled"
        again = client.delete(f"{URL}/{pk}", headers=_auth(secret))
        assert again.status_code == 409 and again.json["error"]["code"] == "not_cancellable"
    _make_due(app, scheduled.json["id"])
    assert Worker(app, batch=10).run_once() == 0 and server.messages == []
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "message")).all()
        assert {(e.action, e.object_id, e.actor_label) for e in entries} == {
            ("cancel", pk, "API token “Scheduler”")
            for pk in (queued.json["id"], scheduled.json["id"])}
        assert entries[0].changes == {"status": ["queued", "cancelled"]}


def test_cancel_during_hand_over_or_after_is_409(app, client, smtpd_factory,
                                                 make_smtp_sender, make_token):
    _server(smtpd_factory, make_smtp_sender)
    secret = make_token()
    pk = client.post(URL, json={**MAIL, "mode": "deferred"}, headers=_auth(secret)).json["id"]
    with app.app_context():  # a worker has marked it "handing over"
        db.session.execute(update(Message).where(Message.id == pk).values(
            status="sending", claimed_by="w", lease_until=utcnow() + timedelta(minutes=5)))
        db.session.commit()
    response = client.delete(f"{URL}/{pk}", headers=_auth(secret))
    assert response.status_code == 409 and response.json["error"]["code"] == "not_cancellable"
    assert _message(app, pk).status == "sending"
    sent = client.post(URL, json=MAIL, headers=_auth(secret)).json
    assert sent["status"] == "sent"
    assert client.delete(f"{URL}/{sent['id']}", headers=_auth(secret)).status_code == 409
    assert client.delete(f"{URL}/{pk + 100}", headers=_auth(secret)).status_code == 404


def test_cancel_a_claimed_message_wins_over_the_hand_over(app, smtpd_factory,
                                                          make_smtp_sender, make_token, client):
    """Claimed but not yet handed over: the cancel takes it, the worker skips it."""
    server = _server(smtpd_factory, make_smtp_sender)
    from portal.outbox import lifecycle
    secret = make_token()
    pk = client.post(URL, json={**MAIL, "mode": "deferred"}, headers=_auth(secret)).json["id"]
    with app.app_context():
        assert lifecycle.claim_batch("w1", 10, 60) == [pk]
        assert lifecycle.cancel(pk) is True
        db.session.commit()
        assert lifecycle.hand_over(None, pk, "w1", 60) is False
    assert _message(app, pk).status == "cancelled" and server.messages == []


def test_team_token_cannot_cancel_another_teams_mail(app, client, world, smtpd_factory,
                                                     make_smtp_sender, make_token):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, team_id=world["red"], is_default=True, mode="deferred")
    red, blue = make_token(team_id=world["red"]), make_token(team_id=world["blue"], name="b")
    pk = client.post(URL, json=MAIL, headers=_auth(red)).json["id"]
    assert client.delete(f"{URL}/{pk}", headers=_auth(blue)).status_code == 404
    assert _message(app, pk).status == "queued"


def _queued_by(app, client, user, sender_id):
    """``user`` (in Asia/Shanghai) schedules a message two days ahead on the compose page."""
    with app.app_context():
        db.session.scalar(select(User).where(User.username == user)).timezone = "Asia/Shanghai"
        db.session.commit()
    login(client, user)
    response = client.post("/compose", headers=HX, data={
        "sender_id": str(sender_id), "to": "alice@example.org", "subject": "Later",
        "html_body": "<p>x</p>", "send_at": "2030-01-01T09:30"})
    assert response.status_code == 422  # beyond the horizon: a field error, nothing sent
    assert "days ahead" in response.get_data(as_text=True)
    local = (datetime.now(UTC) + timedelta(days=2)).astimezone(
        ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    response = client.post("/compose", headers=HX, data={
        "sender_id": str(sender_id), "to": "alice@example.org", "subject": "Later",
        "html_body": "<p>x</p>", "send_at": local.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200 and "Scheduled for" in response.get_data(as_text=True)
    with app.app_context():
        message = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert message.status == "scheduled"
        assert message.next_attempt_at == local.astimezone(UTC)  # read in the user's zone
        return message.id


def test_send_later_and_cancel_in_the_portal(app, world, smtpd_factory, make_smtp_sender):
    client = app.test_client()  # no shared context: each client is its own user
    server = smtpd_factory("plain", auth=AUTH)
    sender_id = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    pk = _queued_by(app, client, "red_agent", sender_id)
    page = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert "Cancel sending…" in page and "Scheduled for" in page
    assert "Asia/Shanghai, UTC+08:00" in client.get("/compose").get_data(as_text=True)
    filtered = client.get("/records?result=scheduled").get_data(as_text=True)
    assert f"/messages/{pk}" in filtered
    client = app.test_client()
    login(client, "blue_admin")
    assert client.post(f"/messages/{pk}/cancel").status_code == 404
    client = app.test_client()
    login(client, "red_admin")
    assert "Cancel sending" in client.get(f"/messages/{pk}/cancel").get_data(as_text=True)
    assert _message(app, pk).status == "scheduled"  # asking is not cancelling
    response = client.post(f"/messages/{pk}/cancel")
    assert response.status_code in (302, 303)
    assert _message(app, pk).status == "cancelled"
    page = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert "Cancel sending…" not in page
    late = client.get(f"/messages/{pk}/cancel")
    assert late.status_code == 200 and "cannot be cancelled" in late.get_data(as_text=True)
    assert client.post(f"/messages/{pk}/cancel").status_code in (302, 303)  # said, not done
    assert f"/messages/{pk}" in client.get("/records?result=cancelled").get_data(as_text=True)
    assert f"/messages/{pk}" not in client.get("/records?result=scheduled").get_data(
        as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cancel"))
        assert entry.actor_label == "red_admin" and entry.team_id == world["red"]


def test_another_agent_may_not_cancel(app, world, smtpd_factory, make_smtp_sender,
                                      make_user):
    client = app.test_client()
    server = smtpd_factory("plain", auth=AUTH)
    sender_id = make_smtp_sender(server, team_id=world["red"], mode="immediate")
    pk = _queued_by(app, client, "red_agent", sender_id)
    client = app.test_client()
    make_user("red_agent2", teams={world["red"]: "agent"})
    login(client, "red_agent2")
    assert client.get(f"/messages/{pk}").status_code == 404  # agents see their own mail
    assert client.post(f"/messages/{pk}/cancel").status_code == 404
    assert _message(app, pk).status == "scheduled"
