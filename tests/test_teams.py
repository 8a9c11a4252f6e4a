"""Team pages: create, rename, delete when empty, with htmx fragments."""

from sqlalchemy import select

from portal.extensions import db
from portal.teams.models import Team
from tests.conftest import HX, login


def _names(app):
    with app.app_context():
        return sorted(db.session.scalars(select(Team.name)))


def test_create_team_via_htmx_returns_fragment(app, client, world):
    login(client, "root")
    response = client.post("/teams", data={"name": "  Night   shift "}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="teams"' in body
    assert "Team “Night shift” created." in body  # flash rides along out of band
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    assert "Night shift" in _names(app)


def test_full_page_without_htmx(client, world):
    login(client, "root")
    body = client.get("/teams").get_data(as_text=True)
    assert "<html" in body and 'id="teams"' in body


def test_history_restore_gets_full_page(client, world):
    login(client, "root")
    body = client.get("/teams", headers={**HX, "HX-History-Restore-Request": "true"}).get_data(
        as_text=True)
    assert "<html" in body


def test_duplicate_and_empty_names_rejected(app, client, world):
    login(client, "root")
    response = client.post("/teams", data={"name": "red"}, headers=HX)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    response = client.post("/teams", data={"name": "   "}, headers=HX)
    assert response.status_code == 422
    assert "Enter a team name." in response.get_data(as_text=True)
    response = client.post("/teams", data={"name": "x" * 81}, headers=HX)
    assert "at most 80 characters" in response.get_data(as_text=True)
    response = client.post("/teams", data={"name": "a\r\nb"}, headers=HX)
    assert "one line" in response.get_data(as_text=True)
    assert _names(app) == ["Blue", "Red"]


def test_rename_inline(app, client, world):
    login(client, "root")
    edit = client.get(f"/teams/{world['red']}/edit", headers=HX).get_data(as_text=True)
    assert "New name for “Red”" in edit
    response = client.post(f"/teams/{world['red']}/rename", data={"name": "Crimson"}, headers=HX)
    assert response.status_code == 200
    assert f'id="team-{world["red"]}"' in response.get_data(as_text=True)
    assert "Crimson" in _names(app)


def test_rename_to_taken_name_keeps_old(app, client, world):
    login(client, "root")
    response = client.post(f"/teams/{world['red']}/rename", data={"name": "BLUE"}, headers=HX)
    assert response.status_code == 422
    assert _names(app) == ["Blue", "Red"]


def test_delete_refused_while_members_remain(app, client, world, make_team):
    login(client, "root")
    response = client.post(f"/teams/{world['red']}/delete", headers=HX)
    assert "cannot be deleted" in response.get_data(as_text=True)
    assert "Red" in _names(app)
    empty = make_team("Empty")
    response = client.post(f"/teams/{empty}/delete", headers=HX)
    assert "Team “Empty” deleted." in response.get_data(as_text=True)
    assert "Empty" not in _names(app)


def test_plain_post_redirects(client, world):
    login(client, "root")
    response = client.post("/teams", data={"name": "Ops"})
    assert response.status_code == 303


def test_team_admin_sees_members(client, world):
    login(client, "red_admin")
    body = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert "red_agent" in body and "blue_agent" not in body


def test_team_name_is_escaped(client, world, make_team):
    make_team("<script>alert(1)</script>")
    login(client, "root")
    body = client.get("/teams").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
