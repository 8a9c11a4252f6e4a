"""Sender accounts: validation, encryption at rest, scoping, defaults, banner, CLI."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.sender_helpers import sender_form


def _senders(app):
    with app.app_context():
        return [(s.name, s.team_id, s.is_default, s.enabled)
                for s in db.session.scalars(select(Sender).order_by(Sender.id))]


def _create(client, **overrides):
    response = client.post("/senders/new", data=sender_form(**overrides), headers=HX)
    assert response.status_code == 204, response.get_data(as_text=True)[:2000]
    return response


@pytest.fixture
def make_sender(app):
    def make(name="S", team_id=None, enabled=True, is_default=False, password=None):
        from portal.crypto import encrypt

        with app.app_context():
            sender = Sender(name=name, team_id=team_id, host="127.0.0.1", port=25,
                            encryption="none", address=f"{name.lower()}@example.com",
                            display_name=name, mode="immediate", enabled=enabled,
                            is_default=is_default, max_connections=1,
                            password_encrypted=encrypt(password) if password else None)
            db.session.add(sender)
            db.session.commit()
            return sender.id
    return make


def test_create_sender_with_special_address(app, client, world):
    login(client, "root")
    _create(client, address="ops#1&co@example.com")
    with app.app_context():
        sender = db.session.scalar(select(Sender))
        assert sender.address == "ops#1&co@example.com" and sender.team_id is None
    assert "ops#1&amp;co@example.com" in client.get("/senders").get_data(as_text=True)


@pytest.mark.parametrize("change, field_error", [
    ({"display_name": ""}, "Enter the name recipients see"),
    ({"port": "0"}, "Port must be a number between 1 and 65535."),
    ({"port": "abc"}, "Port"),
    ({"port": "70000"}, "between 1 and 65535"),
    ({"address": "not an address"}, "Sender address"),
    ({"address": "a@b@c"}, "Sender address"),
    ({"ca_cert": "garbage"}, "This is not a PEM certificate"),
    ({"ca_cert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
     "This is not a PEM certificate"),
    ({"name": "Evil\r\nBcc: x@example.com"}, "must be one line"),
    ({"display_name": "Evil\nBcc: x@example.com"}, "must be one line"),
    ({"address": "a@example.com\r\nBcc: x@example.com"}, "must be one line"),
    ({"username": "u\r\nx"}, "must be one line"),
    ({"host": "smtp.example.com\r\n"}, "must be one line"),
    ({"host": "bad host!"}, "host name or IP"),
    ({"max_connections": "0"}, "Parallel connections"),
    ({"rate_per_minute": "-1"}, "Messages per minute"),
    ({"encryption": "tls13"}, "Not a valid choice"),
    ({"team_id": "999"}, "Not a valid choice"),
])
def test_invalid_form_names_field_and_saves_nothing(app, client, world, change, field_error):
    login(client, "root")
    response = client.post("/senders/new", data=sender_form(**change), headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert field_error in body
    assert 'aria-invalid="true"' in body
    assert _senders(app) == []


def test_invalid_edit_keeps_stored_values(app, client, world, make_sender):
    sid = make_sender("Keep")
    login(client, "root")
    response = client.post(f"/senders/{sid}", data=sender_form(name="Changed", port="0"),
                           headers=HX)
    assert response.status_code == 422
    assert _senders(app)[0][0] == "Keep"


def test_password_encrypted_write_only_and_kept_when_blank(app, client, world, tmp_path):
    login(client, "root")
    _create(client, password="Very-Secret-Code-123")
    with app.app_context():
        sender = db.session.scalar(select(Sender))
        sid = sender.id
        assert sender.password_encrypted and "Very-Secret" not in sender.password_encrypted
    page = client.get(f"/senders/{sid}").get_data(as_text=True)
    assert "Very-Secret-Code-123" not in page and "A password is stored" in page
    client.post(f"/senders/{sid}", data=sender_form(name="Renamed", password=""), headers=HX)
    with app.app_context():
        from portal.crypto import decrypt

        sender = db.session.get(Sender, sid)
        assert sender.name == "Renamed"
        assert decrypt(sender.password_encrypted) == "Very-Secret-Code-123"
    for url in ("/senders", f"/senders/{sid}", f"/senders/{sid}/delete"):
        assert "Very-Secret-Code-123" not in client.get(url).get_data(as_text=True)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        with app.app_context():
            db.engine.dispose()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("portal.sqlite*"))
        assert b"Very-Secret-Code-123" not in raw and b"Renamed" in raw


class TestScoping:
    def test_team_admin_lists_only_own_team(self, client, world, make_sender):
        make_sender("RedOne", team_id=world["red"])
        make_sender("BlueOne", team_id=world["blue"])
        make_sender("SystemOne")
        login(client, "red_admin")
        page = client.get("/senders").get_data(as_text=True)
        assert "RedOne" in page and "BlueOne" not in page and "SystemOne" not in page

    @pytest.mark.parametrize("method, path", [
        ("get", "/senders/{sid}"), ("post", "/senders/{sid}"),
        ("get", "/senders/{sid}/delete"), ("post", "/senders/{sid}/delete"),
    ])
    def test_other_team_sender_is_404(self, app, client, world, make_sender, method, path):
        sid = make_sender("BlueOne", team_id=world["blue"])
        login(client, "red_admin")
        response = getattr(client, method)(path.format(sid=sid), data=sender_form())
        assert response.status_code == 404
        assert _senders(app)[0][0] == "BlueOne"

    def test_cannot_test_other_team_sender(self, client, world, make_sender):
        sid = make_sender("BlueOne", team_id=world["blue"], password="blue-secret")
        login(client, "red_admin")
        response = client.post("/senders/check", headers=HX,
                               data=sender_form(sender_id=str(sid), team_id=str(world["red"])))
        assert response.status_code == 404

    def test_team_admin_cannot_create_system_or_other_team_sender(self, app, client, world):
        login(client, "red_admin")
        for team in ("", str(world["blue"])):
            response = client.post("/senders/new", data=sender_form(team_id=team), headers=HX)
            assert response.status_code == 422
        _create(client, team_id=str(world["red"]))
        assert _senders(app) == [("Reports", world["red"], False, True)]

    def test_cannot_set_other_team_default(self, app, client, world, make_sender):
        sid = make_sender("BlueOne", team_id=world["blue"])
        login(client, "red_admin")
        for scope in (str(world["blue"]), "system"):
            response = client.post("/senders/defaults", data={"scope": scope, "sender_id": sid},
                                   headers=HX)
            assert response.status_code == 403
        assert _senders(app)[0][2] is False

    def test_agent_gets_403(self, client, world):
        login(client, "red_agent")
        assert client.get("/senders").status_code == 403
        assert client.get("/senders/new").status_code == 403


class TestDefaults:
    def test_set_and_switch_system_default(self, app, client, world, make_sender):
        a, b = make_sender("A"), make_sender("B")
        login(client, "root")
        assert client.post("/senders/defaults", data={"scope": "system", "sender_id": a},
                           headers=HX).status_code == 200
        client.post("/senders/defaults", data={"scope": "system", "sender_id": b}, headers=HX)
        assert [d for _, _, d, _ in _senders(app)] == [False, True]

    def test_team_default_must_be_of_scope_and_enabled(self, app, client, world, make_sender):
        system = make_sender("Sys")
        off = make_sender("Off", team_id=world["red"], enabled=False)
        login(client, "red_admin")
        for sid in (system, off):
            response = client.post("/senders/defaults", headers=HX,
                                   data={"scope": world["red"], "sender_id": sid})
            assert response.status_code == 422
        assert all(not d for _, _, d, _ in _senders(app))

    def test_database_enforces_one_default_per_scope(self, app, make_sender, world):
        from sqlalchemy.exc import IntegrityError

        make_sender("A", team_id=world["red"], is_default=True)
        with pytest.raises(IntegrityError):
            make_sender("B", team_id=world["red"], is_default=True)
        with app.app_context():
            db.session.rollback()
        make_sender("C", team_id=world["blue"], is_default=True)
        make_sender("D", is_default=True)
        with pytest.raises(IntegrityError):
            make_sender("E", is_default=True)
        with app.app_context():
            db.session.rollback()
        with pytest.raises(IntegrityError):
            make_sender("F", team_id=world["blue"], enabled=False, is_default=True)

    def test_disabling_or_deleting_default_empties_scope(self, app, client, world, make_sender):
        sid = make_sender("A", is_default=True)
        login(client, "root")
        client.post(f"/senders/{sid}", data=sender_form(name="A", enabled=None), headers=HX)
        assert _senders(app) == [("A", None, False, False)]
        sid2 = make_sender("B", is_default=True)
        response = client.post(f"/senders/{sid2}/delete")
        assert response.status_code == 303
        assert [n for n, *_ in _senders(app)] == ["A"]

    def test_resolution_order(self, app, world, make_sender):
        from portal.senders.service import NotConfigured, resolve_default

        with app.app_context():
            with pytest.raises(NotConfigured):
                resolve_default(world["red"])
        make_sender("Sys", is_default=True)
        make_sender("Red", team_id=world["red"], is_default=True)
        with app.app_context():
            assert resolve_default(world["red"])[0].name == "Red"
            assert resolve_default(world["red"])[1] == "team default"
            assert resolve_default(world["blue"]) [1] == "system default"


class TestBanner:
    def test_system_admin_sees_not_configured_until_default(self, client, world, make_sender):
        login(client, "root")
        assert "Mailbox not configured" in client.get("/").get_data(as_text=True)
        make_sender("Sys", is_default=True)
        assert "Mailbox not configured" not in client.get("/").get_data(as_text=True)

    def test_team_admin_banner_and_agent_none(self, client, world, make_sender):
        login(client, "red_admin")
        assert "Mailbox not configured for team “Red”" in client.get("/").get_data(as_text=True)
        make_sender("Red", team_id=world["red"], is_default=True)
        assert "Mailbox not configured" not in client.get("/").get_data(as_text=True)
        client.post("/logout")
        login(client, "blue_agent")
        assert "Mailbox not configured" not in client.get("/").get_data(as_text=True)


def test_preset_fills_fields_and_advice(client, world):
    login(client, "root")
    body = client.get("/senders/preset?preset=163", headers=HX).get_data(as_text=True)
    assert 'value="smtp.163.com"' in body and 'value="465"' in body
    assert "authorization code" in body and 'hx-swap-oob="true"' in body
    body = client.get("/senders/preset?preset=exchange", headers=HX).get_data(as_text=True)
    assert "without encryption" in body


def test_team_with_sender_cannot_be_deleted(client, world, make_team, make_sender):
    team = make_team("Lonely")
    make_sender("L", team_id=team)
    login(client, "root")
    body = client.post(f"/teams/{team}/delete", headers=HX).get_data(as_text=True)
    assert "it still has 1 sender." in body


def test_xss_in_sender_name_escaped(client, world, make_sender):
    make_sender("<img src=x onerror=alert(1)>")
    login(client, "root")
    body = client.get("/senders").get_data(as_text=True)
    assert "<img src=x" not in body


class TestCli:
    def _run(self, app, *args, input=None):
        return app.test_cli_runner().invoke(args=["sender", "add", *args], input=input)

    def test_add_prints_id_and_sets_default(self, app, world, tmp_path, smtp_ca):
        from tests.smtp_servers import ca_pem

        pem = tmp_path / "ca.pem"
        pem.write_text(ca_pem(smtp_ca))
        result = self._run(app, "--name", "Ops", "--host", "mail.corp", "--port", "465",
                           "--encryption", "ssl", "--address", "ops@corp.example",
                           "--display-name", "Ops", "--password-stdin", "--team", "Red",
                           "--mode", "deferred", "--max-connections", "4",
                           "--rate-per-minute", "60", "--ca-cert", str(pem), "--default",
                           input="cli-secret\n")
        assert result.exit_code == 0, result.output
        sid = int(result.output.strip())
        with app.app_context():
            from portal.crypto import decrypt

            sender = db.session.get(Sender, sid)
            assert (sender.team_id, sender.is_default, sender.mode) == (world["red"], True,
                                                                       "deferred")
            assert decrypt(sender.password_encrypted) == "cli-secret"
            assert sender.ca_cert.startswith("-----BEGIN CERTIFICATE-----")

    def test_add_validates_like_the_form(self, app, world):
        result = self._run(app, "--name", "Ops", "--host", "mail.corp", "--port", "25",
                           "--encryption", "none", "--address", "bad\naddress@example.com",
                           "--display-name", "Ops")
        assert result.exit_code != 0 and "Sender address" in result.output
        assert _senders(app) == []


def test_moving_a_sender_to_another_server_needs_the_password_again(app, client, world,
                                                                    make_sender):
    sid = make_sender("Kept", password="stored-secret")
    login(client, "root")
    response = client.post(f"/senders/{sid}", headers=HX, data=sender_form(
        name="Kept", host="evil.example.net", port="25", address="kept@example.com"))
    assert response.status_code == 422 and "Enter the password again" in response.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(Sender, sid).host == "127.0.0.1"
    response = client.post(f"/senders/{sid}", headers=HX, data=sender_form(
        name="Kept", host="evil.example.net", port="25", address="kept@example.com",
        password="new-secret"))
    assert response.status_code == 204


def test_test_recipient_is_prefilled_with_the_users_email(app, client, world, make_sender):
    from portal.auth.models import User

    with app.app_context():
        db.session.get(User, world["root"]).email = "root@corp.local"
        db.session.commit()
    sid = make_sender("Kept")
    login(client, "root")
    for url in ("/senders/new", f"/senders/{sid}"):
        body = client.get(url).get_data(as_text=True)
        assert 'name="test_recipient"' in body
        assert 'type="email" value="root@corp.local"' in body
    # What the user typed wins over the prefill when the form comes back with errors.
    body = client.post("/senders/new", headers=HX, data=sender_form(
        port="0", test_recipient="other@example.org")).get_data(as_text=True)
    assert 'value="other@example.org"' in body and "root@corp.local" not in body


def test_default_saved_refreshes_the_banner_in_the_same_response(client, world, make_sender):
    sid = make_sender("Sys")
    login(client, "root")
    body = client.post("/senders/defaults", data={"scope": "system", "sender_id": sid},
                       headers=HX).get_data(as_text=True)
    banners = body.split('<div id="banners" hx-swap-oob="true">', 1)
    assert len(banners) == 2, body[-1500:]
    assert "Default sender saved." in body
    assert "Mailbox not configured" not in banners[1].split("</div>", 1)[0]
    assert banners[0].count("uses the system default") == 2  # teams Red and Blue
    body = client.post("/senders/defaults", data={"scope": "system", "sender_id": ""},
                       headers=HX).get_data(as_text=True)
    refreshed = body.split('<div id="banners" hx-swap-oob="true">', 1)[1]
    assert "Mailbox not configured" in refreshed.split("</div>", 1)[0]
    # A full page has its banners in place: no out-of-band copy.
    page = client.post("/senders/defaults", data={"scope": "system", "sender_id": sid})
    html = page.get_data(as_text=True)
    assert html.count('id="banners"') == 1 and 'id="banners" hx-swap-oob' not in html


def test_failed_save_lists_every_error_at_the_top_linked_to_its_field(client, world):
    login(client, "root")
    response = client.post("/senders/new", headers=HX, data=sender_form(
        name="", port="0", display_name=""))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = body.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "autofocus" in summary and 'tabindex="-1"' in summary
    assert "Fix these 3 problems" in summary
    links = [part.split('"', 1)[0] for part in summary.split('href="#')[1:]]
    assert links == ["port", "name", "display_name"]  # the order the fields appear in
    assert body.index("error-summary") < body.index('name="host"')


def test_form_groups_fields_and_keeps_their_names(client, world):
    login(client, "root")
    body = client.get("/senders/new").get_data(as_text=True)
    legends = [part.split("<", 1)[0] for part in body.split("<legend>")[1:]]
    assert legends[:5] == ["Server", "Account", "OAuth2", "Delivery", "Advanced"]
    for name in ("name", "team_id", "host", "port", "encryption", "address", "username",
                 "password", "display_name", "mode", "enabled", "allow_plain_auth",
                 "ca_cert", "rate_per_minute", "max_connections", "test_recipient",
                 "auth_method", "oauth_provider", "oauth_flow", "oauth_tenant",
                 "oauth_client_id", "oauth_client_secret", "oauth_token_url",
                 "oauth_authorize_url", "oauth_scope"):
        assert f'name="{name}"' in body, name


def test_sender_list_shows_status_pills_and_last_check(app, client, world, make_sender):
    from datetime import timedelta

    from portal.dbtypes import utcnow
    from portal.outbox.models import Message

    quiet = make_sender("Quiet", is_default=True)
    off = make_sender("Off", enabled=False)
    busy = make_sender("Busy")
    with app.app_context():
        for status, diagnosis in (("failed", "refused"), ("retrying", "Waiting: the sender "
                                                          "could not log in (535)")):
            row = Message(sender_id=busy, sender_name="Busy", sender_address="b@example.com",
                          sender_reason="default", subject="Report", mode="deferred",
                          status=status, diagnosis=diagnosis,
                          created_at=utcnow() - timedelta(hours=1))
            row.set_recipients(["alice@example.org"])
            db.session.add(row)
        sender = db.session.get(Sender, quiet)
        sender.last_check_ok, sender.last_check_at = True, utcnow()
        db.session.commit()
    login(client, "root")
    body = client.get("/senders").get_data(as_text=True)

    def row(sid):
        return body.split(f'id="sender-{sid}"', 1)[1].split("</tr>", 1)[0]

    assert "pill-default" in row(quiet) and "pill-ok" in row(quiet)
    assert "pill-disabled" in row(off) and "never tested" in row(off)
    assert "pill-paused" in row(busy) and "pill-failing" in row(busy)
    assert "pill-paused" not in row(quiet) and "pill-failing" not in row(quiet)
    assert 'class="stack senders"' in body and 'data-label="Last check"' in body
    assert f'hx-post="/senders/{busy}/test"' in row(busy)
