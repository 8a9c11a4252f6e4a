"""Sign-in with a directory account, against a real OpenLDAP server (tests/ldap_server.py).

Users: alice (王丽, red-admins and red-agents), bob (mail-admins, posixGroup blue-agents),
carol (red-agents, portal-admins), dave (no group). Here portal-admins is the
administrators' group and red-admins, red-agents, mail-admins and blue-agents are
linked to teams by the tests that need them.
"""

import time
from datetime import timedelta

import pytest
import trustme
from sqlalchemy import func, select

from portal.auth.models import User
from portal.auth.sessions import UserSession
from portal.auth.throttle import LoginFailure
from portal.dbtypes import utcnow
from portal.directory import client as ldap
from portal.directory import links, signin, status
from portal.directory.settings import from_config
from portal.extensions import db
from portal.teams.models import Membership, Team
from tests.conftest import login

BASE = "dc=example,dc=com"
GROUPS = f"ou=groups,{BASE}"
RED_ADMINS, RED_AGENTS = f"cn=red-admins,{GROUPS}", f"cn=red-agents,{GROUPS}"
MAIL_ADMINS, BLUE_AGENTS = f"cn=mail-admins,{GROUPS}", f"cn=blue-agents,{GROUPS}"
PORTAL_ADMINS = f"cn=portal-admins,{GROUPS}"
WRONG = "Wrong username or password."
UNREACHABLE = "The directory cannot be reached; local accounts still work."


@pytest.fixture
def client(app):
    """A plain test client: pytest-flask's keeps its last request's context pushed, which
    would share ``g`` (and the signed-in user) with the other browsers of a test."""
    return app.test_client()


@pytest.fixture
def app_config(app_config, ldap_config):
    """The portal with the test directory configured; portal-admins are system admins."""
    status.reset()
    return {**app_config, **ldap_config, "LDAP_ADMIN_GROUP": PORTAL_ADMINS}


@pytest.fixture
def teams(app, make_team):
    """Red (red-admins → admin, red-agents → agent), Mail (mail-admins → admin),
    Blue (blue-agents → agent) and Green, a team managed by hand."""
    ids = {name: make_team(name) for name in ("Red", "Mail", "Blue", "Green")}
    with app.app_context():
        actor = _Admin()
        for name, dn, role in (("Red", RED_ADMINS, "admin"), ("Red", RED_AGENTS, "agent"),
                               ("Mail", MAIL_ADMINS, "admin"), ("Blue", BLUE_AGENTS, "agent")):
            links.add_link(actor, db.session.get(Team, ids[name]), dn, role)
        db.session.commit()
    return ids


class _Admin:
    is_system_admin = True


def _post(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def _roles(user):
    return {m.team.name: m.role for m in user.memberships}


def test_first_sign_in_creates_a_directory_user_with_name_email_and_teams(app, client, teams):
    response = login(client, "alice", "alice-pass-1")
    assert response.headers["Location"].endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert "王丽" in page
    with app.app_context():
        alice = _user("alice")
        assert alice.source == "directory" and alice.directory_dn == f"uid=alice,ou=people,{BASE}"
        assert alice.display_name == "王丽" and alice.email == "alice@example.com"
        assert _roles(alice) == {"Red": "admin"}  # admin beats agent for the same team
        assert not alice.is_system_admin
        assert not alice.check_password("alice-pass-1")  # no local password


def test_wrong_password_unknown_user_and_empty_password_are_refused_and_counted(app, client,
                                                                                teams):
    for username, password in (("alice", "wrong"), ("nobody", "alice-pass-1")):
        response = _post(client, username, password)
        assert response.status_code == 422 and WRONG in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 2
        assert _user("alice") is None
    # An empty password would be an anonymous bind that "succeeds": refused before.
    assert client.post("/login", data={"username": "alice", "password": ""}
                       ).status_code == 422
    with app.test_request_context():
        user, error, counts = signin.sign_in("alice", "", WRONG)
        assert user is None and error == WRONG and counts
        cfg = from_config(app.config)
        conn, url = ldap.service_connection(cfg)
        dn = ldap.find_user(conn, cfg, "alice").dn
        conn.unbind()
        assert not ldap.check_password(cfg, url, dn, "")


@pytest.mark.parametrize("username", ["*)(uid=*", "*", "alice)(uid=*", "*)(|(uid=*"])
def test_filter_injection_matches_nobody(app, client, teams, username):
    response = _post(client, username, "alice-pass-1")
    assert response.status_code == 422 and WRONG in response.get_data(as_text=True)
    with app.app_context():
        cfg = from_config(app.config)
        assert "*" not in ldap.user_filter(cfg, username)
        conn, _url = ldap.service_connection(cfg)
        try:
            assert ldap.find_user(conn, cfg, username) is None
            assert ldap.find_user(conn, cfg, "alice") is not None  # the search itself works
        finally:
            conn.unbind()


def test_groups_set_memberships_on_every_sign_in_and_leave_hand_managed_teams(
        app, client, teams, ldap_dir):
    with app.app_context():
        bob = User(username="bob", display_name="Bob", source="directory",
                   directory_dn=f"uid=bob,ou=people,{BASE}", password_hash="!")
        db.session.add(bob)
        db.session.flush()
        db.session.add(Membership(user_id=bob.id, team_id=teams["Green"], role="agent"))
        db.session.add(Membership(user_id=bob.id, team_id=teams["Red"], role="agent"))
        db.session.commit()
    login(client, "bob", "bob-pass-1")
    with app.app_context():
        # mail-admins (groupOfNames) and blue-agents (posixGroup memberUid); Red was not
        # given by any group, so it goes; Green has no linked group, so it stays.
        assert _roles(_user("bob")) == {"Mail": "admin", "Blue": "agent", "Green": "agent"}
    ldap_dir.add_to_group("red-agents", "bob")
    ldap_dir.remove_from_group("mail-admins", "bob")
    client.post("/logout")
    login(client, "bob", "bob-pass-1")
    with app.app_context():
        assert _roles(_user("bob")) == {"Red": "agent", "Blue": "agent", "Green": "agent"}


def test_admin_group_makes_system_admins_and_leaving_it_removes_the_role(app, client, teams,
                                                                         ldap_dir):
    login(client, "carol", "carol-pass-1")
    with app.app_context():
        assert _user("carol").is_system_admin and _roles(_user("carol")) == {"Red": "agent"}
    assert client.get("/directory").status_code == 200
    client.post("/logout")
    ldap_dir.remove_from_group("portal-admins", "carol")
    login(client, "carol", "carol-pass-1")
    with app.app_context():
        assert not _user("carol").is_system_admin
    assert client.get("/directory").status_code == 403


def test_a_user_in_no_linked_group_is_refused_with_a_clear_message(app, client, teams):
    response = _post(client, "dave", "dave-pass-1")
    assert response.status_code == 422
    assert "not in any group that gives access" in response.get_data(as_text=True)
    with app.app_context():
        assert _user("dave") is None
    app.config["LDAP_REFUSE_UNMAPPED"] = False
    login(client, "dave", "dave-pass-1")


def _age_check(app, username):
    with app.app_context():
        user = _user(username)
        user.directory_checked_at = utcnow() - timedelta(seconds=301)
        db.session.commit()


def _sessions(app, username):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession).join(
            User, User.id == UserSession.user_id).where(User.username == username))


@pytest.mark.parametrize("how", ["disable_user", "delete_user"])
def test_a_user_gone_from_the_directory_is_signed_out_after_the_recheck_interval(
        app, client, teams, ldap_dir, how):
    login(client, "alice", "alice-pass-1")
    getattr(ldap_dir, how)("alice")
    assert client.get("/").status_code == 200  # checked at sign-in: not due yet
    _age_check(app, "alice")
    response = client.get("/")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    assert "no longer active" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302  # signed out for good
    assert _sessions(app, "alice") == 0
    refused = _post(client, "alice", "alice-pass-1")
    assert refused.status_code == 422


def test_a_recheck_that_finds_the_user_keeps_the_session(app, client, teams):
    login(client, "alice", "alice-pass-1")
    _age_check(app, "alice")
    assert client.get("/").status_code == 200
    with app.app_context():
        assert utcnow() - _user("alice").directory_checked_at < timedelta(seconds=60)


def test_directory_down_clear_message_in_time_local_admin_still_signs_in(
        app, client, teams, make_user, slapd):
    make_user("root", system_admin=True)
    login(client, "alice", "alice-pass-1")
    slapd.stop()
    try:
        _age_check(app, "alice")
        assert client.get("/").status_code == 200  # an outage locks nobody out
        other = app.test_client()
        started = time.monotonic()
        response = _post(other, "carol", "carol-pass-1")
        took = time.monotonic() - started
        assert response.status_code == 422 and UNREACHABLE in response.get_data(as_text=True)
        assert took < float(app.config["LDAP_TIMEOUT"]) + 2
        with app.app_context():  # not counted as a guess
            assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0
        login(other, "root")
        page = other.get("/").get_data(as_text=True)
        assert UNREACHABLE in page  # the admin banner
    finally:
        slapd.start()
    _age_check(app, "alice")
    assert client.get("/").status_code == 200


def test_failover_to_the_next_server(app, client, teams, slapd):
    app.config["LDAP_URL"] = f"ldap://127.0.0.1:1 , {slapd.url}"
    login(client, "alice", "alice-pass-1")


def test_starttls_with_the_private_ca(app, client, teams, slapd):
    app.config.update(LDAP_URL=slapd.url, LDAP_STARTTLS=True, LDAP_CA_FILE=slapd.ca_file)
    login(client, "alice", "alice-pass-1")


def test_ldaps_with_the_private_ca(app, client, teams, slapd):
    app.config.update(LDAP_URL=slapd.ldaps_url, LDAP_STARTTLS=False,
                      LDAP_CA_FILE=slapd.ca_file)
    login(client, "alice", "alice-pass-1")


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_a_certificate_from_another_ca_is_refused(app, client, teams, slapd, tmp_path, mode):
    other = tmp_path / "other-ca.pem"
    other.write_bytes(trustme.CA().cert_pem.bytes())
    url = slapd.ldaps_url if mode == "ldaps" else slapd.url
    app.config.update(LDAP_URL=url, LDAP_STARTTLS=mode == "starttls", LDAP_CA_FILE=str(other))
    response = _post(client, "alice", "alice-pass-1")
    assert response.status_code == 422 and UNREACHABLE in response.get_data(as_text=True)
    with app.app_context():
        with pytest.raises(ldap.DirectoryError) as caught:
            ldap.service_connection(from_config(app.config))
        assert caught.value.step == "tls"


def test_wrong_service_password_shows_in_healthz_and_to_admins(app, client, teams, make_user):
    app.config["LDAP_BIND_PASSWORD"] = "not-the-password"
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["directory"]["status"] == "service_bind_failed"
    assert "PORTAL_LDAP_BIND_PASSWORD" in body["directory"]["message"]
    assert "not-the-password" not in str(body)
    response = _post(client, "alice", "alice-pass-1")
    assert response.status_code == 422 and "service account" in response.get_data(as_text=True)
    make_user("root", system_admin=True)
    login(client, "root")
    page = client.get("/").get_data(as_text=True)
    assert "refused the portal" in page and "not-the-password" not in page


def test_healthz_reports_a_working_directory(app, client):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["directory"]["status"] == "ok"


def test_directory_users_have_no_local_password(app, client, teams):
    login(client, "alice", "alice-pass-1")
    page = client.get("/profile").get_data(as_text=True)
    assert "its password is changed there" in page
    refused = client.post("/profile/password", data={
        "current_password": "x", "password": "new-password-1", "confirm": "new-password-1"})
    assert refused.status_code == 422
    with app.app_context():
        alice = _user("alice")
        assert not alice.check_password("new-password-1")


def test_a_local_account_of_the_same_name_keeps_signing_in_locally(app, client, teams,
                                                                  make_user):
    make_user("alice")  # a local account: the directory is not asked for it
    refused = _post(client, "alice", "alice-pass-1")
    assert refused.status_code == 422 and WRONG in refused.get_data(as_text=True)
    login(client, "alice")
    with app.app_context():
        assert _user("alice").source == "local"


def test_a_directory_user_signing_in_with_another_name_form_is_the_same_user(app, client,
                                                                            teams):
    app.config["LDAP_USER_FILTER"] = "(|(uid={username})(mail={username}))"
    login(client, "alice@example.com", "alice-pass-1")
    client.post("/logout")
    login(client, "alice", "alice-pass-1")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        assert _user("alice").directory_dn == f"uid=alice,ou=people,{BASE}"


def test_group_filters_for_openldap_and_active_directory():
    user = ldap.DirectoryUser(dn="uid=a*b,ou=people,dc=example,dc=com", login="a*b",
                              name=None, email=None, attributes={"uid": ["a*b"]})
    plain = ldap.group_filter(user, nested=False)
    assert plain == ("(|(member=uid=a\\2ab,ou=people,dc=example,dc=com)"
                     "(uniqueMember=uid=a\\2ab,ou=people,dc=example,dc=com)"
                     "(memberUid=a\\2ab))")
    assert ldap.group_filter(user, nested=True) == (
        "(member:1.2.840.113556.1.4.1941:=uid=a\\2ab,ou=people,dc=example,dc=com)")


def test_openldap_is_not_taken_for_active_directory(app):
    with app.app_context():
        cfg = from_config(app.config)
        conn, _url = ldap.service_connection(cfg)
        try:
            assert not ldap.is_active_directory(conn)
        finally:
            ldap.close(conn)


def test_an_admin_cannot_set_a_password_for_a_directory_user(app, client, teams, make_user):
    login(client, "alice", "alice-pass-1")
    make_user("root", system_admin=True)
    admin = app.test_client()
    login(admin, "root")
    with app.app_context():
        alice_id = _user("alice").id
    response = admin.post(f"/users/{alice_id}/password",
                          data={"password": "new-password-1", "confirm": "new-password-1"})
    assert response.status_code == 422
    assert "its password is changed there" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200  # alice's session did not end
