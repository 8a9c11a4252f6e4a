"""API tokens: shown once, stored as a hash, revoked, scoped by team, CLI, team deletion."""

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import ServiceError
from portal.extensions import db
from portal.teams import service as teams_service
from portal.teams.models import Team
from portal.tokens import service
from portal.tokens.models import ApiToken
from tests.conftest import HX, backend, login

SECRET = re.compile(r"mbp_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def make_token(app):
    """Create a token as the operator would (CLI actor); returns (id, secret)."""
    from portal.cli import SYSTEM

    def make(name="Nightly report", team_id=None, revoked=False):
        with app.app_context():
            token, secret = service.create_token(SYSTEM, name, team_id)
            if revoked:
                service.revoke_token(SYSTEM, token)
            db.session.commit()
            return token.id, secret

    return make


def _token(app, token_id) -> ApiToken:
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        db.session.expunge(token)
        return token


def _tokens(app) -> list[tuple]:
    with app.app_context():
        return [(t.name, t.team_id, t.revoked_at is not None)
                for t in db.session.scalars(select(ApiToken).order_by(ApiToken.id))]


def _create(client, name="Nightly report", team_id="", headers=HX):
    return client.post("/tokens/new", data={"name": name, "team_id": team_id},
                       headers=headers)


# --- creating: the secret is shown once and only its hash is stored ---------------------

def test_created_token_shown_once_and_only_hash_stored(app, client, world, tmp_path):
    login(client, "root")
    response = _create(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "it will not be shown again" in html and 'hx-history="false"' in html
    secret = SECRET.search(html).group(0)
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        row = [getattr(token, column.key) for column in ApiToken.__table__.columns]
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert token.prefix == secret[:8] and token.team_id is None
        assert token.created_by_user_id == world["root"]
        assert not any(isinstance(value, str) and secret in value for value in row)
    if backend() == "sqlite":
        assert secret.encode() not in (tmp_path / "portal.sqlite").read_bytes()
    page = client.get("/tokens").get_data(as_text=True)
    assert secret not in page
    assert "Nightly report" in page and f"{secret[:8]}…" in page
    assert "System (all teams)" in page and "never" in page and "active" in page


def test_new_token_sits_in_a_copy_field_with_a_copy_button(client, world):
    login(client, "root")
    html = _create(client).get_data(as_text=True)
    secret = SECRET.search(html).group(0)
    field = html[html.index('<div class="copy-field">'):]
    field = field[:field.index("</div>")]
    assert f'id="token-secret" type="text" value="{secret}" readonly' in field
    assert 'data-copy="token-secret" data-copy-status="token-copy-status"' in field
    assert ">Copy</button>" in field
    assert '<p id="token-copy-status" class="muted" role="status" aria-live="polite"></p>' \
        in html


def test_new_token_from_a_team_page_preselects_the_team(client, world):
    login(client, "red_admin")
    body = client.get(f"/tokens/new?team={world['red']}").get_data(as_text=True)
    assert f'<option selected value="{world["red"]}">' in body
    other = client.get(f"/tokens/new?team={world['blue']}").get_data(as_text=True)
    assert f'value="{world["blue"]}"' not in other


def test_token_list_is_compact_with_status_pills(client, world, make_token):
    make_token("Live")
    make_token("Old", revoked=True)
    login(client, "root")
    page = client.get("/tokens").get_data(as_text=True)
    assert '<table class="stack">' in page and 'data-label="Last used"' in page
    assert 'class="pill pill-enabled">active<' in page
    assert 'class="pill pill-disabled">revoked<' in page
    assert 'role="button" class="danger small" aria-label="Revoke Live">Revoke…</a>' in page
    assert 'aria-label="Revoke Old"' not in page


def test_each_token_is_different_and_authenticates(app, make_token):
    first_id, first = make_token("A")
    second_id, second = make_token("B")
    assert first != second and first.startswith("mbp_") and len(first) > 40
    with app.app_context():
        assert service.authenticate(first).id == first_id
        assert service.authenticate(second).id == second_id
        assert service.authenticate(first + "x") is None
        assert service.authenticate(first[:-1]) is None
        assert service.authenticate("") is None and service.authenticate(None) is None


def test_full_page_create_and_empty_state(client, world):
    login(client, "root")
    assert "No API tokens yet" in client.get("/tokens").get_data(as_text=True)
    response = _create(client, headers={})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html and SECRET.search(html)


def test_blank_name_rerenders_form_with_error(app, client, world):
    login(client, "root")
    response = _create(client, name="  ")
    assert response.status_code == 422
    assert "Enter a name" in response.get_data(as_text=True)
    assert _tokens(app) == []


def test_last_used_recorded_at_most_once_a_minute(app, client, world, make_token):
    token_id, secret = make_token()
    with app.app_context():
        service.authenticate(secret)
        db.session.commit()
    first = _token(app, token_id).last_used_at
    assert first is not None and (utcnow() - first) < timedelta(minutes=1)
    with app.app_context():
        service.authenticate(secret)
        db.session.commit()
    assert _token(app, token_id).last_used_at == first
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_used_at=first - timedelta(minutes=5)))
        db.session.commit()
        service.authenticate(secret)
        db.session.commit()
    assert _token(app, token_id).last_used_at > first
    login(client, "root")
    assert "never" not in client.get("/tokens").get_data(as_text=True)


# --- revoking ----------------------------------------------------------------------------

def test_revoke_with_confirmation(app, client, world, make_token):
    token_id, secret = make_token()
    login(client, "root")
    page = client.get(f"/tokens/{token_id}/revoke").get_data(as_text=True)
    assert "Revoke token “Nightly report”?" in page and 'method="post"' in page
    assert _token(app, token_id).revoked_at is None  # GET only asks
    response = client.post(f"/tokens/{token_id}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/tokens"
    assert _token(app, token_id).revoked_at is not None
    with app.app_context():
        assert service.authenticate(secret) is None
    page = client.get("/tokens").get_data(as_text=True)
    assert "revoked" in page and f"/tokens/{token_id}/revoke" not in page


def test_revoke_via_htmx_redirects(app, client, world, make_token):
    token_id, _secret = make_token()
    login(client, "root")
    response = client.post(f"/tokens/{token_id}/revoke", headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/tokens"
    assert _token(app, token_id).revoked_at is not None


# --- scoping -----------------------------------------------------------------------------

def test_team_admin_creates_only_for_own_teams(app, client, world):
    login(client, "red_admin")
    form = client.get("/tokens/new").get_data(as_text=True)
    assert "System (all teams)" not in form and "Red" in form and "Blue" not in form
    for team_id in ("", str(world["blue"])):
        response = _create(client, team_id=team_id)
        assert response.status_code == 422
        assert "only system administrators" in response.get_data(as_text=True)
    assert _tokens(app) == []
    assert _create(client, team_id=str(world["red"])).status_code == 200
    assert _tokens(app) == [("Nightly report", world["red"], False)]


def test_service_refuses_system_token_for_team_admin(app, world):
    with app.app_context():
        user = db.session.get(User, world["red_admin"])
        with pytest.raises(ServiceError, match="system tokens"):
            service.create_token(user, "X", None)
        with pytest.raises(ServiceError):
            service.create_token(user, "X", world["blue"])


def test_team_admin_sees_and_revokes_only_own_tokens(app, client, world, make_token):
    red_id, _ = make_token("Red ETL", world["red"])
    blue_id, _ = make_token("Blue ETL", world["blue"])
    system_id, _ = make_token("Everything")
    login(client, "red_admin")
    page = client.get("/tokens").get_data(as_text=True)
    assert "Red ETL" in page and "Blue ETL" not in page and "Everything" not in page
    for other in (blue_id, system_id):
        assert client.get(f"/tokens/{other}/revoke").status_code == 404
        assert client.post(f"/tokens/{other}/revoke").status_code == 404
        assert _token(app, other).revoked_at is None
    assert client.post(f"/tokens/{red_id}/revoke").status_code == 303
    assert _token(app, red_id).revoked_at is not None


def test_agents_cannot_open_tokens(client, world):
    login(client, "red_agent")
    assert client.get("/tokens").status_code == 403
    assert _create(client, team_id=str(world["red"])).status_code == 403


def test_nav_link_for_admins_only(client, world):
    login(client, "red_admin")
    assert 'href="/tokens"' in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login(client, "red_agent")
    assert 'href="/tokens"' not in client.get("/").get_data(as_text=True)


# --- team deletion -----------------------------------------------------------------------

def test_active_token_blocks_team_deletion_revoked_does_not(app, world, make_team,
                                                            make_token):
    green_id = make_team("Green")
    token_id, _ = make_token("Green ETL", green_id)
    with app.app_context():
        root = db.session.get(User, world["root"])
        green = db.session.get(Team, green_id)
        with pytest.raises(ServiceError, match=r"it still has 1 API token\b"):
            teams_service.delete_team(root, green)
        service.revoke_token(root, db.session.get(ApiToken, token_id))
        teams_service.delete_team(root, green)
        db.session.commit()
    with app.app_context():
        assert db.session.get(Team, green_id) is None
        assert db.session.get(ApiToken, token_id) is None


# --- CLI ---------------------------------------------------------------------------------

def test_cli_create_token_prints_working_token(app, world):
    result = app.test_cli_runner().invoke(args=["create-token", "--name", "ETL",
                                                "--team", "red"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert SECRET.fullmatch(secret)
    assert "not shown again" in result.stderr
    with app.app_context():
        token = service.authenticate(secret)
        assert token is not None and token.team_id == world["red"] and token.name == "ETL"
        assert token.token_hash != secret


def test_cli_system_token_and_unknown_team(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "--name", "Ops"])
    assert result.exit_code == 0
    with app.app_context():
        assert service.authenticate(result.stdout.strip()).team_id is None
    result = runner.invoke(args=["create-token", "--name", "X", "--team", "Green"])
    assert result.exit_code != 0 and "No team named" in result.output
    assert len(_tokens(app)) == 1
