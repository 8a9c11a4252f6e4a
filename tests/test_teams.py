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


# --- the team page: what the team owns, with links to manage it -------------------------

def _own_things(app, world):
    """Red gets two senders (one its default), a template and tokens; Blue gets its own."""
    from portal.cli import SYSTEM
    from portal.senders.models import Sender
    from portal.templates_.models import MailTemplate
    from portal.tokens import service as tokens

    def sender(name, team_id, default=False, enabled=True):
        return Sender(name=name, team_id=team_id, host="127.0.0.1", port=2525,
                      encryption="none", address=f"{name.lower()}@example.com",
                      display_name=name, mode="immediate", enabled=enabled,
                      is_default=default, max_connections=1)

    with app.app_context():
        db.session.add_all([
            sender("Redmail", world["red"], default=True), sender("Redbulk", world["red"]),
            sender("Bluemail", world["blue"], default=True),
            MailTemplate(name="Red invoice", team_id=world["red"], subject="s",
                         html_body="b"),
            MailTemplate(name="Blue invoice", team_id=world["blue"], subject="s",
                         html_body="b")])
        tokens.create_token(SYSTEM, "Red ETL", world["red"])
        old, _ = tokens.create_token(SYSTEM, "Red retired", world["red"])
        tokens.revoke_token(SYSTEM, old)
        tokens.create_token(SYSTEM, "Blue ETL", world["blue"])
        db.session.commit()
        return {s.name: s.id for s in db.session.scalars(select(Sender))}


def _section(body: str, heading_id: str) -> str:
    start = body.index(f'id="{heading_id}"')
    end = body.find("</section>", start)
    return body[start:end]


def test_team_page_shows_senders_templates_tokens_and_roles(app, client, world):
    senders = _own_things(app, world)
    login(client, "red_admin")
    body = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    part = _section(body, "senders-heading")
    assert f'href="/senders/{senders["Redmail"]}">Redmail</a>' in part
    assert "Redbulk" in part and "Bluemail" not in part
    assert part.index("Redmail") < part.index('class="pill pill-default">team default<') \
        < part.index("Redbulk")  # the default comes first, with its pill
    assert part.count("team default") == 1
    part = _section(body, "templates-heading")
    assert "Red invoice" in part and "Blue invoice" not in part
    assert f'href="/templates/new?team={world["red"]}"' in part
    part = _section(body, "tokens-heading")
    assert "Red ETL" in part and "Red retired" not in part and "Blue ETL" not in part
    assert "1 revoked token not shown." in part
    assert f'href="/tokens/new?team={world["red"]}"' in part
    assert 'pill pill-neutral">1<' in part  # one active token
    assert "Revoke all tokens" not in part  # that is for system admins
    part = _section(body, "members-heading")
    assert "red_admin" in part and "Team admin" in part and "Agent" in part
    assert "blue_agent" not in part


def test_empty_team_page_links_to_adding_things(client, world, make_team):
    empty = make_team("Empty")
    login(client, "root")
    body = client.get(f"/teams/{empty}").get_data(as_text=True)
    assert "No senders yet" in _section(body, "senders-heading")
    assert 'href="/senders/new">Add a sender</a>' in body
    assert "No templates of this team yet." in body
    assert f'href="/templates/new?team={empty}">Add a template</a>' in body
    assert "No active API tokens." in body
    assert f'href="/tokens/new?team={empty}">Add a token</a>' in body
    assert "This team has no members yet." in body and 'href="/users"' in body


def test_system_admin_can_revoke_all_from_team_page(app, client, world):
    _own_things(app, world)
    login(client, "root")
    body = client.get(f"/teams/{world['red']}").get_data(as_text=True)
    assert f'href="/tokens/teams/{world["red"]}/revoke-all"' in body


def test_team_list_counts_what_each_team_owns(app, client, world):
    _own_things(app, world)
    login(client, "root")
    body = client.get("/teams").get_data(as_text=True)
    row = body[body.index(f'id="team-{world["red"]}"'):]
    row = row[:row.index("</tr>")]
    cells = [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split("<td")[2:6]]
    assert cells == ["2", "2", "1", "1"]  # members, senders, templates, active tokens


def test_team_admin_cannot_open_another_teams_page(app, client, world):
    _own_things(app, world)
    login(client, "red_admin")
    assert client.get(f"/teams/{world['blue']}").status_code == 404
    client.post("/logout")
    login(client, "red_agent")
    assert client.get(f"/teams/{world['red']}").status_code in (403, 404)
