"""Team tokens belong to the team; a system admin can revoke all of a team's tokens."""

from portal.auth.models import User
from portal.extensions import db
from portal.teams.models import Membership
from portal.tokens.models import ApiToken
from tests.conftest import csrf_from, login
from tests.test_api import MAIL, post


def _token_as(app, world, username: str, team: str) -> str:
    from portal.tokens import service as tokens
    with app.app_context():
        creator = db.session.get(User, world[username])
        _token, secret = tokens.create_token(creator, f"ETL of {username}", world[team])
        db.session.commit()
        return secret


def test_team_tokens_outlive_their_creators_membership(app, client, world, relay):
    secret = _token_as(app, world, "red_admin", "red")
    with app.app_context():
        db.session.query(Membership).filter_by(user_id=world["red_admin"]).delete()
        db.session.get(User, world["red_admin"]).active = False
        db.session.commit()
    assert post(client, secret, MAIL).status_code == 200


def test_system_admin_revokes_all_tokens_of_a_team(app, client, world, relay):
    red_one = _token_as(app, world, "red_admin", "red")
    red_two = _token_as(app, world, "root", "red")
    blue = _token_as(app, world, "blue_admin", "blue")
    login(client, "root")
    page = client.get(f"/tokens/teams/{world['red']}/revoke-all").get_data(as_text=True)
    assert "ETL of red_admin" in page and "ETL of root" in page and "ETL of blue" not in page
    response = client.post(f"/tokens/teams/{world['red']}/revoke-all",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert post(client, red_one, MAIL).status_code == 401
    assert post(client, red_two, MAIL).status_code == 401
    assert post(client, blue, MAIL).status_code == 200
    with app.app_context():
        assert db.session.query(ApiToken).filter(ApiToken.revoked_at.is_(None)).count() == 1


def test_team_admins_cannot_revoke_a_whole_team(app, client, world):
    _token_as(app, world, "red_admin", "red")
    login(client, "red_admin")
    assert client.get(f"/tokens/teams/{world['red']}/revoke-all").status_code == 403
    assert "Revoke all tokens" not in client.get(f"/teams/{world['red']}").get_data(
        as_text=True)
