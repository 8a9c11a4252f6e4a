"""Sign-in sessions end for real: sign-out, password reset, deactivation, everywhere."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.sessions import UserSession
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_from, login


@pytest.fixture
def client(app):
    """A plain test client: pytest-flask's keeps its last request's context pushed, which
    would share ``g`` (and the signed-in user) with the other browsers of a test."""
    return app.test_client()


def _sign_in(client, username: str, remember: bool = False):
    data = {"username": username, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response


def _copy(app, client, *names):
    """A second browser holding copies of ``client``'s cookies."""
    other = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        other.set_cookie(name, cookie.value)
    return other


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _post(client, url: str, data=None):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def test_copied_session_cookie_dies_with_sign_out(app, client, world):
    _sign_in(client, "red_agent")
    stolen = _copy(app, client, "session")
    assert _signed_in(stolen)
    _post(client, "/logout")
    assert not _signed_in(client) and not _signed_in(stolen)


def test_copied_remember_cookie_dies_with_sign_out(app, client, world):
    _sign_in(client, "red_agent", remember=True)
    stolen = _copy(app, client, "remember_token")
    assert _signed_in(stolen)
    _post(client, "/logout")
    assert not _signed_in(_copy(app, stolen, "remember_token"))


def test_password_reset_ends_every_session_of_that_user(app, client, world):
    victim = app.test_client()
    _sign_in(victim, "red_agent", remember=True)
    remembered = _copy(app, victim, "remember_token")
    login(client, "root")
    response = _post(client, f"/users/{world['red_agent']}/password",
                     {"password": "a-new-password-9", "confirm": "a-new-password-9"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert not _signed_in(victim) and not _signed_in(remembered)
    assert _signed_in(client)


def test_own_password_reset_keeps_the_admin_signed_in(app, client, world):
    other_browser = app.test_client()
    _sign_in(other_browser, "root")
    login(client, "root")
    _post(client, f"/users/{world['root']}/password",
          {"password": "a-new-password-9", "confirm": "a-new-password-9"})
    assert _signed_in(client) and not _signed_in(other_browser)


def test_deactivation_ends_sessions(app, client, world):
    victim = app.test_client()
    _sign_in(victim, "blue_agent")
    login(client, "root")
    page = client.get(f"/users/{world['blue_agent']}").get_data(as_text=True)
    client.post(f"/users/{world['blue_agent']}", data={
        "csrf_token": csrf_from(page), "display_name": "Blue agent", "email": ""})
    assert not _signed_in(victim)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession).where(
            UserSession.user_id == world["blue_agent"])) == 0


def test_sign_out_everywhere(app, client, world):
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop, "red_admin")
    _sign_in(phone, "red_admin", remember=True)
    remembered = _copy(app, phone, "remember_token")
    _sign_in(client, "red_agent")
    assert 'action="/logout/everywhere"' in laptop.get("/").get_data(as_text=True)
    _post(laptop, "/logout/everywhere")
    assert not _signed_in(laptop) and not _signed_in(phone) and not _signed_in(remembered)
    assert _signed_in(client)  # other users are not affected


def test_nothing_from_before_sign_in_survives_it(app, client, world):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    _sign_in(client, "red_agent")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_remember_me_lasts_14_days_by_default(app, client, world):
    response = _sign_in(client, "red_agent", remember=True)
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("remember_token="))
    expires = datetime.strptime(cookie.split("Expires=")[1].split(";")[0],
                                "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)


def test_sessions_older_than_the_maximum_age_end(app, client, world):
    _sign_in(client, "red_agent")
    with app.app_context():
        for row in db.session.scalars(select(UserSession)):
            row.created_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()
    assert not _signed_in(client)
