"""A directory user signs in through the real login page (Chromium, real slapd)."""

import pytest
from playwright.sync_api import expect

from portal.directory import links, status
from portal.extensions import db
from portal.teams.models import Team
from tests.browser_kit import shots

pytestmark = pytest.mark.browser

RED_AGENTS = "cn=red-agents,ou=groups,dc=example,dc=com"


@pytest.fixture
def app_config(app_config, ldap_config):
    status.reset()
    return {**app_config, **ldap_config}


class _Admin:
    is_system_admin = True


def test_directory_user_signs_in_and_sees_the_dashboard(app, page, portal_server, make_team):
    red = make_team("Red")
    with app.app_context():
        links.add_link(_Admin(), db.session.get(Team, red), RED_AGENTS, "agent")
        db.session.commit()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(portal_server.url + "/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("wrong-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("carol-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    assert page.url.rstrip("/") == portal_server.url
    # carol is in portal-admins (the administrators' group): the Directory page is hers.
    page.goto(portal_server.url + "/users")
    page.get_by_role("button", name="Directory sign-in").click()
    expect(page.get_by_role("heading", name="Directory (LDAP / Active Directory)")).to_be_visible()
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_text("uid=alice,ou=people,dc=example,dc=com")).to_be_visible()
    expect(page.get_by_text(f"{RED_AGENTS} → Red (agent)")).to_be_visible()
    folder = shots("directory")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "directory-test.png"), full_page=True)
    assert not errors
