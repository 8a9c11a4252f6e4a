"""``flask --app portal reset-password USERNAME``: new password, sessions ended, audited."""

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.sessions import UserSession
from portal.auth.throttle import LoginFailure
from portal.extensions import db
from portal.setup_run import write_first_admin
from tests.conftest import PASSWORD, login


@pytest.fixture(autouse=True)
def _own_instance(app, tmp_path):
    """The command looks at instance/first-admin.txt: a temporary folder, not the checkout's."""
    app.instance_path = str(tmp_path)


@pytest.fixture
def client(app):
    """A plain test client (see tests/test_sessions.py for why not pytest-flask's)."""
    return app.test_client()


def _reset(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["reset-password", *args], input=input)


def _sessions(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession)
                                 .where(UserSession.user_id == user_id))


def _signs_in(app, username: str, password: str) -> bool:
    response = app.test_client().post("/login", data={"username": username,
                                                      "password": password})
    return response.status_code == 303


def test_generated_password_replaces_the_old_one_and_ends_sessions(app, client, make_user):
    ann = make_user("ann")
    login(client, "ann")
    assert client.get("/").status_code == 200 and _sessions(app, ann) == 1
    result = _reset(app, "ANN ")
    assert result.exit_code == 0, result.output
    password = result.stdout.strip()
    assert len(password) >= 16 and "\n" not in password
    assert "every session" in result.stderr
    assert _sessions(app, ann) == 0
    assert client.get("/").status_code == 302  # the session from before the reset is gone
    assert _signs_in(app, "ann", password)
    assert not _signs_in(app, "ann", PASSWORD)


def test_reset_is_audited_as_the_command_line(app, make_user):
    ann = make_user("ann")
    assert _reset(app, "ann").exit_code == 0
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "user", AuditEntry.object_id == ann)
            .order_by(AuditEntry.id.desc())).first()
        assert entry.action == "password changed"
        assert entry.actor_label == "command line"
        assert PASSWORD not in str(entry.changes)


def test_password_from_stdin(app, make_user):
    make_user("ann")
    result = _reset(app, "--stdin", "ann", input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "a brand new passphrase" not in result.output
    assert _signs_in(app, "ann", "a brand new passphrase")


@pytest.mark.parametrize(("given", "message"), [
    ("short\n", "Password must be 8 to 256 characters."),
    ("x" * 257 + "\n", "Password must be 8 to 256 characters."),
    ("\n", "Enter a password."),
    ("", "Enter a password."),
])
def test_stdin_password_is_checked_like_the_users_page(app, make_user, given, message):
    make_user("ann")
    result = _reset(app, "--stdin", "ann", input=given)
    assert result.exit_code != 0
    assert message in result.output
    assert _signs_in(app, "ann", PASSWORD)  # nothing changed


def test_unknown_user_is_refused(app, make_user):
    make_user("ann")
    result = _reset(app, "bob")
    assert result.exit_code != 0
    assert "No user named “bob”" in result.output


def test_reset_clears_the_sign_in_lock(app, make_user):
    make_user("ann")
    app.config.update(LOGIN_RATE_LIMIT_PER_USER="3 per 15 minutes",
                      LOGIN_RATE_LIMIT="3 per 15 minutes")
    for _ in range(3):
        assert not _signs_in(app, "ann", "wrong-guess")
    assert not _signs_in(app, "ann", PASSWORD)  # locked
    password = _reset(app, "ann").stdout.strip()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0
    assert _signs_in(app, "ann", password)


def test_deactivated_user_is_reset_with_a_note(app, make_user):
    make_user("gone", active=False)
    result = _reset(app, "gone")
    assert result.exit_code == 0
    assert "deactivated" in result.stderr


def test_reset_removes_the_first_admin_file_it_made_stale(app, make_user, tmp_path):
    make_user("admin", system_admin=True)
    make_user("ann")
    credentials = tmp_path / "first-admin.txt"
    write_first_admin(credentials, "admin", "old-generated-pw", "http://127.0.0.1:5000/")
    assert _reset(app, "ann").exit_code == 0
    assert credentials.exists()  # another user's reset leaves it alone
    result = _reset(app, "Admin")
    assert result.exit_code == 0
    assert not credentials.exists() and "held the old password" in result.stderr
