"""Directory groups on the team page, the CLI ``team link-group`` and the /directory page
(settings without the password, and the step-by-step test against the real slapd)."""

import pytest
from sqlalchemy import select

from portal.directory import status
from portal.directory.models import TeamGroupLink
from portal.extensions import db
from tests.conftest import login

GROUPS = "ou=groups,dc=example,dc=com"
RED_ADMINS, RED_AGENTS = f"cn=red-admins,{GROUPS}", f"cn=red-agents,{GROUPS}"


@pytest.fixture
def client(app):
    """A plain test client: pytest-flask's keeps its last request's context pushed, which
    would share ``g`` (and the signed-in user) with the other browsers of a test."""
    return app.test_client()


@pytest.fixture
def app_config(app_config, ldap_config):
    status.reset()
    return {**app_config, **ldap_config, "LDAP_ADMIN_GROUP": f"cn=portal-admins,{GROUPS}"}


def _links(app):
    with app.app_context():
        return [(link.group_dn, link.role) for link in db.session.scalars(
            select(TeamGroupLink).order_by(TeamGroupLink.id))]


def test_system_admin_links_and_unlinks_a_group_on_the_team_page(app, client, world):
    login(client, "root")
    page = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert "Directory groups" in page and "managed by hand" in page
    response = client.post(f"/teams/{world['red']}/group-links",
                           data={"group_dn": "CN=Red-Admins, OU=Groups,DC=example,DC=com",
                                 "role": "admin"})
    assert response.status_code == 303
    assert _links(app) == [(RED_ADMINS, "admin")]  # stored normalized
    page = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert RED_ADMINS in page
    with app.app_context():
        link_id = db.session.scalar(select(TeamGroupLink.id))
    confirm = client.get(f"/teams/{world['red']}/group-links/{link_id}/delete")
    assert confirm.status_code == 200 and "Unlink this group" in confirm.get_data(as_text=True)
    assert _links(app) == [(RED_ADMINS, "admin")]  # asking changes nothing
    done = client.post(f"/teams/{world['red']}/group-links/{link_id}/delete")
    assert done.status_code == 303 and _links(app) == []


def test_a_bad_dn_is_refused_with_a_message(app, client, world):
    login(client, "root")
    client.post(f"/teams/{world['red']}/group-links", data={"group_dn": "red-admins",
                                                             "role": "admin"})
    assert _links(app) == []
    page = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert "distinguished name" in page


def test_only_system_admins_manage_group_links(app, client, world):
    login(client, "red_admin")
    page = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert "Directory groups" not in page
    refused = client.post(f"/teams/{world['red']}/group-links",
                          data={"group_dn": RED_ADMINS, "role": "admin"})
    assert refused.status_code == 403 and _links(app) == []
    assert client.get("/directory").status_code == 403


def test_cli_link_group(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["team", "link-group", "Red", "--group", RED_AGENTS,
                                 "--role", "agent"])
    assert result.exit_code == 0, result.output
    assert _links(app) == [(RED_AGENTS, "agent")]
    again = runner.invoke(args=["team", "link-group", "red", "--group", RED_AGENTS,
                                "--role", "admin"])
    assert again.exit_code == 0 and _links(app) == [(RED_AGENTS, "admin")]  # role changed
    missing = runner.invoke(args=["team", "link-group", "Nope", "--group", RED_AGENTS,
                                  "--role", "admin"])
    assert missing.exit_code != 0 and "No team named" in missing.output
    bad = runner.invoke(args=["team", "link-group", "Red", "--group", RED_AGENTS,
                              "--role", "boss"])
    assert bad.exit_code != 0


def test_directory_page_shows_settings_but_never_the_password(app, client, world):
    login(client, "root")
    page = client.get("/directory").get_data(as_text=True)
    assert app.config["LDAP_URL"].split()[0] in page
    assert "PORTAL_LDAP_BIND_PASSWORD" in page and ">set<" in page
    assert app.config["LDAP_BIND_PASSWORD"] not in page
    users = client.get("/users").get_data(as_text=True)
    assert 'href="/directory"' in users  # reached from the Users page


def test_directory_test_steps_for_a_user_with_groups_and_password(app, client, world):
    with app.app_context():
        from portal.directory import links
        from portal.teams.models import Team

        class Admin:
            is_system_admin = True

        links.add_link(Admin(), db.session.get(Team, world["red"]), RED_ADMINS, "admin")
        db.session.commit()
    login(client, "root")
    page = client.post("/directory/test", data={"username": "alice",
                                                "password": "alice-pass-1"}
                       ).get_data(as_text=True)
    for text in ("Connected to", "Service account sign-in", "uid=alice,ou=people",
                 "王丽", "alice@example.com", f"{RED_ADMINS} → Red (team admin)",
                 "The password is right.", "All steps succeeded"):
        assert text in page, text
    assert "alice-pass-1" not in page
    wrong = client.post("/directory/test", data={"username": "alice", "password": "nope"}
                        ).get_data(as_text=True)
    assert "The directory refused this password." in wrong and "A step failed" in wrong
    nobody = client.post("/directory/test", data={"username": "*"}).get_data(as_text=True)
    assert "No single user matches" in nobody
    dave = client.post("/directory/test", data={"username": "dave"}).get_data(as_text=True)
    assert "this user would be refused" in dave


def test_directory_test_names_the_failing_step(app, client, world):
    app.config["LDAP_BIND_PASSWORD"] = "wrong-service-password"
    login(client, "root")
    page = client.post("/directory/test", data={"username": "alice"}).get_data(as_text=True)
    assert "The directory refused the service account" in page
    assert "wrong-service-password" not in page
    app.config.update(LDAP_URL="ldap://127.0.0.1:1", LDAP_BIND_PASSWORD="x")
    page = client.post("/directory/test", data={"username": "alice"}).get_data(as_text=True)
    assert "cannot reach any directory server" in page


def test_users_page_shows_where_accounts_come_from(app, client, world):
    with app.app_context():
        from portal.auth.models import User

        db.session.add(User(username="zed", display_name="Zed", source="directory",
                            directory_dn="uid=zed,ou=people,dc=example,dc=com",
                            password_hash="!"))
        db.session.commit()
    login(client, "root")
    page = client.get("/users").get_data(as_text=True)
    assert ">directory<" in page and ">local<" in page
