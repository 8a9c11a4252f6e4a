"""Configuration layers, SQLite settings, migrations and the command line."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import select, text

from portal import create_app
from portal.auth.models import User
from portal.extensions import db
from portal.records.search import is_search_object
from portal.teams.models import Team
from tests.conftest import backend


def test_migrations_match_models(tmp_path, app_config):
    """`flask db upgrade` builds exactly the schema the models describe."""
    if backend() == "postgresql":
        pytest.skip("schema comparison runs on a fresh SQLite database")
    app_config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = create_app(app_config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "include_object": lambda obj, name, *_: not is_search_object(name)})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_sqlite_uses_wal_and_busy_timeout(app):
    if backend() != "sqlite":
        pytest.skip("SQLite only")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_config_layers(tmp_path, monkeypatch):
    """instance/config.py overrides defaults; PORTAL_* variables override both."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("PAGE_SIZE = 25\nWORKER_INTERVAL = 5\n")
    monkeypatch.setenv("PORTAL_WORKER_INTERVAL", "7")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-env-encryption")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    app = create_app()
    assert app.config["PAGE_SIZE"] == 25
    assert app.config["WORKER_INTERVAL"] == 7
    assert app.config["ENCRYPTION_KEY"] == "from-env-encryption"
    assert app.config["SECRET_KEY"] != "from-env-encryption"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    key_file = instance / "session.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]


def _cli(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result


def test_cli_create_admin_team_and_user(app):
    result = _cli(app, "create-admin", "--username", "boss", "--password", "s3cret-pass")
    assert result.exit_code == 0, result.output
    assert _cli(app, "team", "add", "Finance").exit_code == 0
    result = _cli(app, "user", "add", "--username", "ann", "--password", "another-pass",
                  "--team", "finance", "--role", "admin")
    assert result.exit_code == 0, result.output
    with app.app_context():
        ann = db.session.scalar(select(User).where(User.username == "ann"))
        team = db.session.scalar(select(Team).where(Team.name == "Finance"))
        assert ann.role_in(team.id) == "admin"
        assert db.session.scalar(select(User).where(User.username == "boss")).is_system_admin


def test_cli_errors_are_clear(app):
    _cli(app, "team", "add", "Finance")
    result = _cli(app, "team", "add", "finance")
    assert result.exit_code != 0 and "already exists" in result.output
    result = _cli(app, "user", "add", "--username", "ann", "--password", "another-pass",
                  "--team", "Nope")
    assert result.exit_code != 0 and "No team named" in result.output
    result = _cli(app, "create-admin", "--username", "x", "--password", "short")
    assert result.exit_code != 0 and "at least 8" in result.output


def test_cli_create_admin_prompts(app):
    result = _cli(app, "create-admin", input="prompted\nlong-password\nlong-password\n")
    assert result.exit_code == 0, result.output


def test_ensure_admin_once(app, monkeypatch):
    monkeypatch.delenv("PORTAL_ADMIN_PASSWORD", raising=False)
    first = _cli(app, "ensure-admin")
    assert "password" in first.output and first.exit_code == 0
    second = _cli(app, "ensure-admin")
    assert "nothing to do" in second.output
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_ensure_admin_takes_password_from_env(app, monkeypatch):
    monkeypatch.setenv("PORTAL_ADMIN_PASSWORD", "given-password")
    result = _cli(app, "ensure-admin")
    assert "given-password" not in result.output
    with app.app_context():
        assert db.session.scalar(select(User)).check_password("given-password")


def test_wsgi_module_exposes_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite'}")
    monkeypatch.setenv("PORTAL_SESSION_KEY", "x")
    import importlib

    wsgi = importlib.import_module("wsgi")
    assert wsgi.app.name == "portal"
    assert os.path.basename(wsgi.app.template_folder) == "templates"
