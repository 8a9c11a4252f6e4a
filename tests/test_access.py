"""The access matrix: who may open which page."""

import pytest

from tests.conftest import login

ADMIN_PAGES = ["/users", "/users/{root}", "/teams", "/teams/{red}"]


def _url(template: str, world) -> str:
    return template.format(**world)


@pytest.mark.parametrize("url", ["/", *ADMIN_PAGES])
def test_anonymous_is_sent_to_login(client, world, url):
    response = client.get(_url(url, world))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_agent_gets_403_on_admin_pages(client, world, url):
    login(client, "red_agent")
    assert client.get(_url(url, world)).status_code == 403


@pytest.mark.parametrize("user, url, status", [
    ("root", "/users", 200),
    ("root", "/teams/{blue}", 200),
    ("red_admin", "/teams", 200),
    ("red_admin", "/teams/{red}", 200),
    ("red_admin", "/teams/{blue}", 404),
    ("red_admin", "/users", 403),
    ("red_admin", "/users/{root}", 403),
    ("blue_admin", "/teams/{red}", 404),
])
def test_role_matrix(client, world, user, url, status):
    login(client, user)
    assert client.get(_url(url, world)).status_code == status


def test_team_admin_sees_only_their_teams(client, world):
    login(client, "red_admin")
    page = client.get("/teams").get_data(as_text=True)
    assert "Red" in page and "Blue" not in page


@pytest.mark.parametrize("action", ["/teams", "/teams/{blue}/rename", "/teams/{blue}/delete",
                                    "/users", "/users/{root}/password"])
def test_team_admin_cannot_post_system_actions(client, world, action):
    login(client, "blue_admin")
    assert client.post(_url(action, world), data={"name": "x"}).status_code == 403


def test_navigation_follows_role(client, world):
    login(client, "red_agent")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/teams"' not in page and 'href="/users"' not in page
    client.post("/logout")
    login(client, "root")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/teams"' in page and 'href="/users"' in page


def test_unknown_page_is_styled_404(client, world):
    login(client, "root")
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "Mailbox Portal" in response.get_data(as_text=True)
