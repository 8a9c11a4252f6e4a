"""Configuration layers, SQLite settings, migrations and the command line."""

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import select, text

from portal import create_app
from portal.auth.models import User
from portal.extensions import db
from portal.records.search import is_search_object
from portal.setup_run import parse_bind, read_first_admin, write_first_admin
from portal.teams.models import Team
from tests.conftest import backend, login


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


def test_ensure_admin_once(app, monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_ADMIN_PASSWORD", raising=False)
    app.instance_path = str(tmp_path)  # first-admin.txt goes here, not into the checkout
    first = _cli(app, "ensure-admin")
    assert "password" in first.output and first.exit_code == 0
    second = _cli(app, "ensure-admin")
    assert "nothing to do" in second.output
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_ensure_admin_writes_credentials_file(app, client, monkeypatch, tmp_path):
    """The generated password goes to instance/first-admin.txt (0600), not the console."""
    monkeypatch.delenv("PORTAL_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("PORTAL_BIND", "127.0.0.1:8123")
    app.instance_path = str(tmp_path)
    result = _cli(app, "ensure-admin")
    assert result.exit_code == 0, result.output
    path = tmp_path / "first-admin.txt"
    assert str(path) in result.output
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "http://127.0.0.1:8123/" in text and "Username: admin" in text
    assert "delete this file after you have signed in and changed the password" in text
    credentials = read_first_admin(path)
    assert credentials["password"] not in result.output
    login(client, "admin", credentials["password"])
    assert client.get("/").status_code == 200


def test_ensure_admin_takes_password_from_env(app, monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ADMIN_PASSWORD", "given-password")
    app.instance_path = str(tmp_path)
    result = _cli(app, "ensure-admin")
    assert "given-password" not in result.output
    assert not (tmp_path / "first-admin.txt").exists()
    with app.app_context():
        assert db.session.scalar(select(User)).check_password("given-password")


def test_wsgi_module_exposes_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite'}")
    monkeypatch.setenv("PORTAL_SESSION_KEY", "x")
    import importlib

    wsgi = importlib.import_module("wsgi")
    assert wsgi.app.name == "portal"
    assert os.path.basename(wsgi.app.template_folder) == "templates"


# --- make run: the port check before the services, the notice after -----------------

ROOT = Path(__file__).resolve().parent.parent


def _setup_run(*args, bind: str, instance: Path, **popen):
    """``python -m portal.setup_run ARGS`` as ``make run`` starts it, with PORTAL_BIND set."""
    env = dict(os.environ, PORTAL_BIND=bind, PORTAL_INSTANCE_PATH=str(instance))
    command = [sys.executable, "-m", "portal.setup_run", *args]
    if popen:
        return subprocess.Popen(command, cwd=ROOT, env=env, text=True, **popen)
    return subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True,
                          timeout=60, check=False)


def _listening_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_busy_port_stops_make_run_with_a_way_out(tmp_path):
    with _listening_socket() as busy:
        port = busy.getsockname()[1]
        result = _setup_run("check-port", bind=f"127.0.0.1:{port}", instance=tmp_path)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "PORTAL_BIND=127.0.0.1:" in result.stderr and "make run" in result.stderr


def test_free_port_passes_the_check(tmp_path):
    with _listening_socket() as probe:
        port = probe.getsockname()[1]
    result = _setup_run("check-port", bind=f"127.0.0.1:{port}", instance=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(("bind", "expected"), [
    ("127.0.0.1:5000", ("127.0.0.1", 5000)), ("0.0.0.0:80", ("0.0.0.0", 80)),  # noqa: S104
    ("[::1]:8001", ("::1", 8001)), ("localhost", ("localhost", 8000)),
    ("unix:/run/portal.sock", None)])
def test_bind_addresses_are_read_like_gunicorn(bind, expected):
    assert parse_bind(bind) == expected


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def _read_until(process, marker: str, seconds: float = 30) -> str:
    """Standard output up to and including the line holding ``marker`` (or fail)."""
    lines, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    pytest.fail(f"no {marker!r} in: {''.join(lines)!r}")


def test_ready_notice_waits_for_healthz_and_shows_the_credentials(tmp_path):
    """The box appears only once /healthz answers; it stays up until honcho stops it."""
    write_first_admin(tmp_path / "first-admin.txt", "admin", "Pa55wordFromFile", "http://x/")
    with _listening_socket() as probe:
        port = probe.getsockname()[1]
    waiter = _setup_run("wait-ready", bind=f"127.0.0.1:{port}", instance=tmp_path,
                        stdout=subprocess.PIPE)
    server = None
    try:
        time.sleep(1.5)
        assert waiter.poll() is None  # still waiting: nothing answers yet
        server = http.server.HTTPServer(("127.0.0.1", port), _Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        output = _read_until(waiter, "Ctrl-C stops")
        assert f"http://127.0.0.1:{port}/" in output
        assert "Username  admin" in output and "Password  Pa55wordFromFile" in output
        assert str(tmp_path / "first-admin.txt") in output
        assert waiter.poll() is None  # idles, as honcho ends everything when one exits
        waiter.terminate()
        assert waiter.wait(timeout=10) == 0
    finally:
        waiter.kill()
        waiter.wait()
        waiter.stdout.close()
        if server:
            server.shutdown()
            server.server_close()


def test_ready_notice_gives_up_clearly(tmp_path):
    with _listening_socket() as probe:
        port = probe.getsockname()[1]
    result = _setup_run("wait-ready", "--timeout", "2", "--exit",
                        bind=f"127.0.0.1:{port}", instance=tmp_path)
    assert result.returncode == 0
    assert f"did not answer on http://127.0.0.1:{port}/ within 2 seconds" in result.stdout
    assert "Mailbox Portal is running" not in result.stdout
