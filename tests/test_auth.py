"""Sign-in, sign-out, throttling, redirects and session cookie flags."""

import pytest

from tests.conftest import HX, PASSWORD, csrf_from, login


def test_login_success_redirects_home(client, world):
    response = login(client, "red_agent")
    assert response.headers["Location"] == "/"
    assert "Red" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("username, password, message", [
    ("red_agent", "wrong-password", "Wrong username or password."),
    ("nobody", PASSWORD, "Wrong username or password."),
    ("", PASSWORD, "Enter your username."),
    ("red_agent", "", "Enter your password."),
    ("x" * 65, PASSWORD, "Username is too long."),
])
def test_login_failures_are_explained(client, world, username, password, message):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_sign_in(client, make_user):
    make_user("gone", active=False)
    response = client.post("/login", data={"username": "gone", "password": PASSWORD})
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)


def test_deactivation_ends_an_existing_session(app, client, world):
    from portal.auth.models import User
    from portal.extensions import db

    login(client, "red_agent")
    with app.app_context():
        db.session.get(User, world["red_agent"]).active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_username_is_case_insensitive(client, world):
    login(client, "  RED_Agent ")


@pytest.mark.parametrize("target, expected", [
    ("/teams", "/teams"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_only_goes_to_local_paths(client, world, target, expected):
    response = client.post("/login", data={
        "username": "root", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == expected


def test_login_page_keeps_next_from_query(client, world):
    response = client.get("/teams")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/teams"' in page


def test_login_throttled_after_repeated_failures(app, client, world):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        response = client.post("/login", data={"username": "root", "password": "bad"})
        assert response.status_code == 422
    response = client.post("/login", data={"username": "root", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    other = client.post("/login", data={"username": "red_agent", "password": PASSWORD})
    assert other.status_code == 303  # the throttle is per user and address


def test_logout(client, world):
    login(client, "root")
    response = client.post("/logout")
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_session_cookie_flags(client, world):
    response = login(client, "root")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_when_configured(app_config):
    from portal import create_app

    app_config["SESSION_COOKIE_SECURE"] = True
    app = create_app(app_config)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_login_without_token_is_refused_clearly(self, client, world):
        response = client.post("/login", data={"username": "root", "password": PASSWORD})
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)

    def test_htmx_post_without_token_is_refused(self, client, world):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "root", "password": PASSWORD,
                                    "csrf_token": csrf_from(page)})
        response = client.post("/teams", data={"name": "Ops"}, headers=HX)
        assert response.status_code == 400

    def test_htmx_post_with_header_token_works(self, client, world):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "root", "password": PASSWORD,
                                    "csrf_token": csrf_from(page)})
        token = csrf_from(client.get("/teams").get_data(as_text=True))
        response = client.post("/teams", data={"name": "Ops"},
                               headers={**HX, "X-CSRFToken": token})
        assert response.status_code == 200
        assert "Ops" in response.get_data(as_text=True)
