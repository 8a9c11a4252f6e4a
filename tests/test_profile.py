"""The profile page: each signed-in user sets their display name, language, time zone
and password; refused values name their field; every change is audited."""

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.extensions import db
from portal.i18n import SESSION_KEY
from tests.conftest import PASSWORD, login

FORM = {"display_name": "Red Agent", "locale": "", "timezone": ""}


@pytest.fixture
def client(app):
    """A plain test client (pytest-flask's shares ``g`` with other browsers of a test)."""
    return app.test_client()


def _user(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def _audit(app, username: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "user", AuditEntry.object_label == username,
            AuditEntry.action != "create").order_by(AuditEntry.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<small id="{field}-error" class="error">([^<]*)</small>', html)
    assert match, f"no error shown for {field}"
    return match.group(1)


@pytest.mark.parametrize("username", ["root", "red_admin", "red_agent"])
def test_every_role_can_open_the_profile_from_the_user_menu(client, world, username):
    login(client, username)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/profile"' in home and ">Profile</a>" in home
    page = client.get("/profile")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for text in ("Display name", "Language", "Time zone", "Current password",
                 "Automatic (the browser&#39;s language)", "System default (UTC)",
                 ">简体中文<", ">繁體中文<", ">English<", 'value="Asia/Shanghai"',
                 'value="Europe/Berlin"'):
        assert text in body, text


def test_the_profile_needs_a_signed_in_user(client):
    assert client.get("/profile").status_code == 302
    assert client.post("/profile", data=FORM).status_code == 302


def test_saving_name_language_and_time_zone(app, client, world):
    login(client, "red_agent")
    response = client.post("/profile", data={"display_name": "  Lin Wei ",
                                              "locale": "zh_Hant_TW",
                                              "timezone": "Asia/Taipei"})
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    user = _user(app, "red_agent")
    assert (user.display_name, user.locale, user.timezone) == \
        ("Lin Wei", "zh_Hant_TW", "Asia/Taipei")
    # The next page is in the language just chosen, whatever the browser says.
    page = client.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-Hant">' in page
    assert '<option selected value="zh_Hant_TW">' in page
    assert '<option selected value="Asia/Taipei">' in page
    assert "UTC+8" in page  # "now" is shown in the chosen zone


def test_automatic_and_system_default_store_nothing(app, client, world):
    login(client, "red_agent")
    client.post("/profile", data={**FORM, "locale": "zh_Hans_CN", "timezone": "Asia/Tokyo"})
    client.post("/profile", data=FORM)
    user = _user(app, "red_agent")
    assert user.locale is None and user.timezone is None
    page = client.get("/profile", headers={"Accept-Language": "zh-TW"})
    assert '<html lang="zh-Hant">' in page.get_data(as_text=True)


def test_saving_the_profile_forgets_the_sign_in_pages_choice(client, world):
    client.get("/language/zh_Hant_TW?next=/login")
    login(client, "red_agent")
    client.post("/profile", data=FORM)
    with client.session_transaction() as session:
        assert SESSION_KEY not in session
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("locale", "fr", "Choose a language from the list."),
    ("locale", "zh_CN", "Choose a language from the list."),
    ("timezone", "Mars/Olympus_Mons", "Choose a time zone from the list, e.g. Asia/Shanghai."),
    ("timezone", "../../etc/passwd", "Choose a time zone from the list, e.g. Asia/Shanghai."),
    ("display_name", "", "Enter a display name."),
    ("display_name", "x" * 121, "Display name must be at most 120 characters."),
])
def test_invalid_values_are_refused_with_a_field_error(app, client, world, field, value,
                                                       message):
    login(client, "red_agent")
    response = client.post("/profile", data={**FORM, field: value})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in _field_error(body, field)
    assert "Your profile was not saved" in body
    user = _user(app, "red_agent")
    assert (user.display_name, user.locale, user.timezone) == ("Red_Agent", None, None)


def test_a_display_name_with_a_line_break_is_refused(client, world):
    login(client, "red_agent")
    response = client.post("/profile", data={**FORM, "display_name": "Eve\r\nBcc: x@y.z"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "display_name")


def test_changing_the_password(app, client, world):
    login(client, "red_agent")
    other = app.test_client()
    login(other, "red_agent")
    response = client.post("/profile/password", data={
        "current_password": PASSWORD, "password": "a-new-password-9", "confirm":
        "a-new-password-9"})
    assert response.status_code == 303
    assert "Your password is changed." in client.get("/profile").get_data(as_text=True)
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302  # every other session has ended
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "red_agent"))
        assert user.check_password("a-new-password-9")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"current_password": "wrong-password", "password": "a-new-password-9",
      "confirm": "a-new-password-9"}, "current_password", "The current password is wrong."),
    ({"current_password": "", "password": "a-new-password-9",
      "confirm": "a-new-password-9"}, "current_password", "Enter your current password."),
    ({"current_password": PASSWORD, "password": "short", "confirm": "short"},
     "password", "Password must be 8 to 256 characters."),
    ({"current_password": PASSWORD, "password": "a-new-password-9",
      "confirm": "another-one-9"}, "confirm", "The two passwords do not match."),
    ({"current_password": PASSWORD, "password": "", "confirm": ""},
     "password", "Enter a password."),
])
def test_password_changes_that_are_refused(app, client, world, data, field, message):
    login(client, "red_agent")
    response = client.post("/profile/password", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in _field_error(body, field)
    assert "Your password was not changed" in body
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "red_agent"))
        assert user.check_password(PASSWORD)
    assert _audit(app, "red_agent") == []


def test_profile_changes_are_audited(app, client, world):
    login(client, "red_agent")
    client.post("/profile", data={"display_name": "Lin Wei", "locale": "zh_Hans_CN",
                                  "timezone": "Asia/Shanghai"})
    client.post("/profile/password", data={"current_password": PASSWORD,
                                           "password": "a-new-password-9",
                                           "confirm": "a-new-password-9"})
    update, password = _audit(app, "red_agent")
    assert update.action == "update" and update.actor_label == "red_agent"
    assert update.changes["display_name"] == ["Red_Agent", "Lin Wei"]
    assert update.changes["locale"] == [None, "zh_Hans_CN"]
    assert update.changes["timezone"] == [None, "Asia/Shanghai"]
    assert password.action == "password changed"
    assert "a-new-password-9" not in str(password.changes)


def test_saving_nothing_new_writes_no_audit_entry(app, client, world):
    login(client, "red_agent")
    client.post("/profile", data={**FORM, "display_name": "Red_Agent"})
    assert _audit(app, "red_agent") == []


def test_the_saved_time_zone_changes_the_times_shown(app, client, world):
    login(client, "red_agent")
    client.post("/profile", data={**FORM, "timezone": "America/New_York"})
    body = client.get("/profile").get_data(as_text=True)
    assert re.search(r"UTC-[45]\b", body)


def test_profile_page_in_chinese(client, world):
    """Needs the merged catalogs."""
    login(client, "red_agent")
    client.post("/profile", data={**FORM, "locale": "zh_Hans_CN"})
    body = client.get("/profile").get_data(as_text=True)
    assert "个人设置" in body and "时区" in body and "修改密码" in body
    client.post("/profile", data={**FORM, "locale": "zh_Hant_TW"})
    body = client.get("/profile").get_data(as_text=True)
    assert "個人設定" in body and "時區" in body and "變更密碼" in body


def test_guessing_the_current_password_is_throttled_like_sign_in(app, client, world):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    login(client, "red_agent")
    wrong = {"current_password": "not-it", "password": "a-new-password-9",
             "confirm": "a-new-password-9"}
    codes = [client.post("/profile/password", data=wrong).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    right = dict(wrong, current_password=PASSWORD)
    assert client.post("/profile/password", data=right).status_code == 429
