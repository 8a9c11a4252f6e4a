"""Audit trail: an entry for every change (who, when, IP, what), never a secret, scoping,
the CLI actor, filters and paging, escaping, and bookkeeping that is not audited."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import create_app
from portal.audit import service as audit_service
from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.cli import SYSTEM
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.senders.models import Sender
from portal.teams import service as teams_service
from portal.teams.models import Team
from portal.tokens import service as tokens_service
from portal.tokens.models import ApiToken
from tests.conftest import HX, login
from tests.sender_helpers import sender_form

SECRET = re.compile(r"mbp_[A-Za-z0-9_-]{40,}")
AUTH_CODE = "s3cret-auth-code-77"
TEMPLATE = {"name": "Daily report", "team_id": "", "subject": "Report {{ day }}",
            "html_body": "<p>Hi</p>", "text_body": ""}


def _entries(app, **where) -> list[AuditEntry]:
    """Entries matching column values, oldest first, detached for use outside the app."""
    with app.app_context():
        query = select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def _one(app, **where) -> AuditEntry:
    rows = _entries(app, **where)
    assert len(rows) == 1, [(r.action, r.object_label, r.changes) for r in rows]
    return rows[0]


def _sender_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Sender.id).where(Sender.name == name))


def _audit_html(client) -> str:
    """The audit results only (not flash messages about the changes just made)."""
    response = client.get("/audit")
    assert response.status_code == 200
    return response.get_data(as_text=True).split('<div id="audit">', 1)[1]


def _by_root(entry: AuditEntry, world, ip="127.0.0.1") -> None:
    assert (entry.actor_user_id, entry.actor_label, entry.client_ip) == (world["root"], "root", ip)


def test_sender_create_edit_default_and_delete(app, client, world):
    login(client, "root")
    client.post("/senders/new", data=sender_form(password=AUTH_CODE), headers=HX,
                environ_base={"REMOTE_ADDR": "10.0.0.7"})
    created = _one(app, object_type="sender", action="create")
    _by_root(created, world, ip="10.0.0.7")
    assert created.object_label == "Reports" and created.team_id is None
    assert created.changes["password"] == [None, "(hidden)"]
    assert created.changes["host"] == [None, "smtp.example.com"]
    assert created.changes["team"] == [None, "System"]
    assert "password set" in created.change_lines()
    sender_id = created.object_id
    assert sender_id == _sender_id(app, "Reports")

    client.post(f"/senders/{sender_id}", data=sender_form(name="Reports 2", mode="deferred"),
                headers=HX)
    edited = _one(app, object_type="sender", action="update")
    _by_root(edited, world)
    assert edited.changes == {"name": ["Reports", "Reports 2"], "mode": ["immediate", "deferred"]}
    client.post(f"/senders/{sender_id}", data=sender_form(name="Reports 2", mode="deferred",
                                                          password="other-code-1"), headers=HX)
    assert _entries(app, object_type="sender")[-1].change_lines() == ["password changed"]

    client.post("/senders/new", data=sender_form(name="Backup"), headers=HX)
    backup_id = _sender_id(app, "Backup")
    client.post("/senders/defaults", data={"scope": "system", "sender_id": sender_id})
    chosen = _one(app, object_type="sender", action="default set")
    _by_root(chosen, world)
    assert (chosen.object_id, chosen.changes) == (sender_id, {"default": [False, True]})
    client.post("/senders/defaults", data={"scope": "system", "sender_id": backup_id})
    assert _one(app, action="default cleared").object_id == sender_id
    assert _entries(app, action="default set")[-1].object_id == backup_id

    client.post(f"/senders/{backup_id}/delete", headers=HX)
    deleted = _one(app, object_type="sender", action="delete")
    _by_root(deleted, world)
    assert deleted.object_label == "Backup" and "name was Backup" in deleted.change_lines()


def test_template_create_edit_delete_in_a_team(app, client, world):
    login(client, "red_admin")
    client.post("/templates/new", data={**TEMPLATE, "team_id": str(world["red"])}, headers=HX)
    created = _one(app, object_type="template", action="create")
    assert (created.actor_label, created.team_id, created.team_label) == (
        "red_admin", world["red"], "Red")
    template_id = created.object_id
    client.post(f"/templates/{template_id}", headers=HX,
                data={**TEMPLATE, "team_id": str(world["red"]), "subject": "Weekly {{ day }}"})
    edited = _one(app, object_type="template", action="update")
    assert edited.changes == {"subject": ["Report {{ day }}", "Weekly {{ day }}"]}
    client.post(f"/templates/{template_id}/delete", headers=HX)
    deleted = _one(app, object_type="template", action="delete")
    assert (deleted.object_id, deleted.object_label, deleted.actor_user_id) == (
        template_id, "Daily report", world["red_admin"])


def test_user_create_edit_password_and_memberships(app, client, world):
    login(client, "root")
    client.post("/users", headers=HX, data={"username": "carol", "display_name": "Carol",
                                            "email": "", "password": "first-pass-1",
                                            "confirm": "first-pass-1"})
    created = _one(app, object_type="user", action="create", object_label="carol")
    _by_root(created, world)
    assert created.changes["password"] == [None, "(hidden)"]
    uid = created.object_id
    client.post(f"/users/{uid}", headers=HX, data={"display_name": "Carol C", "email": "",
                                                   "active": "y"})
    assert _one(app, object_type="user", action="update").changes == {
        "display_name": ["Carol", "Carol C"]}
    client.post(f"/users/{uid}/password", headers=HX,
                data={"password": "second-pass-2", "confirm": "second-pass-2"})
    reset = _one(app, object_type="user", action="password changed")
    assert reset.changes == {"password": ["(hidden)", "(hidden)"]}

    blue = world["blue"]
    client.post(f"/users/{uid}/memberships", data={"team_id": blue, "role": "admin"}, headers=HX)
    client.post(f"/users/{uid}/memberships", data={"team_id": blue, "role": "agent"}, headers=HX)
    client.post(f"/users/{uid}/memberships/{blue}/delete", headers=HX)
    added, changed, removed = _entries(app, object_type="membership", object_label="carol in Blue")
    assert [e.action for e in (added, changed, removed)] == [
        "member added", "role changed", "member removed"]
    assert added.changes == {"role": [None, "admin"]} and added.team_id == blue
    assert changed.changes == {"role": ["admin", "agent"]}
    assert removed.team_label == "Blue" and removed.actor_label == "root"


def test_team_create_rename_delete(app, client, world):
    login(client, "root")
    client.post("/teams", data={"name": "Night shift"}, headers=HX)
    created = _one(app, object_type="team", action="create", actor_label="root")
    _by_root(created, world)
    assert created.object_label == "Night shift" and created.team_id == created.object_id
    client.post(f"/teams/{created.object_id}/rename", data={"name": "Day shift"}, headers=HX)
    renamed = _one(app, object_type="team", action="rename")
    assert renamed.changes == {"name": ["Night shift", "Day shift"]}
    client.post(f"/teams/{created.object_id}/delete", headers=HX)
    assert _one(app, object_type="team", action="delete").object_label == "Day shift"


def test_token_create_and_revoke_but_not_its_use(app, client, world):
    login(client, "red_admin")
    html = client.post("/tokens/new", data={"name": "ETL", "team_id": str(world["red"])},
                       headers=HX).get_data(as_text=True)
    secret = SECRET.search(html).group(0)
    created = _one(app, object_type="token", action="create")
    assert (created.actor_label, created.team_id, created.object_label) == (
        "red_admin", world["red"], "ETL")
    assert created.changes["token secret"] == [None, "(hidden)"]
    with app.app_context():
        assert tokens_service.authenticate(secret) is not None  # sets last_used_at
        db.session.commit()
    assert len(_entries(app, object_type="token")) == 1
    client.post(f"/tokens/{created.object_id}/revoke")
    revoked = _one(app, object_type="token", action="revoke")
    assert list(revoked.changes) == ["revoked_at"] and revoked.client_ip == "127.0.0.1"


def test_no_secret_is_stored_or_shown(app, client, world):
    login(client, "root")
    client.post("/senders/new", data=sender_form(password=AUTH_CODE), headers=HX)
    client.post("/users", headers=HX, data={"username": "dave", "display_name": "Dave",
                                            "password": "dave-pass-123",
                                            "confirm": "dave-pass-123"})
    client.post(f"/users/{world['red_agent']}/password", headers=HX,
                data={"password": "reset-pass-456", "confirm": "reset-pass-456"})
    html = client.post("/tokens/new", data={"name": "ETL", "team_id": ""}, headers=HX)
    secret = SECRET.search(html.get_data(as_text=True)).group(0)
    with app.app_context():
        stored = [db.session.scalar(select(Sender.password_encrypted))]
        stored += list(db.session.scalars(select(User.password_hash)))
        stored += [db.session.scalar(select(ApiToken.token_hash))]
    secrets = [AUTH_CODE, "dave-pass-123", "reset-pass-456", secret, *stored]
    rows = _entries(app)
    assert len(rows) >= 4
    for row in rows:
        text = json.dumps([row.changes, row.object_label, row.actor_label, row.change_lines()])
        assert not [s for s in secrets if s in text], row
    page = client.get("/audit").get_data(as_text=True)
    assert "password set" in page and "token secret set" in page
    assert not [s for s in secrets if s in page]


def test_cli_changes_are_labelled_command_line(app, world):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["team", "add", "Ops"]).exit_code == 0
    result = runner.invoke(args=["sender", "add", "--name", "Cron", "--host", "mail.example.com",
                                 "--port", "587", "--encryption", "starttls", "--address",
                                 "cron@example.com", "--display-name", "Cron",
                                 "--password-stdin", "--team", "Ops", "--default"],
                           input=AUTH_CODE + "\n")
    assert result.exit_code == 0, result.output
    rows = _entries(app, actor_label="command line")
    assert [(r.object_type, r.action) for r in rows] == [
        ("team", "create"), ("sender", "create"), ("sender", "default set")]
    assert all(r.actor_user_id is None and r.client_ip is None for r in rows)
    assert rows[1].team_label == "Ops" and AUTH_CODE not in json.dumps(rows[1].changes)


def test_team_admin_sees_only_their_teams_entries(app, client, world):
    login(client, "root")
    client.post("/senders/new", data=sender_form(name="Root system sender"), headers=HX)
    client.post("/users", headers=HX, data={"username": "erin", "display_name": "Erin",
                                            "password": "erin-pass-12", "confirm": "erin-pass-12"})
    for user, team in (("red_admin", "red"), ("blue_admin", "blue")):
        client.post("/logout")
        login(client, user)
        client.post("/templates/new", headers=HX,
                    data={**TEMPLATE, "name": f"{team} template", "team_id": str(world[team])})
    client.post("/logout")
    login(client, "red_admin")
    page = _audit_html(client)
    assert "red template" in page and "red_agent in Red" in page
    for hidden in ("blue template", "Root system sender", "erin", "blue_agent"):
        assert hidden not in page
    client.post("/logout")
    login(client, "root")
    page = _audit_html(client)
    assert all(name in page for name in ("blue template", "Root system sender", "erin"))
    client.post("/logout")
    login(client, "red_agent")
    assert client.get("/audit").status_code == 403
    client.post("/logout")
    assert client.get("/audit").status_code == 302


def test_filters_narrow_and_stay_in_the_url(app, client, world):
    login(client, "root")
    client.post("/templates/new", data=TEMPLATE, headers=HX)
    client.post("/teams", data={"name": "Alpha"}, headers=HX)
    body = client.get("/audit?object_type=template&actor=ROO&q=daily").get_data(as_text=True)
    assert "Daily report" in body and "Alpha" not in body and "1 change match" in body
    assert '<option value="template" selected>' in body
    assert 'name="actor" value="ROO"' in body and 'name="q" value="daily"' in body
    fragment = client.get("/audit?actor=nobody", headers=HX).get_data(as_text=True)
    assert fragment.startswith('<div id="audit">') and "No change matches" in fragment
    assert "Vary" in client.get("/audit", headers=HX).headers
    today = utcnow().date()
    same_day = client.get(f"/audit?date_from={today}&date_to={today}&q=alpha")
    assert "Alpha" in same_day.get_data(as_text=True)
    later = client.get(f"/audit?date_from={today + timedelta(1)}").get_data(as_text=True)
    assert "No change matches" in later and "Alpha" not in later
    earlier = client.get(f"/audit?date_to={today - timedelta(1)}").get_data(as_text=True)
    assert "No change matches" in earlier
    broken = client.get("/audit?date_from=31.01.2026&object_type=bogus").get_data(as_text=True)
    assert "Enter a date like" in broken and "Choose a kind of object" in broken


def test_keyset_pages_keep_the_filters(app, client, world, monkeypatch):
    monkeypatch.setattr(audit_service, "PAGE_SIZE", 2)
    with app.app_context():
        for number in range(5):
            teams_service.create_team(SYSTEM, f"Squad {number}")
        db.session.commit()
    login(client, "root")
    seen, url = [], "/audit?object_type=team&q=squad"
    while url:
        body = client.get(url, headers=HX).get_data(as_text=True)
        seen += re.findall(r"“(Squad \d)”", body)
        older = re.search(r'href="([^"]*after=[^"]*)"[^>]*>Older', body)
        url = older.group(1).replace("&amp;", "&") if older else None
        if url:
            assert "object_type=team" in url and "q=squad" in url
    assert seen == [f"Squad {n}" for n in (4, 3, 2, 1, 0)]


def test_object_label_is_escaped(app, client, world):
    login(client, "root")
    client.post("/templates/new", data={**TEMPLATE, "name": "<script>alert(1)</script>"},
                headers=HX)
    page = client.get("/audit").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_bookkeeping_and_repeated_install_add_no_entries(app, app_config, world):
    create_app(app_config)  # another app in the same process: hooks must not double
    with app.app_context():
        before = db.session.scalar(select(db.func.count(AuditEntry.id)))
        user = db.session.get(User, world["root"])
        teams_service.rename_team(user, db.session.get(Team, world["red"]), "Ruby")
        sender = Sender(name="T", host="h", port=25, encryption="none", address="t@example.com",
                        display_name="T", mode="deferred", max_connections=1)
        db.session.add(sender)
        db.session.commit()
        sender.throttle_next_at = 123.0
        db.session.commit()
        db.session.execute(update(Sender).values(throttle_next_at=456.0))
        db.session.commit()
        after = db.session.scalar(select(db.func.count(AuditEntry.id)))
    assert after - before == 2  # the rename and the sender's creation, once each
    assert _one(app, action="rename").actor_label == "system"


@pytest.mark.parametrize("user, shown", [("root", True), ("red_admin", True),
                                         ("red_agent", False)])
def test_nav_link_for_admins(client, world, user, shown):
    login(client, user)
    assert ('href="/audit"' in client.get("/").get_data(as_text=True)) is shown
