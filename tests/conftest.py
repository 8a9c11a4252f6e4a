"""Shared fixtures: an app per test on a temporary database, users, login and htmx helpers.

Set ``PORTAL_TEST_DB=postgresql`` to run the suite against a throwaway
PostgreSQL cluster instead of SQLite (the Makefile does both).
"""

import os
import re

import pytest
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from tests.pg_cluster import Cluster, pg_bin_dir


def pytest_sessionstart(session):
    """Pages in Chinese need the compiled catalogs; a bare pytest run builds them too."""
    from pathlib import Path

    from portal.i18n import compile_catalogs

    compile_catalogs(Path(__file__).resolve().parent.parent / "portal" / "translations")

pytest_plugins = ["tests.smtp_servers", "tests.oauth_servers", "tests.browser",
                  "tests.outbox_helpers"]

HX = {"HX-Request": "true"}
PASSWORD = "correct-horse-42"
ENCRYPTION_KEY = "tests-encryption-key"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright drives the system's Chromium; it cannot download its own here."""
    from tests.browser import CHROMIUM, CHROMIUM_FLAGS

    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def backend() -> str:
    return os.environ.get("PORTAL_TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL cluster for the whole run; skipped when PostgreSQL is not installed."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run should have installed it.")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql).")
    cluster = Cluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_schema_url(request):
    """On the PostgreSQL backend: one database with the schema, emptied before each test."""
    if backend() != "postgresql":
        return None
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database("portal_tests")
    app = create_app(_base_config(url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def _base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "tests-session-key",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "WTF_CSRF_ENABLED": False,
        "SMTP_TIMEOUT": 3.0,
        "RATELIMIT_ENABLED": True,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


@pytest.fixture
def app_config(tmp_path, pg_schema_url) -> dict:
    """Tests may change this dict before ``app`` is first used."""
    url = pg_schema_url or f"sqlite:///{tmp_path / 'portal.sqlite'}"
    return _base_config(url)


@pytest.fixture
def app(app_config):
    application = create_app(app_config)
    with application.app_context():
        if backend() == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replaces pytest-flask's per-test request context.

    That shared context makes every test-client request reuse one ``g``, so a
    signed-in user would be cached across requests (hiding, for example, that
    deactivating a user ends their session). Each request gets its own here.
    """
    yield


@pytest.fixture
def make_team(app):
    from portal.teams.models import Team

    def make(name: str):
        with app.app_context():
            team = Team(name=name)
            db.session.add(team)
            db.session.commit()
            return team.id

    return make


@pytest.fixture
def make_user(app):
    """Create a user; ``teams`` maps team id to role. Returns the user id."""
    from portal.auth.models import User
    from portal.teams.models import Membership

    def make(username: str, *, system_admin=False, teams=None, active=True,
             password=PASSWORD):
        with app.app_context():
            user = User(username=username, display_name=username.title(),
                        is_system_admin=system_admin, active=active)
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
            for team_id, role in (teams or {}).items():
                db.session.add(Membership(user_id=user.id, team_id=team_id, role=role))
            db.session.commit()
            return user.id

    return make


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real login form."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def csrf_from(html: str) -> str:
    """The CSRF token a rendered page carries (in hx-headers or a hidden input)."""
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


@pytest.fixture
def world(make_team, make_user):
    """Two teams with an admin and an agent each, plus a system admin."""
    red, blue = make_team("Red"), make_team("Blue")
    return {
        "red": red, "blue": blue,
        "root": make_user("root", system_admin=True),
        "red_admin": make_user("red_admin", teams={red: "admin"}),
        "red_agent": make_user("red_agent", teams={red: "agent"}),
        "blue_admin": make_user("blue_admin", teams={blue: "admin"}),
        "blue_agent": make_user("blue_agent", teams={blue: "agent"}),
    }


# -- LDAP directory (tests/ldap_server.py) ---------------------------------------------


@pytest.fixture(scope="session")
def slapd():
    """A throwaway OpenLDAP server for the whole run (see tests/ldap_server.py).

    Skipped when slapd is not installed, failed under CI. Prefer ``ldap_dir`` or
    ``ldap_config`` in tests: they restore the seed data before each test.
    """
    from tests.ldap_server import Slapd, require_slapd

    require_slapd()
    server = Slapd()
    try:
        server.reset()
        yield server
    finally:
        server.close()


@pytest.fixture
def ldap_dir(slapd):
    """The session's ``Slapd``, running and holding exactly the seed data."""
    slapd.reset()
    return slapd


@pytest.fixture
def ldap_config(ldap_dir) -> dict:
    """Flask config keys for LDAP sign-in against ``ldap_dir``; merge into ``app_config``."""
    return {
        "LDAP_URL": ldap_dir.url,
        "LDAP_STARTTLS": False,
        "LDAP_CA_FILE": ldap_dir.ca_file,
        "LDAP_BIND_DN": ldap_dir.bind_dn,
        "LDAP_BIND_PASSWORD": ldap_dir.bind_password,
        "LDAP_USER_BASE": "ou=people,dc=example,dc=com",
        "LDAP_USER_FILTER": None,
        "LDAP_GROUP_BASE": "ou=groups,dc=example,dc=com",
        "LDAP_ADMIN_GROUP": "cn=portal-admins,ou=groups,dc=example,dc=com",
        "LDAP_TIMEOUT": 3,
    }
