"""User administration: create, edit, deactivate, passwords, memberships."""

from portal.auth.models import User
from portal.extensions import db
from tests.conftest import HX, login

NEW = {"username": "carol", "display_name": "Carol", "email": "carol@example.com",
       "password": "longenough1", "confirm": "longenough1"}


def _user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_create_user_then_sign_in(app, client, world):
    login(client, "root")
    response = client.post("/users", data=NEW, headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/users/")
    client.post("/logout")
    login(client, "carol", "longenough1")


def test_create_user_errors_name_the_field(app, client, world):
    login(client, "root")
    cases = [
        ({"username": "red_agent"}, "is taken"),
        ({"username": ""}, "Enter a username."),
        ({"username": "bad name"}, "letters, digits"),
        ({"email": "not-an-email"}, "is not a valid address"),
        ({"password": "short", "confirm": "short"}, "8 to 256"),
        ({"confirm": "different1"}, "do not match"),
        ({"display_name": "x" * 121}, "at most 120"),
    ]
    for change, message in cases:
        response = client.post("/users", data={**NEW, **change}, headers=HX)
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    with app.app_context():
        assert db.session.query(User).filter_by(username="carol").count() == 0


def test_edit_and_deactivate(app, client, world):
    login(client, "root")
    response = client.post(f"/users/{world['red_agent']}", headers=HX, data={
        "display_name": "Red Agent 2", "email": "", "active": ""})
    assert response.status_code == 200
    user = _user(app, world["red_agent"])
    assert user.display_name == "Red Agent 2" and not user.active


def test_cannot_remove_own_admin_role(app, client, world):
    login(client, "root")
    response = client.post(f"/users/{world['root']}", headers=HX, data={
        "display_name": "Root", "active": "y"})
    assert response.status_code == 422
    assert "cannot deactivate yourself" in response.get_data(as_text=True)
    assert _user(app, world["root"]).is_system_admin


def test_reset_password(app, client, world):
    login(client, "root")
    response = client.post(f"/users/{world['red_agent']}/password", headers=HX,
                           data={"password": "brand-new-pw", "confirm": "brand-new-pw"})
    assert response.status_code == 200
    assert "brand-new-pw" not in response.get_data(as_text=True)
    client.post("/logout")
    login(client, "red_agent", "brand-new-pw")


def test_memberships_add_change_remove(app, client, world):
    login(client, "root")
    uid, blue = world["red_agent"], world["blue"]
    response = client.post(f"/users/{uid}/memberships", data={"team_id": blue, "role": "admin"},
                           headers=HX)
    assert response.status_code == 200
    assert _user(app, uid).role_in(blue) == "admin"
    client.post(f"/users/{uid}/memberships", data={"team_id": blue, "role": "agent"}, headers=HX)
    assert _user(app, uid).role_in(blue) == "agent"
    client.post(f"/users/{uid}/memberships/{blue}/delete", headers=HX)
    assert _user(app, uid).role_in(blue) is None


def test_membership_with_bad_team_or_role(client, world):
    login(client, "root")
    uid = world["red_agent"]
    assert client.post(f"/users/{uid}/memberships", data={"team_id": 999, "role": "admin"},
                       headers=HX).status_code == 422
    assert client.post(f"/users/{uid}/memberships", data={"team_id": world["blue"],
                       "role": "owner"}, headers=HX).status_code == 422


def test_user_list_search_and_pagination(app, client, world, make_user):
    app.config["PAGE_SIZE"] = 2
    login(client, "root")
    body = client.get("/users?q=agent").get_data(as_text=True)
    assert "blue_agent" in body and "red_agent" in body and "root" not in body.split("<table")[1]
    page2 = client.get("/users?page=2", headers=HX).get_data(as_text=True)
    assert "Page 2" in page2 and "<html" not in page2
    assert client.get("/users?page=abc").status_code == 200


def test_unknown_user_404(client, world):
    login(client, "root")
    assert client.get("/users/9999").status_code == 404


def test_new_user_page_and_failed_plain_post_keeps_the_page(client, world):
    login(client, "root")
    index = client.get("/users").get_data(as_text=True)
    assert 'href="/users/new" role="button"' in index
    page = client.get("/users/new").get_data(as_text=True)
    assert "<html" in page and 'id="create-user"' in page and 'name="username"' in page
    failed = client.post("/users", data={**NEW, "username": ""})
    body = failed.get_data(as_text=True)
    assert failed.status_code == 422 and "<html" in body  # a full page, not a bare fragment
    assert 'class="error-summary" tabindex="-1"' in body and "Enter a username." in body
    fragment = client.post("/users", data={**NEW, "username": ""}, headers=HX)
    assert "<html" not in fragment.get_data(as_text=True)


def test_user_list_shows_teams_and_roles_compactly(client, world):
    login(client, "root")
    client.post(f"/users/{world['red_agent']}/memberships",
                data={"team_id": world["blue"], "role": "admin"}, headers=HX)
    body = client.get("/users?q=red_agent").get_data(as_text=True)
    row = body[body.index('href="/users/' + str(world["red_agent"]) + '"'):]
    row = row[:row.index("</tr>")]
    assert 'Blue <span class="muted">(team admin)</span>, Red <span class="muted">(agent)' \
        in row
    assert 'class="pill pill-enabled">active<' in row
    root = client.get("/users?q=root").get_data(as_text=True)
    assert 'class="pill pill-default">system admin<' in root
    assert '<table class="stack">' in root and 'data-label="Teams"' in root


def test_user_page_links_memberships_to_team_pages(client, world):
    login(client, "root")
    body = client.get(f"/users/{world['red_admin']}").get_data(as_text=True)
    assert f'href="/teams/{world["red"]}">Red</a>' in body and "Team admin" in body
